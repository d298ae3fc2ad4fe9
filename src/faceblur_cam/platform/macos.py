"""macOS: OBS Virtual Camera through pyvirtualcam; apps list it as "OBS Virtual Camera".

pyvirtualcam picks its macOS backend by the system version: on macOS 13 and newer it talks to
OBS's camera extension (OBS 30+; installed by OBS when its Virtual Camera first starts, then
approved in System Settings; ``systemextensionsctl list`` shows its state), on macOS 11-12 to
OBS's older DAL plug-in in ``/Library/CoreMediaIO/Plug-Ins/DAL``. The doctor checks the one
this Mac needs. There is no way to publish under our own name on macOS.
"""

from __future__ import annotations

import logging
import os
import platform
import plistlib
import subprocess
from collections.abc import Callable
from pathlib import Path

from faceblur_cam.doctor.result import CheckResult, fail, ok
from faceblur_cam.platform.output_choice import OutputChoice
from faceblur_cam.platform.plan import SetupPlan

log = logging.getLogger(__name__)

NEEDS_DEVICE_PATH = False  # pyvirtualcam finds the device by its backend

VCAM = "virtual camera"
OBS_APP = "/Applications/OBS.app"
EXTENSION_ID = "com.obsproject.obs-studio.mac-camera-extension"
OBS_NAME = "OBS Virtual Camera"
DAL_PLUGIN = "/Library/CoreMediaIO/Plug-Ins/DAL/obs-mac-virtualcam.plugin"
FIRST_EXTENSION_DARWIN = 22  # macOS 13: pyvirtualcam uses the camera extension from here on
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


def output_choices(label: str) -> list[OutputChoice]:
    return [OutputChoice("obs", None, f'Publishing to the OBS virtual camera: apps list it as "{OBS_NAME}" '
                         f'(macOS has no way to name it "{label}").')]


def darwin_major() -> int:
    """The Darwin kernel's major version (22 = macOS 13); 0 when unknown."""
    head = platform.release().split(".")[0]
    return int(head) if head.isdigit() else 0


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
                          extension: Callable[[], str] = extension_state,
                          darwin: Callable[[], int] = darwin_major,
                          exists: Callable[[str], bool] = os.path.exists) -> list[CheckResult]:
    """What pyvirtualcam's OBS backend needs on this macOS: the approved camera extension of OBS
    30+ (macOS 13+), or OBS's DAL plug-in (macOS 11-12)."""
    if 0 < darwin() < FIRST_EXTENSION_DARWIN:
        if exists(DAL_PLUGIN):
            return [ok(VCAM, "driver", f'OBS\'s virtual camera plug-in is installed ({DAL_PLUGIN}); '
                       f'apps list us as "{OBS_NAME}"')]
        return [fail(VCAM, "driver", f"OBS's virtual camera plug-in is missing ({DAL_PLUGIN})",
                     "install OBS Studio (26.1 or newer) from obsproject.com, start it and click "
                     "Start Virtual Camera once: that installs the plug-in")]
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
            ok(VCAM, "extension", f'approved; apps list us as "{OBS_NAME}"')]


def camera_checks() -> list[CheckResult]:
    from faceblur_cam.platform.camera_probe import opencv_camera_checks

    return opencv_camera_checks(privacy_hint=PRIVACY_HINT)


def setup_plan(label: str) -> SetupPlan:
    return SetupPlan(notes=[
        "macOS needs OBS Studio 30 or newer for its virtual camera (FaceBlur Cam cannot "
        "install a camera extension itself):",
        "  1. Install OBS Studio from obsproject.com (or: brew install --cask obs).",
        "  2. " + _APPROVE[0].upper() + _APPROVE[1:] + ".",
        f'  3. Apps then list the camera as "{OBS_NAME}"; macOS offers no way to name it "{label}".',
        "On macOS 11 and 12 the camera is OBS's older plug-in instead of the extension: any OBS "
        "from 26.1 on installs it when you click Start Virtual Camera once.",
        "Then run 'faceblur-cam doctor' to check.",
    ])


def open_folder(path: Path) -> None:
    subprocess.Popen(["open", str(path)], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                     stderr=subprocess.DEVNULL)


def display_problem(x11_only: bool) -> str | None:
    return None  # the desktop is always there
