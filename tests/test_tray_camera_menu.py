"""The tray's Camera submenu: real cameras by name, a click switches the engine's camera."""

from __future__ import annotations

from pathlib import Path

from fake_engine_parts import Rig
from test_tray_adapter import Tray

from faceblur_cam.engine import EngineState, EngineStatus
from faceblur_cam.platform.linux_cameras import CameraInfo
from faceblur_cam.sources.camera_choice import CameraChoice
from faceblur_cam.tray.menu import Action, TrayFlags, build_menu

C920 = CameraInfo("/dev/video2", "HD Pro Webcam C920", "/dev/v4l/by-id/usb-046d_HD_Pro_Webcam_C920_ABC-video-index0")
LAPTOP = CameraInfo("/dev/video0", "Integrated Camera", "Integrated Camera @ usb-0000:00:14.0-5")


def test_camera_menu_lists_cameras_by_name_and_checks_the_chosen_one() -> None:
    flags = TrayFlags(cameras=(LAPTOP, C920), camera=C920.identity)
    menu = build_menu(EngineStatus(EngineState.PROTECTING, "blur"), flags)
    (camera,) = [i for i in menu if i.text == "Camera"]
    assert [(i.text, i.arg, i.checked, i.radio) for i in camera.submenu] == [
        ("Integrated Camera", LAPTOP.identity, False, True), ("HD Pro Webcam C920", C920.identity, True, True)]
    assert all(i.action is Action.CAMERA for i in camera.submenu)


def test_two_cameras_of_one_model_are_told_apart_and_none_says_so() -> None:
    twin = CameraInfo("/dev/video4", C920.name, C920.name + " @ usb-0000:00:14.0-3")
    (camera,) = [i for i in build_menu(EngineStatus(EngineState.PROTECTING, "blur"),
                                       TrayFlags(cameras=(C920, twin))) if i.text == "Camera"]
    assert [i.text for i in camera.submenu] == ["HD Pro Webcam C920 (/dev/video2)", "HD Pro Webcam C920 (/dev/video4)"]
    (empty,) = [i for i in build_menu(EngineStatus(EngineState.NO_CAMERA, "blur"), TrayFlags(cameras=()))
                if i.text == "Camera"]
    assert [(i.text, i.enabled) for i in empty.submenu] == [("No camera found", False)]
    assert not [i for i in build_menu(EngineStatus(EngineState.PROTECTING, "blur"), TrayFlags()) if i.text == "Camera"]


def test_clicking_a_camera_stores_its_identity_and_reopens_the_camera(tmp_path: Path) -> None:
    choice = CameraChoice(0)  # the default: the first real camera
    with Rig(threaded=True) as rig:
        tray = Tray(rig, tmp_path, camera=choice, list_cameras=lambda: [LAPTOP, C920])
        rig.wait_for(lambda s: s.state is EngineState.PROTECTING)

        def checked() -> list[str]:
            return [i.text for i in tray.item("Camera").submenu if i.checked]

        tray.wait_until(lambda: checked() == ["Integrated Camera"], "the default camera is not checked")
        opens = rig.log.count("open")
        tray.click("HD Pro Webcam C920", parent="Camera")
        assert choice.current() == C920.identity  # stored by identity, not /dev/video2
        tray.wait_until(lambda: checked() == ["HD Pro Webcam C920"], "the radio did not move")
        tray.wait_until(lambda: rig.log.count("open") > opens, "the camera was not opened again")
        tray.click("Quit")
        tray.thread.join(5)
    rig.assert_never_raw()
