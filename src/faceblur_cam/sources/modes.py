"""Which of a camera's modes to ask for: a pure function of the driver's mode list.

A USB 2.0 webcam typically delivers 1280x720 at 30 fps only in MJPEG and at 5-10 fps in raw
YUYV (a Logitech C615/C920), so asking for "1280x720" in the default raw format makes the
picture stutter. ``choose_mode`` reads the whole list (format, size, frame rate) and picks:

1. the wanted size at the wanted rate, in a raw format when one reaches it (no decoding),
   else in MJPEG;
2. when no mode has both, the rate wins (a call at 12 fps looks broken, at 640x480 it does
   not): modes of at least ``FLUENT_FPS`` come first, and among those the largest up to the
   wanted size;
3. when nothing is that fast, the fastest, then the largest up to the wanted size.

Nothing here opens a device; the enumeration lives in ``platform.linux_v4l2``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

FLUENT_FPS = 25.0  # below this a call looks broken; the rate wins over the size
RATE_SLACK = 0.5  # 29.97 counts as 30
RAW_FORMATS = ("YUYV", "UYVY", "NV12", "YU12", "YV12", "BGR3", "RGB3", "GREY")
COMPRESSED_FORMATS = ("MJPG", "JPEG")
FORMAT_NAMES = {"MJPG": "MJPEG", "JPEG": "MJPEG"}


@dataclass(frozen=True)
class CameraMode:
    """One mode a camera offers: a V4L2 fourcc ("YUYV", "MJPG"), a frame size and a frame rate."""

    fourcc: str
    width: int
    height: int
    fps: float

    def __post_init__(self) -> None:
        if len(self.fourcc) != 4 or self.width <= 0 or self.height <= 0 or not self.fps > 0:
            raise ValueError(f"not a camera mode: {self!r}")

    @property
    def wh(self) -> tuple[int, int]:
        return self.width, self.height

    @property
    def format_name(self) -> str:
        """"MJPEG" for MJPG/JPEG, else the fourcc ("YUYV")."""
        return FORMAT_NAMES.get(self.fourcc, self.fourcc)

    def describe(self) -> str:
        """E.g. "1280x720 MJPEG 30 fps"."""
        return f"{self.width}x{self.height} {self.format_name} {self.fps:.4g} fps"


@dataclass(frozen=True)
class ModeChoice:
    """The mode to ask for and one sentence saying why (for the log, ``devices`` and ``doctor``)."""

    mode: CameraMode
    reason: str


def usable(modes: Iterable[CameraMode]) -> list[CameraMode]:
    """The modes OpenCV can decode (raw formats it converts, and MJPEG)."""
    return [m for m in modes if m.fourcc in RAW_FORMATS or m.fourcc in COMPRESSED_FORMATS]


def _format_rank(fourcc: str) -> int:
    """Lower is better: raw first (no decoding, no compression artefacts), then MJPEG."""
    order = RAW_FORMATS + COMPRESSED_FORMATS
    return order.index(fourcc) if fourcc in order else len(order)


def choose_mode(modes: Iterable[CameraMode], wanted_wh: tuple[int, int] = (1280, 720),
                wanted_fps: float = 30.0) -> ModeChoice | None:
    """The best of ``modes`` for ``wanted_wh`` at ``wanted_fps`` (see the module docstring).

    The returned mode's ``fps`` is the rate to ask for: the slowest of that format and size that
    reaches ``wanted_fps`` (30 rather than 60), else its fastest. None when no mode is usable.
    """
    candidates = usable(modes)
    if not candidates:
        return None
    width, height = wanted_wh
    fluent = min(FLUENT_FPS, wanted_fps)

    def reaches(fps: float, rate: float) -> bool:
        return fps >= rate - RATE_SLACK

    groups: dict[tuple[str, int, int], list[float]] = {}
    for mode in candidates:
        groups.setdefault((mode.fourcc, mode.width, mode.height), []).append(mode.fps)

    def asked(key: tuple[str, int, int]) -> CameraMode:
        rates = sorted(groups[key])
        fps = next((r for r in rates if reaches(r, wanted_fps)), rates[-1])
        return CameraMode(key[0], key[1], key[2], fps)

    options = [asked(key) for key in groups]

    def rank(m: CameraMode) -> tuple[bool, bool, float, int, float, int]:
        fits = m.width <= width and m.height <= height
        effective = wanted_fps if reaches(m.fps, wanted_fps) else m.fps
        fast = reaches(effective, fluent)
        area = m.width * m.height
        return (fast, fits, 0.0 if fast else effective, area if fits else -area, effective,
                -_format_rank(m.fourcc))

    best = max(options, key=rank)
    return ModeChoice(best, _reason(best, options, wanted_wh, wanted_fps))


def _reason(best: CameraMode, options: list[CameraMode], wanted_wh: tuple[int, int], wanted_fps: float) -> str:
    wanted = f"{wanted_wh[0]}x{wanted_wh[1]} at {wanted_fps:.4g} fps"
    if best.wh == wanted_wh and best.fps >= wanted_fps - RATE_SLACK:
        raw = [m for m in options if m.wh == wanted_wh and m.fourcc in RAW_FORMATS]
        if best.fourcc in RAW_FORMATS:
            return f"{best.format_name} reaches {wanted} without decoding."
        if raw:
            fastest = max(raw, key=lambda m: m.fps)
            return (f"{best.format_name}, because the raw format {fastest.format_name} reaches only "
                    f"{fastest.fps:.4g} fps at {wanted_wh[0]}x{wanted_wh[1]}.")
        return f"{best.format_name} is the only format that gives {wanted}."
    if best.fps >= min(FLUENT_FPS, wanted_fps) - RATE_SLACK:
        return (f"No mode gives {wanted}; {best.describe()} is the largest fluent mode "
                f"(a smooth picture matters more in a call than its size).")
    return f"No mode reaches {FLUENT_FPS:.0f} fps; {best.describe()} is the fastest this camera has."
