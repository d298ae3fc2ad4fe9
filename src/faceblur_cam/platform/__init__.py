"""Platform specifics behind one small API; the implementation is chosen in ``_impl()`` only.

- ``find_virtual_camera(label)``: the ``device`` argument for pyvirtualcam (Linux: the
  v4l2loopback ``/dev/videoN`` whose label is ``label``, never a physical camera), or ``None``
  to let the backend choose.
- ``is_virtual_camera(source)``: True when a capture source is a virtual camera (never read
  our own output as input).
- ``prepare_virtual_camera(device)``: work around driver quirks right before opening
  ``device`` for output; never raises.
- ``explain_output_error(device, label, error)``: an actionable message for a failure to open
  or write the virtual camera (device busy, removed, no permission).
- ``virtual_camera_hint(label)``: what the user must run/install to get the device.
- ``output_choices(label)``: the pyvirtualcam backends/devices to try in order, each with the
  status line to show when it is the one used (Windows: Unity Capture named ``label``, then
  OBS); empty where the device is found as above (Linux).
- ``needs_device_path()``: True where the device must be found by label before opening.
- ``list_video_devices()``: ``[(path, name, is_virtual)]`` for ``faceblur-cam devices``.
- ``list_cameras()``: the real capture devices with a stable identity (Linux); ``[]`` where
  cameras are only known by index. ``camera_modes(path)``: the modes a camera lists (Linux:
  V4L2 enumeration); ``[]`` where they cannot be read (OpenCV's defaults are used).
  ``camera_busy(path)``: "in use by another app (zoom)" when another program holds it.
- ``virtual_camera_checks(label)``, ``camera_checks()``: doctor findings for this OS.
- ``setup_plan(label)``: the commands (Linux) or instructions that create the device.
- ``open_folder(path)``: show a folder in the desktop's file manager (does not wait for it).
- ``display_problem()``, ``display_available()``: why windows cannot be shown (Linux: no X11 or
  Wayland display, or one that does not answer), or None / True when they can.
"""

from __future__ import annotations

import sys
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from faceblur_cam.doctor.result import CheckResult
    from faceblur_cam.platform.linux_cameras import CameraInfo
    from faceblur_cam.platform.output_choice import OutputChoice
    from faceblur_cam.platform.plan import SetupPlan
    from faceblur_cam.sources.modes import CameraMode


def _impl() -> ModuleType:
    if sys.platform == "win32":
        from faceblur_cam.platform import windows as impl
    elif sys.platform == "darwin":
        from faceblur_cam.platform import macos as impl
    else:  # Linux and other Unix with v4l2
        from faceblur_cam.platform import linux as impl
    return impl


def os_name() -> str:
    """"Linux", "Windows" or "macOS", for messages."""
    return {"win32": "Windows", "darwin": "macOS"}.get(sys.platform, "Linux")


def find_virtual_camera(label: str) -> str | None:
    return _impl().find_virtual_camera(label)  # type: ignore[no-any-return]


def is_virtual_camera(source: int | str) -> bool:
    return bool(_impl().is_virtual_camera(source))


def virtual_camera_hint(label: str = "FaceBlur Cam") -> str:
    return str(_impl().virtual_camera_hint(label))


def output_choices(label: str = "FaceBlur Cam") -> list[OutputChoice]:
    """The virtual cameras to try, best first (empty: let ``find_virtual_camera`` decide)."""
    return list(_impl().output_choices(label))


def list_video_devices() -> list[tuple[str, str, bool]]:
    return list(_impl().list_video_devices())


def list_cameras() -> list[CameraInfo]:
    lister = getattr(_impl(), "list_cameras", None)
    return list(lister()) if lister is not None else []


def camera_busy(path: str) -> str | None:
    """Why camera ``path`` cannot be opened when another program holds it (naming it when the OS
    tells), else None."""
    check = getattr(_impl(), "camera_busy", None)
    return check(path) if check is not None else None


def camera_modes(path: str) -> list[CameraMode]:
    """Raises ``OSError`` when the camera cannot be asked (unplugged, no permission)."""
    reader = getattr(_impl(), "camera_modes", None)
    return list(reader(path)) if reader is not None else []


def needs_device_path() -> bool:
    """True where pyvirtualcam must be given the device path (Linux: else it may pick any
    loopback device, e.g. OBS's)."""
    return bool(_impl().NEEDS_DEVICE_PATH)


def prepare_virtual_camera(device: str | None) -> None:
    """Work around driver quirks before opening ``device`` for output (Linux: the
    v4l2loopback 0.12.7 restart bug). Never raises."""
    _impl().prepare_virtual_camera(device)


def explain_output_error(device: str | None, label: str, error: BaseException) -> str:
    """One actionable sentence for failing to open/write the virtual camera ``device``."""
    return str(_impl().explain_output_error(device, label, error))


def virtual_camera_checks(label: str = "FaceBlur Cam") -> list[CheckResult]:
    """Doctor findings about the virtual camera driver and device on this OS."""
    return list(_impl().virtual_camera_checks(label))


def camera_checks() -> list[CheckResult]:
    """Doctor findings about the physical camera(s) on this OS."""
    return list(_impl().camera_checks())


def setup_plan(label: str = "FaceBlur Cam") -> SetupPlan:
    """What ``faceblur-cam setup`` prints (and on Linux can run) on this OS."""
    plan: SetupPlan = _impl().setup_plan(label)
    return plan


def open_folder(path: Path) -> None:
    """Show ``path`` in the file manager; raises OSError when no file manager can be started."""
    _impl().open_folder(path)


def display_problem(x11_only: bool = False) -> str | None:
    """None when a window can be shown; else one sentence saying why not (no display, or one
    that does not answer: opening a window there would abort the whole process in Qt).
    ``x11_only``: the window needs X11 (OpenCV's Qt has no Wayland plugin)."""
    problem = _impl().display_problem(x11_only)
    return None if problem is None else str(problem)


def display_available(x11_only: bool = False) -> bool:
    """False when no window can be shown (see ``display_problem``)."""
    return display_problem(x11_only) is None
