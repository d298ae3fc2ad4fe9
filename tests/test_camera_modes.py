"""Mode choice from real cameras' format lists (as ``v4l2-ctl --list-formats-ext`` prints them)."""

from __future__ import annotations

import pytest

from faceblur_cam.sources.modes import CameraMode, choose_mode

RATES = (30.0, 24.0, 20.0, 15.0, 10.0, 7.5, 5.0)


def table(fourcc: str, sizes: dict[tuple[int, int], float]) -> list[CameraMode]:
    """Every standard rate up to each size's top rate, as UVC cameras list them."""
    return [CameraMode(fourcc, w, h, r) for (w, h), top in sizes.items() for r in RATES if r <= top]


# Logitech HD Pro Webcam C920 (046d:082d): YUYV 1280x720 at 10 fps at most, MJPEG 30 up to 1080p
C920 = table("YUYV", {(640, 480): 30, (160, 90): 30, (320, 240): 30, (640, 360): 30, (800, 448): 30,
                      (800, 600): 24, (864, 480): 24, (960, 720): 15, (1024, 576): 15, (1280, 720): 10,
                      (1600, 896): 7.5, (1920, 1080): 5, (2304, 1296): 2, (2304, 1536): 2}) + \
    table("MJPG", {(640, 480): 30, (320, 240): 30, (640, 360): 30, (800, 600): 30, (960, 720): 30,
                   (1280, 720): 30, (1600, 896): 30, (1920, 1080): 30}) + \
    table("H264", {(1280, 720): 30, (1920, 1080): 30})
# Logitech HD Webcam C615 (046d:082c), the camera of opencv#9540: YUYV 1280x720 at 10 fps
C615 = table("YUYV", {(640, 480): 30, (320, 240): 30, (800, 600): 24, (960, 720): 15, (1280, 720): 10,
                      (1600, 904): 5, (1920, 1080): 5}) + \
    table("MJPG", {(640, 480): 30, (800, 600): 30, (960, 720): 30, (1280, 720): 30, (1920, 1080): 30})
# A laptop's built-in camera with raw YUYV only, 720p at 30 fps
LAPTOP = table("YUYV", {(1280, 720): 30, (640, 480): 30, (640, 360): 30, (320, 240): 30})
# A cheaper laptop camera, YUYV only: 720p at 10 fps
LAPTOP_SLOW = table("YUYV", {(1280, 720): 10, (640, 480): 30, (320, 240): 30})
# The kernel's vivid driver as run-in-vm --webcam loads it (no MJPEG; 1280x720 up to 12.5 fps)
VIVID = [CameraMode("YUYV", w, h, r) for (w, h), rates in {
    (320, 180): (60, 50, 40, 30, 25), (640, 360): (40, 30, 25, 20), (640, 480): (25, 20, 15),
    (1280, 720): (12.5, 10, 5), (1920, 1080): (5, 2.5)}.items() for r in rates]


@pytest.mark.parametrize(("modes", "wanted", "expected", "why"), [
    (C920, ((1280, 720), 30), CameraMode("MJPG", 1280, 720, 30), "raw format YUYV reaches only 10 fps"),
    (C615, ((1280, 720), 30), CameraMode("MJPG", 1280, 720, 30), "raw format YUYV reaches only 10 fps"),
    (LAPTOP, ((1280, 720), 30), CameraMode("YUYV", 1280, 720, 30), "without decoding"),
    (C920, ((640, 480), 30), CameraMode("YUYV", 640, 480, 30), "without decoding"),
    (C920, ((1920, 1080), 30), CameraMode("MJPG", 1920, 1080, 30), "raw format YUYV reaches only 5 fps"),
    (C615, ((1280, 720), 10), CameraMode("YUYV", 1280, 720, 10), "without decoding"),
    (LAPTOP_SLOW, ((1280, 720), 30), CameraMode("YUYV", 640, 480, 30), "largest fluent mode"),
    (VIVID, ((1280, 720), 30), CameraMode("YUYV", 640, 480, 25), "largest fluent mode"),
    (VIVID, ((640, 360), 30), CameraMode("YUYV", 640, 360, 30), "without decoding"),
    (LAPTOP, ((3840, 2160), 30), CameraMode("YUYV", 1280, 720, 30), "largest fluent mode"),
    ([CameraMode("YUYV", 1280, 720, 10), CameraMode("YUYV", 640, 480, 15)], ((1280, 720), 30),
     CameraMode("YUYV", 640, 480, 15), "fastest"),
    ([CameraMode("MJPG", 1920, 1080, 30), CameraMode("MJPG", 3840, 2160, 30)], ((1280, 720), 30),
     CameraMode("MJPG", 1920, 1080, 30), "largest fluent mode"),
])
def test_choice(modes: list[CameraMode], wanted: tuple[tuple[int, int], float], expected: CameraMode,
                why: str) -> None:
    choice = choose_mode(modes, *wanted)
    assert choice is not None
    assert choice.mode == expected, choice.reason
    assert why in choice.reason
    assert choice.reason.endswith(".") and "\n" not in choice.reason  # one sentence


def test_asks_for_the_wanted_rate_not_the_fastest() -> None:
    modes = [CameraMode("YUYV", 1280, 720, r) for r in (60, 30, 15)]
    choice = choose_mode(modes, (1280, 720), 30)
    assert choice is not None and choice.mode.fps == 30


def test_ntsc_rate_counts_as_the_wanted_rate() -> None:
    modes = [CameraMode("YUYV", 1280, 720, 29.97), CameraMode("MJPG", 1280, 720, 30)]
    choice = choose_mode(modes, (1280, 720), 30)
    assert choice is not None and choice.mode.fourcc == "YUYV"


def test_no_usable_mode() -> None:
    assert choose_mode([], (1280, 720), 30) is None
    assert choose_mode([CameraMode("H264", 1280, 720, 30)], (1280, 720), 30) is None


def test_bad_mode_is_refused() -> None:
    with pytest.raises(ValueError):
        CameraMode("YUY", 1280, 720, 30)
    with pytest.raises(ValueError):
        CameraMode("YUYV", 1280, 720, 0)


def test_describe() -> None:
    assert CameraMode("MJPG", 1280, 720, 30).describe() == "1280x720 MJPEG 30 fps"
    assert CameraMode("YUYV", 640, 480, 12.5).describe() == "640x480 YUYV 12.5 fps"
