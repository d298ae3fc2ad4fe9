"""Linux: the virtual camera is a v4l2loopback device, found by its label through sysfs.

Public functions follow the contracts in ``faceblur_cam.platform``. Doctor checks live in
``linux_checks``, set-up commands in ``linux_setup``, ioctls in ``linux_v4l2``.
"""

from __future__ import annotations

import errno
import logging
import os
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING

from faceblur_cam.platform import linux_cameras, linux_sysfs, linux_v4l2, linux_v4l2_modes
from faceblur_cam.platform.linux_sysfs import VideoDevice
from faceblur_cam.sources.modes import CameraMode

if TYPE_CHECKING:
    from faceblur_cam.doctor.result import CheckResult
    from faceblur_cam.platform.output_choice import OutputChoice
    from faceblur_cam.platform.plan import SetupPlan

log = logging.getLogger(__name__)

NEEDS_DEVICE_PATH = True  # else pyvirtualcam may pick any loopback device, e.g. OBS's


def output_choices(label: str) -> list[OutputChoice]:
    return []  # the v4l2loopback device is found by its label (find_virtual_camera)


def list_video_devices() -> list[tuple[str, str, bool]]:
    return [(d.path, d.name, d.virtual) for d in linux_sysfs.video_devices()]


def list_cameras() -> list[linux_cameras.CameraInfo]:
    return linux_cameras.list_cameras()


def camera_busy(path: str) -> str | None:
    return linux_cameras.busy_reason(path)


def camera_modes(path: str) -> list[CameraMode]:
    return linux_v4l2_modes.list_modes(path)


def find_virtual_camera(label: str) -> str | None:
    """The v4l2loopback ``/dev/videoN`` whose card label is ``label``; never a physical
    camera, even one that happens to have that name. None if there is none."""
    for device in linux_sysfs.video_devices():
        if device.loopback and device.name == label:
            return device.path
    return None


def _device_for(source: int | str, devices: list[VideoDevice]) -> VideoDevice | None:
    if isinstance(source, int) or (isinstance(source, str) and source.isdigit()):
        path = f"/dev/video{int(source)}"
    else:
        path = os.path.realpath(str(source))  # /dev/v4l/by-id/... symlinks
    return next((d for d in devices if d.path == path), None)


def is_virtual_camera(source: int | str) -> bool:
    """True when ``source`` (an index or a device path) is a virtual camera such as our own
    output; False for physical cameras and for files."""
    device = _device_for(source, linux_sysfs.video_devices())
    return device is not None and device.virtual


def prepare_virtual_camera(device: str | None) -> None:
    """Run the v4l2loopback 0.12.7 "unstick" on ``device`` if a previous writer left it
    stuck (see ``linux_v4l2.restore_output``). Never raises; a device that cannot be opened
    is left for the real open to report.

    With exclusive_caps=1 the device offers OUTPUT when idle and CAPTURE while a writer is
    active; stuck, it offers neither. Only that last state is repaired, so another program
    that is writing now is never disturbed (our open then fails with a "busy" message)."""
    if device is None:
        return
    try:
        cap = linux_v4l2.query_capability(device)
    except OSError as exc:
        log.debug("cannot query %s before opening it: %s", device, exc)
        return
    if cap.output or cap.capture:
        return
    log.info("%s lost its output capability (v4l2loopback bug); restoring it", device)
    linux_v4l2.restore_output(device)


def explain_output_error(device: str | None, label: str, error: BaseException) -> str:
    """One actionable sentence for a failure to open or write the virtual camera."""
    text = str(error)
    code = getattr(error, "errno", None)
    if device is None or not os.path.exists(device) or code in (errno.ENOENT, errno.ENODEV):
        where = f" ({device})" if device else ""
        return (f'The virtual camera "{label}"{where} is not there (was v4l2loopback unloaded?). '
                "Run 'faceblur-cam setup' to create it; retrying.")
    if code in (errno.EACCES, errno.EPERM) or "permission" in text.lower():
        return (f"No permission to use {device}. Add yourself to the video group: "
                "sudo usermod -aG video $USER, then log out and back in.")
    if code == errno.EBUSY or "not a video output device" in text:
        return (f'Another program is already sending video to "{label}" ({device}). '
                "Close it (or the other FaceBlur Cam) and this one retries.")
    return f'Cannot publish to "{label}" ({device}): {text}'


def virtual_camera_hint(label: str) -> str:
    return (
        f'No virtual camera named "{label}" was found. Create it with:\n'
        "  faceblur-cam setup            (prints the commands)\n"
        "  faceblur-cam setup --apply    (runs them through sudo)\n"
        "Until then, use --preview to see the protected picture."
    )


def open_folder(path: Path) -> None:
    subprocess.Popen(["xdg-open", str(path)], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                     stderr=subprocess.DEVNULL, start_new_session=True)


def display_problem(x11_only: bool) -> str | None:
    """None when a window can be opened: an X server that answers (or, unless ``x11_only``, a
    Wayland compositor that does); else why not. Only set variables are not enough: Qt aborts
    the process on a display that does not answer."""
    from faceblur_cam.platform import display_probe

    x11 = os.environ.get("DISPLAY", "")
    wayland = "" if x11_only else os.environ.get("WAYLAND_DISPLAY", "")
    if not x11 and not wayland:
        return "DISPLAY is not set" if x11_only else "DISPLAY / WAYLAND_DISPLAY are not set"
    problems = []
    if x11:
        problem = display_probe.x11_problem(x11)
        if problem is None:
            return None
        problems.append(problem)
    if wayland:
        problem = display_probe.wayland_problem(wayland, os.environ.get("XDG_RUNTIME_DIR"))
        if problem is None:
            return None
        problems.append(problem)
    return "; ".join(problems)


def virtual_camera_checks(label: str) -> list[CheckResult]:
    from faceblur_cam.platform import linux_checks

    return linux_checks.virtual_camera_checks(label)


def camera_checks() -> list[CheckResult]:
    from faceblur_cam.platform import linux_checks

    return linux_checks.camera_checks()


def setup_plan(label: str) -> SetupPlan:
    from faceblur_cam.platform import linux_setup

    return linux_setup.plan(linux_setup.observe(), label)
