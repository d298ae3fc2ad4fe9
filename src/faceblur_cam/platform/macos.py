"""macOS: OBS Virtual Camera (camera extension, OBS 30+) through pyvirtualcam.

The extension must be installed by OBS (start its Virtual Camera once) and approved in System
Settings; ``systemextensionsctl list`` shows its state, which the doctor reads.
"""

from __future__ import annotations

import logging
import plistlib
import subprocess
from collections.abc import Callable
from pathlib import Path

from faceblur_cam.doctor.result import CheckResult, fail, ok
from faceblur_cam.platform.plan import SetupPlan

log = logging.getLogger(__name__)

NEEDS_DEVICE_PATH = False  # pyvirtualcam finds the device by its backend

VCAM = "virtual camera"
OBS_APP = "/Applications/OBS.app"
EXTENSION_ID = "com.obsproject.obs-studio.mac-camera-extension"
PRIVACY_HINT = "allow the terminal/app in System Settings > Privacy & Security > Camera"
_APPROVE = ("start OBS, click Start Virtual Camera once, then approve the extension in "
            "System Settings > Privacy & Security (or General > Login Items & Extensions)")


def list_video_devices() -> list[tuple[str, str, bool]]:
    return []


def find_virtual_camera(label: str) -> str | None:
    return None


def is_virtual_camera(source: int | str) -> bool:
    return False


def prepare_virtual_camera(device: str | None) -> None:
    return None


def virtual_camera_hint(label: str) -> str:
    return (
        "No virtual camera was found. Install OBS Studio 30 or newer, start its Virtual Camera "
        "once and approve the camera extension in System Settings > Privacy & Security; apps "
        "then list it as \"OBS Virtual Camera\". Until then, use --preview."
    )


def explain_output_error(device: str | None, label: str, error: BaseException) -> str:
    return f"Cannot publish to the OBS Virtual Camera: {error}. {_APPROVE}."


def obs_version() -> str | None:
    """OBS.app's version string, or None if OBS is not installed."""
    try:
        with open(f"{OBS_APP}/Contents/Info.plist", "rb") as f:
            return str(plistlib.load(f).get("CFBundleShortVersionString", ""))
    except (OSError, plistlib.InvalidFileException):
        return None


def extension_state() -> str:
    """The ``systemextensionsctl list`` line for the OBS camera extension ("" if none)."""
    try:
        out = subprocess.run(["systemextensionsctl", "list"], capture_output=True, text=True,
                             timeout=10).stdout
    except (OSError, subprocess.SubprocessError) as exc:
        log.debug("systemextensionsctl failed: %s", exc)
        return ""
    return next((line for line in out.splitlines() if EXTENSION_ID in line), "")


def virtual_camera_checks(label: str, version: Callable[[], str | None] = obs_version,
                          extension: Callable[[], str] = extension_state) -> list[CheckResult]:
    found = version()
    if found is None:
        return [fail(VCAM, "driver", "OBS Studio is not installed",
                     "install OBS Studio 30 or newer from obsproject.com; " + _APPROVE)]
    major = int(found.split(".")[0]) if found.split(".")[0].isdigit() else 0
    if major < 30:
        return [fail(VCAM, "driver", f"OBS {found} is too old for the camera extension",
                     "update OBS Studio to 30 or newer; " + _APPROVE)]
    state = extension()
    if "activated enabled" not in state:
        detail = "is waiting for approval" if state else "is not installed yet"
        return [ok(VCAM, "driver", f"OBS {found} is installed"),
                fail(VCAM, "extension", f"the OBS camera extension {detail}", _APPROVE)]
    return [ok(VCAM, "driver", f"OBS {found} is installed"),
            ok(VCAM, "extension", 'approved; apps list us as "OBS Virtual Camera"')]


def camera_checks() -> list[CheckResult]:
    from faceblur_cam.platform.camera_probe import opencv_camera_checks

    return opencv_camera_checks(privacy_hint=PRIVACY_HINT)


def setup_plan(label: str) -> SetupPlan:
    return SetupPlan(notes=[
        "macOS needs OBS Studio 30 or newer for its virtual camera (FaceBlur Cam cannot "
        "install a camera extension itself):",
        "  1. Install OBS Studio from obsproject.com (or: brew install --cask obs).",
        "  2. " + _APPROVE[0].upper() + _APPROVE[1:] + ".",
        '  3. Apps then list the camera as "OBS Virtual Camera".',
        "Then run 'faceblur-cam doctor' to check.",
    ])


def open_folder(path: Path) -> None:
    subprocess.Popen(["open", str(path)], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                     stderr=subprocess.DEVNULL)


def display_problem(x11_only: bool) -> str | None:
    return None  # the desktop is always there
