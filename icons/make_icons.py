"""Draws FaceBlur Cam's tray and application icons (original artwork) with Pillow.

    python icons/make_icons.py            # writes src/faceblur_cam/data/icons/*.png

The package data folder is the only copy of the PNGs; this script is their source. Each icon is
drawn separately at every size (8x supersampled, then reduced) so strokes stay crisp at 16 px.

Motif: a rounded badge with a white head-and-shoulders whose head is a mosaic (a pixelated face).
The badge colour carries the state; a thin dark rim keeps it readable on light panels and the
saturated fill on dark ones.

- ``active``: teal badge, pixelated face (protecting).
- ``paused``: amber badge, two pause bars (camera released).
- ``recording``: the active badge with a red dot (recording to a file).
- ``error``: red badge, an exclamation mark (no camera, or cannot protect).
- ``app``: the application icon (the active design, also at 128 and 256 px).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PIL import Image, ImageChops, ImageDraw

OUT = Path(__file__).resolve().parent.parent / "src" / "faceblur_cam" / "data" / "icons"
TRAY_SIZES = (16, 22, 24, 32, 48, 64)
APP_SIZES = (*TRAY_SIZES, 128, 256)
SS = 8  # supersampling factor

TEAL = (16, 122, 108, 255)
AMBER = (206, 118, 14, 255)
RED = (200, 40, 40, 255)
REC = (230, 30, 40, 255)
WHITE = (255, 255, 255, 255)
MOSAIC = (190, 232, 226, 255)
RIM = (20, 20, 20, 210)

Draw = Callable[[Image.Image], None]


def badge(d: ImageDraw.ImageDraw, s: int, fill: tuple[int, int, int, int]) -> Image.Image:
    """A rounded square filling the canvas with a dark rim about 1 output pixel wide.

    Returns the mask of the inside of the rim, to clip a glyph to the badge.
    """
    rim = max(SS, round(s * 0.035))
    radius = round(s * 0.24)
    inner = (rim, rim, s - 1 - rim, s - 1 - rim)
    d.rounded_rectangle((0, 0, s - 1, s - 1), radius=radius, fill=RIM)
    d.rounded_rectangle(inner, radius=radius - rim, fill=fill)
    mask = Image.new("L", (s, s), 0)
    ImageDraw.Draw(mask).rounded_rectangle(inner, radius=radius - rim, fill=255)
    return mask


def face(image: Image.Image, mask: Image.Image, px: int) -> None:
    """Shoulders and a mosaic head on a grid of output pixels (``px`` = one output pixel)."""
    s = image.width
    n = s // px  # output size
    # shoulders: an ellipse cut by the inside of the badge
    layer = Image.new("RGBA", (s, s), (0, 0, 0, 0))
    ImageDraw.Draw(layer).ellipse((round(0.20 * s), round(0.68 * s), round(0.80 * s), round(1.30 * s)), fill=WHITE)
    image.paste(layer, (0, 0), ImageChops.multiply(layer.getchannel("A"), mask))
    d = ImageDraw.Draw(image)
    # head: a square mosaic, 2x2 cells below 32 px, 3x3 above
    cells = 2 if n < 32 else 3
    side = max(cells * 2, round(n * 0.42) // cells * cells)
    cell = side // cells
    x0 = (n - side) // 2
    y0 = max(2, round(n * 0.14))
    for i in range(cells):
        for j in range(cells):
            colour = WHITE if (i + j) % 2 == 0 else MOSAIC
            x, y = (x0 + i * cell) * px, (y0 + j * cell) * px
            d.rectangle((x, y, x + cell * px - 1, y + cell * px - 1), fill=colour)


def draw_active(image: Image.Image) -> None:
    mask = badge(ImageDraw.Draw(image), image.width, TEAL)
    face(image, mask, SS)


def draw_paused(image: Image.Image) -> None:
    d, s = ImageDraw.Draw(image), image.width
    badge(d, s, AMBER)
    w, h = round(s * 0.16), round(s * 0.48)
    top = (s - h) // 2
    for cx in (round(s * 0.36), round(s * 0.64)):
        d.rounded_rectangle((cx - w // 2, top, cx + w // 2, top + h), radius=w // 4, fill=WHITE)


def draw_recording(image: Image.Image) -> None:
    draw_active(image)
    d, s = ImageDraw.Draw(image), image.width
    r = round(s * 0.24)
    cx = cy = s - r - 1
    d.ellipse((cx - r, cy - r, cx + r, cy + r), fill=WHITE)
    ring = max(SS, round(s * 0.06))
    d.ellipse((cx - r + ring, cy - r + ring, cx + r - ring, cy + r - ring), fill=REC)


def draw_error(image: Image.Image) -> None:
    d, s = ImageDraw.Draw(image), image.width
    badge(d, s, RED)
    w = round(s * 0.16)
    cx = s // 2
    d.rounded_rectangle((cx - w // 2, round(s * 0.18), cx + w // 2, round(s * 0.60)), radius=w // 3, fill=WHITE)
    d.ellipse((cx - w // 2, round(s * 0.68), cx + w // 2, round(s * 0.68) + w), fill=WHITE)


DESIGNS: dict[str, tuple[Draw, tuple[int, ...]]] = {
    "active": (draw_active, TRAY_SIZES),
    "paused": (draw_paused, TRAY_SIZES),
    "recording": (draw_recording, TRAY_SIZES),
    "error": (draw_error, TRAY_SIZES),
    "app": (draw_active, APP_SIZES),
}


def render(draw: Draw, size: int) -> Image.Image:
    big = Image.new("RGBA", (size * SS, size * SS), (0, 0, 0, 0))
    draw(big)
    return big.resize((size, size), Image.Resampling.LANCZOS)


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    for name, (draw, sizes) in DESIGNS.items():
        for size in sizes:
            render(draw, size).save(OUT / f"{name}-{size}.png", optimize=True)
    print(f"wrote {sum(len(s) for _, s in DESIGNS.values())} icons to {OUT}")


if __name__ == "__main__":
    main()
