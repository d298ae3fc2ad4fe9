"""Platform specifics behind one small API; the implementation is chosen in ``_impl()`` only.

- ``find_virtual_camera(label)``: the ``device`` argument for pyvirtualcam (Linux: the
  ``/dev/videoN`` whose v4l2 name is ``label``), or ``None`` to let the backend choose.
- ``is_virtual_camera(source)``: True when a capture source is a virtual camera (never read
  our own output as input).
- ``virtual_camera_hint()``: what the user must run/install to get the "FaceBlur Cam" device.
- ``list_video_devices()``: ``[(path, name, is_loopback)]`` for ``faceblur-cam devices``.
"""

from __future__ import annotations

import sys
from types import ModuleType


def _impl() -> ModuleType:
    if sys.platform == "win32":
        from faceblur_cam.platform import windows as impl
    elif sys.platform == "darwin":
        from faceblur_cam.platform import macos as impl
    else:  # Linux and other Unix with v4l2
        from faceblur_cam.platform import linux as impl
    return impl


def find_virtual_camera(label: str) -> str | None:
    return _impl().find_virtual_camera(label)  # type: ignore[no-any-return]


def is_virtual_camera(source: int | str) -> bool:
    return bool(_impl().is_virtual_camera(source))


def virtual_camera_hint(label: str = "FaceBlur Cam") -> str:
    return str(_impl().virtual_camera_hint(label))


def list_video_devices() -> list[tuple[str, str, bool]]:
    return list(_impl().list_video_devices())


def needs_device_path() -> bool:
    """True where pyvirtualcam must be given the device path (Linux: else it may pick any loopback)."""
    return bool(_impl().NEEDS_DEVICE_PATH)


def prepare_virtual_camera(device: str | None) -> None:
    """Work around driver quirks before opening ``device`` for output (Linux: v4l2loopback)."""
    _impl().prepare_virtual_camera(device)
