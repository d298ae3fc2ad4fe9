"""Draws the app icon shipped as package data: ``src/faceblur_cam/data/faceblur-cam.png``.

A camera whose lens shows a pixelated face, on a rounded blue tile; 64x64 RGBA (drawn at 4x and
downsampled for smooth edges). Rerun after changing it:
``.venv/bin/python tools/draw_app_icon.py``.
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw

SIZE = 64
SCALE = 4
OUT = Path(__file__).resolve().parents[1] / "src" / "faceblur_cam" / "data" / "faceblur-cam.png"


def draw(size: int = SIZE) -> Image.Image:
    """The icon as an RGBA image of ``size`` x ``size`` pixels."""
    s = size * SCALE
    img = Image.new("RGBA", (s, s), (0, 0, 0, 0))
    d = ImageDraw.Draw(img)
    u = s / 64  # drawing unit: coordinates below are on a 64-unit grid

    def box(x0: float, y0: float, x1: float, y1: float) -> tuple[int, int, int, int]:
        return (round(x0 * u), round(y0 * u), round(x1 * u), round(y1 * u))

    d.rounded_rectangle(box(2, 2, 62, 62), radius=round(12 * u), fill=(31, 94, 170, 255))
    d.rounded_rectangle(box(8, 20, 46, 50), radius=round(6 * u), fill=(240, 244, 250, 255))
    side = [(46, 29), (58, 22), (58, 48), (46, 41)]
    d.polygon([(round(x * u), round(y * u)) for x, y in side], fill=(240, 244, 250, 255))
    d.ellipse(box(13, 21, 41, 49), fill=(25, 35, 52, 255))
    # the face in the lens, as a mosaic: obscured, like every face the app sees
    tones = [(222, 176, 140), (196, 148, 112), (232, 190, 156), (176, 128, 96)]
    cell = 4
    for row, y in enumerate(range(21, 49, cell)):
        for col, x in enumerate(range(13, 41, cell)):
            cx, cy = x + cell / 2, y + cell / 2
            head = ((cx - 27) / 9.5) ** 2 + ((cy - 31) / 10.5) ** 2 <= 1.0
            shoulders = ((cx - 27) / 15) ** 2 + ((cy - 50) / 9) ** 2 <= 1.0
            in_lens = (cx - 27) ** 2 + (cy - 35) ** 2 <= 13**2
            if (head or shoulders) and in_lens:
                tone = tones[(row * 3 + col * 2) % len(tones)]
                d.rectangle(box(x, y, x + cell - 0.5, y + cell - 0.5), fill=(*tone, 255))
    return img.resize((size, size), Image.Resampling.LANCZOS)


if __name__ == "__main__":
    OUT.parent.mkdir(parents=True, exist_ok=True)
    draw().save(OUT, optimize=True)
