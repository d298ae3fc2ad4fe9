"""Portable physical-camera check through OpenCV, for OSes without a cheaper probe.

Opens camera 0 and reads one frame (the camera light may flash), then releases it. Used by
the Windows and macOS doctors; Linux asks the driver instead (``linux_checks``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from faceblur_cam.doctor.result import CheckResult, fail, ok

log = logging.getLogger(__name__)

CAMERA = "camera"


def _open_and_read(index: int) -> tuple[bool, bool]:
    """(opened, read a frame) for camera ``index``."""
    import cv2

    cap = cv2.VideoCapture(index)
    try:
        if not cap.isOpened():
            return False, False
        good, _frame = cap.read()
        return True, bool(good)
    finally:
        cap.release()


def opencv_camera_checks(open_and_read: Callable[[int], tuple[bool, bool]] = _open_and_read,
                         privacy_hint: str = "") -> list[CheckResult]:
    """Camera 0 opens and delivers a frame; ``privacy_hint`` names the OS's camera setting."""
    try:
        opened, frame = open_and_read(0)
    except Exception as exc:  # OpenCV backends raise odd things; report, never crash doctor
        log.debug("camera probe failed", exc_info=True)
        return [fail(CAMERA, "present", f"cannot query cameras: {exc}", None)]
    if not opened:
        return [fail(CAMERA, "present", "no camera could be opened",
                     "plug in a webcam" + (f"; {privacy_hint}" if privacy_hint else ""))]
    if not frame:
        return [ok(CAMERA, "present", "camera 0 opens"),
                fail(CAMERA, "available", "camera 0 gives no picture: another app may be using it",
                     "close the other app using the camera"
                     + (f"; {privacy_hint}" if privacy_hint else ""))]
    return [ok(CAMERA, "present", "camera 0 opens"), ok(CAMERA, "available", "camera 0 delivers frames")]
