"""``faceblur-cam`` for the tray test of a launch without the virtual camera: the real CLI, with
the device and ``faceblur-cam setup --apply`` standing in.

The tests run as root on machines without v4l2loopback, where the real ``setup --apply`` would
install and load a kernel module. Here the virtual camera is "missing" (``NoVirtualCamera``, as
on a machine that was never set up) until the setup stand-in (run as if through pkexec) creates the file
``$FACEBLUR_TEST_SETUP_DONE``; from then on it is the fake virtual camera
(``$FACEBLUR_FAKE_VCAM_DIR``). Everything else is the real app: the launch decision, the tray,
its menu and the background setup runner.
"""

from __future__ import annotations

import os
import sys
from dataclasses import replace
from pathlib import Path

FAKE_BACKEND = "faceblur_cam.sinks.fake_vcam:FakeCameraBackend"


def install_stand_ins(done: Path) -> None:
    from faceblur_cam import app, platform
    from faceblur_cam.config import Config
    from faceblur_cam.sinks import FrameSink
    from faceblur_cam.sinks.vcam import NoVirtualCamera
    from faceblur_cam.tray import vcam_setup

    real_open = app.open_virtual_camera

    def open_virtual_camera(config: Config) -> FrameSink:
        if not done.exists():
            raise NoVirtualCamera(platform.virtual_camera_hint(config.output.label))
        return real_open(replace(config, output=replace(config.output, backend=FAKE_BACKEND)))

    def setup_command(label: str = "FaceBlur Cam") -> list[str]:
        return [sys.executable, "-c", "import pathlib, sys; pathlib.Path(sys.argv[1]).touch(); "
                "print('Done: the stand-in device exists.')", str(done)]

    app.open_virtual_camera = open_virtual_camera  # type: ignore[assignment]
    vcam_setup.setup_command = setup_command  # type: ignore[assignment]
    vcam_setup._has_steps = lambda label: (True, "")  # whatever this machine has loaded
    vcam_setup._has_pkexec = lambda: True  # (not run: the command above replaces setup)


if __name__ == "__main__":
    install_stand_ins(Path(os.environ["FACEBLUR_TEST_SETUP_DONE"]))
    from faceblur_cam.cli import main

    sys.exit(main(sys.argv[1:]))
