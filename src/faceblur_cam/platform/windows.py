"""Windows: Unity Capture registered under our name, else OBS Virtual Camera, via pyvirtualcam.

Both are DirectShow video input filters. Unity Capture (MIT) can be registered under a name of
the user's choosing, so apps list it as "FaceBlur Cam"; its filter DLL is the user's own
download (we download nothing). OBS's is always listed as "OBS Virtual Camera". The registry
layout we read is described in ``windows_filters``.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from pathlib import Path

from faceblur_cam.doctor.result import CheckResult, fail, ok, warn
from faceblur_cam.platform.output_choice import OutputChoice
from faceblur_cam.platform.plan import SetupPlan
from faceblur_cam.platform.windows_filters import (
    ClassesRoot,
    find_unity_capture,
    system_registry,
    unity_capture_devices,
    video_input_names,
)

log = logging.getLogger(__name__)

NEEDS_DEVICE_PATH = False  # pyvirtualcam finds the device by its backend

VCAM = "virtual camera"
OBS_NAME = "OBS Virtual Camera"
PRIVACY_HINT = "allow desktop apps in Settings > Privacy & security > Camera"
UNITY_CAPTURE_PAGE = "https://github.com/schellingb/UnityCapture"
FILTER_DLL = "UnityCaptureFilter64.dll"
OLD_FILTER_DLL = "UnityCaptureFilter64bit.dll"  # the same filter's name in older copies of Unity Capture

Registry = Callable[[], "ClassesRoot | None"]  # the registry to read; default: the real one


def list_video_devices() -> list[tuple[str, str, bool]]:
    return []


def find_virtual_camera(label: str) -> str | None:
    return None  # pyvirtualcam's unitycapture backend takes the registered name itself


def is_virtual_camera(source: int | str) -> bool:
    return False


def prepare_virtual_camera(device: str | None) -> None:
    return None


def register_command(label: str, dll: str = FILTER_DLL) -> str:
    """The one command (administrator prompt) that registers the 64-bit filter as ``label``."""
    return f'regsvr32 "{dll}" "/i:UnityCaptureName={label}"'


def obs_notice(label: str) -> str:
    return (f'Publishing to the OBS virtual camera: apps list it as "{OBS_NAME}", not "{label}" '
            f'(run \'faceblur-cam setup\' to appear as "{label}").')


def output_choices(label: str, registry: Registry | None = None) -> list[OutputChoice]:
    """Unity Capture registered (64-bit) as ``label`` first, else OBS Virtual Camera."""
    obs = OutputChoice("obs", None, obs_notice(label))
    reg = (registry or system_registry)()
    if reg is not None:
        try:
            if find_unity_capture(label, reg) is not None:
                return [OutputChoice("unitycapture", label), obs]
        except OSError as exc:
            log.warning("cannot read the registered virtual cameras: %s", exc)
    return [obs]


def virtual_camera_hint(label: str) -> str:
    return (
        f'No virtual camera was found. To appear as "{label}", register Unity Capture under that '
        f"name from an administrator prompt (see 'faceblur-cam setup'):\n"
        f"  {register_command(label)}\n"
        f'Or install OBS Studio 26 or newer; apps then list the camera as "{OBS_NAME}".\n'
        "Until then, use --preview to see the protected picture."
    )


def explain_output_error(device: str | None, label: str, error: BaseException) -> str:
    return f"Cannot open a virtual camera ({error}).\n" + virtual_camera_hint(label)


def directshow_cameras(registry: Registry | None = None) -> list[str]:
    """Friendly names of the registered DirectShow video inputs (empty if unreadable)."""
    reg = (registry or system_registry)()
    if reg is None:
        return []
    try:
        return video_input_names(reg)
    except OSError as exc:
        log.debug("cannot list DirectShow cameras: %s", exc)
        return []


def _register_fix(label: str) -> str:
    return (f"as administrator, in the Install folder of Unity Capture ({UNITY_CAPTURE_PAGE}):\n"
            f"{register_command(label)}")


def virtual_camera_checks(label: str, registry: Registry | None = None) -> list[CheckResult]:
    """Is a 64-bit Unity Capture filter registered as ``label`` (its DLL still there)? Else is
    OBS Virtual Camera there (works, under OBS's name)?"""
    reg = (registry or system_registry)()
    if reg is None:
        return [fail(VCAM, "driver", "the Windows registry cannot be read here")]
    try:
        ours = [d for d in unity_capture_devices(reg, 64) if d.name == label]
        ours_32 = [d for d in unity_capture_devices(reg, 32) if d.name == label]
        others = [d.name for d in unity_capture_devices(reg, 64) if d.name != label]
        inputs = video_input_names(reg)
    except OSError as exc:
        return [fail(VCAM, "driver", f"cannot read the registered cameras: {exc}")]
    if ours and ours[0].dll_found:
        return [ok(VCAM, "driver", f'Unity Capture is registered as "{label}" (64-bit: {ours[0].dll})')]
    if ours:
        return [fail(VCAM, "driver", f'"{label}" is registered, but its filter file is gone: {ours[0].dll}',
                     "put Unity Capture back there, or register it again from where it is now, " +
                     _register_fix(label))]
    results = []
    if ours_32:
        results.append(warn(VCAM, "64-bit", f'only the 32-bit Unity Capture filter is registered as "{label}"; '
                            "64-bit apps (FaceBlur Cam, Zoom, Teams, browsers) cannot use it",
                            "register the 64-bit filter too, " + _register_fix(label)))
    elif others:
        results.append(warn(VCAM, "name", "Unity Capture is registered as " +
                            ", ".join(f'"{n}"' for n in others) + f', not as "{label}"',
                            "register it under our name, " + _register_fix(label)))
    if OBS_NAME in inputs:
        return [ok(VCAM, "driver", f'"{OBS_NAME}" is installed; apps list FaceBlur Cam under that name'),
                *results,
                warn(VCAM, "name", f'no Unity Capture filter is registered as "{label}"', _register_fix(label))]
    return [fail(VCAM, "driver", f'no virtual camera: neither Unity Capture registered as "{label}" nor '
                 f'"{OBS_NAME}" is installed',
                 _register_fix(label) + f'\n(or install OBS Studio 26+; apps then list "{OBS_NAME}")'),
            *results]


def camera_checks() -> list[CheckResult]:
    from faceblur_cam.platform.camera_probe import opencv_camera_checks

    return opencv_camera_checks(privacy_hint=PRIVACY_HINT)


def setup_plan(label: str, registry: Registry | None = None) -> SetupPlan:
    """The exact steps: FaceBlur Cam downloads and registers nothing itself."""
    reg = (registry or system_registry)()
    ready = False
    if reg is not None:
        try:
            found = find_unity_capture(label, reg)
            ready = found is not None and found.dll_found
        except OSError as exc:
            log.warning("cannot read the registered virtual cameras: %s", exc)
    return SetupPlan(notes=[
        f'Windows: to appear in Zoom, Teams, Meet and OBS as "{label}", register the Unity Capture '
        "virtual camera (MIT licence) under that name. FaceBlur Cam downloads and installs nothing "
        "itself: you fetch Unity Capture and run one command.",
        f"  1. Download Unity Capture from {UNITY_CAPTURE_PAGE} (Code > Download ZIP) and unpack it "
        "where it can stay (e.g. C:\\UnityCapture): Windows loads the filter from "
        f"there (to move or delete it later, first run there: regsvr32 /u {FILTER_DLL}).",
        "  2. Open a Command Prompt as administrator (Start, type cmd, right-click "
        "\"Command Prompt\" > \"Run as administrator\") and go to its Install folder, e.g.:",
        "       cd /d C:\\UnityCapture\\Install",
        f'  3. Register the 64-bit filter as "{label}":',
        f"       {register_command(label)}",
        f"     (older copies name the file {OLD_FILTER_DLL}: {register_command(label, OLD_FILTER_DLL)})",
        f'  4. Restart the apps that should list "{label}".',
        f'Without it, FaceBlur Cam uses the OBS Studio (26+) virtual camera; apps then list it as "{OBS_NAME}".',
        "Then run 'faceblur-cam doctor' to check.",
    ], ready=ready)


def open_folder(path: Path) -> None:
    os.startfile(str(path))  # type: ignore[attr-defined]  # Windows only


def display_problem(x11_only: bool) -> str | None:
    return None  # the desktop is always there
