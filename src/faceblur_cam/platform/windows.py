"""Windows: Unity Capture (registered under our name) or OBS Virtual Camera, via pyvirtualcam.

Both are DirectShow video input filters; registered ones are listed in the registry under
the video-input category, which is how the doctor finds them (``directshow_cameras``).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from faceblur_cam.doctor.result import CheckResult, fail, ok
from faceblur_cam.platform.plan import SetupPlan

log = logging.getLogger(__name__)

NEEDS_DEVICE_PATH = False  # pyvirtualcam finds the device by its backend

VCAM = "virtual camera"
OBS_NAME = "OBS Virtual Camera"
_VIDEO_INPUT_CATEGORY = r"CLSID\{860BB310-5D01-11d0-BD3B-00A0C911CE86}\Instance"
PRIVACY_HINT = "allow desktop apps in Settings > Privacy & security > Camera"


def list_video_devices() -> list[tuple[str, str, bool]]:
    return []


def find_virtual_camera(label: str) -> str | None:
    return None  # pyvirtualcam's unitycapture backend takes the registered name itself


def is_virtual_camera(source: int | str) -> bool:
    return False


def prepare_virtual_camera(device: str | None) -> None:
    return None


def register_command(label: str) -> str:
    return f'regsvr32 "UnityCaptureFilter64.dll" "/i:UnityCaptureName={label}"'


def virtual_camera_hint(label: str) -> str:
    return (
        "No virtual camera driver was found. Install OBS Studio (its Virtual Camera works), or "
        "Unity Capture and register it under our name from an administrator prompt:\n"
        f"  {register_command(label)}\n"
        "Until then, use --preview to see the protected picture."
    )


def explain_output_error(device: str | None, label: str, error: BaseException) -> str:
    return f'Cannot publish to "{label}": {error}. ' + virtual_camera_hint(label).split("\n")[0]


def directshow_cameras() -> list[str]:
    """Friendly names of the registered DirectShow video inputs (empty if unreadable)."""
    import importlib

    try:  # imported by name so type checkers on other platforms do not trip over winreg
        winreg: Any = importlib.import_module("winreg")
    except ImportError:
        return []

    names = []
    try:
        with winreg.OpenKey(winreg.HKEY_CLASSES_ROOT, _VIDEO_INPUT_CATEGORY) as category:
            for i in range(winreg.QueryInfoKey(category)[0]):
                with winreg.OpenKey(category, winreg.EnumKey(category, i)) as filt:
                    names.append(str(winreg.QueryValueEx(filt, "FriendlyName")[0]))
    except OSError as exc:
        log.debug("cannot list DirectShow cameras: %s", exc)
    return names


def virtual_camera_checks(label: str,
                          cameras: Callable[[], list[str]] = directshow_cameras) -> list[CheckResult]:
    names = cameras()
    if label in names:
        return [ok(VCAM, "driver", f'Unity Capture is registered as "{label}"')]
    if OBS_NAME in names:
        return [ok(VCAM, "driver", f'"{OBS_NAME}" is installed; apps list us under that name '
                   f'(register Unity Capture to appear as "{label}")')]
    return [fail(VCAM, "driver", "no Unity Capture or OBS Virtual Camera is registered",
                 f"install OBS Studio, or Unity Capture and run as administrator:\n"
                 f"{register_command(label)}")]


def camera_checks() -> list[CheckResult]:
    from faceblur_cam.platform.camera_probe import opencv_camera_checks

    return opencv_camera_checks(privacy_hint=PRIVACY_HINT)


def setup_plan(label: str) -> SetupPlan:
    return SetupPlan(notes=[
        "Windows needs a virtual camera driver; FaceBlur Cam cannot install one for you.",
        f'To appear as "{label}": download Unity Capture (github.com/schellingb/UnityCapture), '
        "open an administrator command prompt in its Install folder and run:",
        f"  {register_command(label)}",
        f'Or install OBS Studio 26+; apps then list us as "{OBS_NAME}".',
        "Then run 'faceblur-cam doctor' to check.",
    ], ready=label in directshow_cameras())


def open_folder(path: Path) -> None:
    os.startfile(str(path))  # type: ignore[attr-defined]  # Windows only


def display_problem(x11_only: bool) -> str | None:
    return None  # the desktop is always there
