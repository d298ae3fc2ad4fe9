"""Doctor's camera-mode finding and the tray's camera line, from probes and statuses."""

from __future__ import annotations

from faceblur_cam.doctor.camera_mode import mode_checks
from faceblur_cam.doctor.result import Status
from faceblur_cam.engine import EngineState, EngineStatus
from faceblur_cam.sources.camera_choice import CameraProbe
from faceblur_cam.sources.modes import CameraMode, ModeChoice
from faceblur_cam.tray.menu import TrayFlags, build_menu

MJPEG_30 = ModeChoice(CameraMode("MJPG", 1280, 720, 30), "MJPEG, because the raw format YUYV reaches only 10 fps.")


def test_full_rate_is_ok_and_says_why() -> None:
    (result,) = mode_checks([CameraProbe("C920", MJPEG_30, "1280x720 MJPEG", 29.7)])
    assert result.status is Status.OK
    assert "1280x720 MJPEG at 29.7 fps" in result.detail and "YUYV reaches only 10 fps" in result.detail


def test_far_below_the_asked_rate_warns() -> None:
    (result,) = mode_checks([CameraProbe("C920", MJPEG_30, "1280x720 MJPEG", 9.8)])
    assert result.status is Status.WARN and "only 9.8 fps" in result.detail and result.fix


def test_busy_camera_warns_with_the_error() -> None:
    (result,) = mode_checks([CameraProbe("C920", MJPEG_30, "", None, "camera 'C920' cannot be opened")])
    assert result.status is Status.WARN and "cannot be opened" in result.detail


def test_tray_shows_the_camera_and_its_mode_while_protecting() -> None:
    st = EngineStatus(EngineState.PROTECTING, "blur", fps=30, camera="HD Pro Webcam C920, 1280x720 MJPEG 30 fps")
    texts = [item.text for item in build_menu(st, TrayFlags())]
    assert texts[1] == "Camera: HD Pro Webcam C920, 1280x720 MJPEG 30 fps"
    no_camera = EngineStatus(EngineState.NO_CAMERA, "blur", camera="old")
    assert not any(t.startswith("Camera:") for t in (i.text for i in build_menu(no_camera, TrayFlags())))
