"""The virtual camera "FaceBlur Cam" through pyvirtualcam.

pyvirtualcam picks a backend per OS (v4l2loopback, OBS, Unity Capture); tests register their
own with ``pyvirtualcam.register_backend`` and pass its name as ``backend``.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from faceblur_cam import platform
from faceblur_cam.errors import UserError
from faceblur_cam.frames import PublishedFrame
from faceblur_cam.sinks import SinkError

if TYPE_CHECKING:
    import pyvirtualcam

    from faceblur_cam.platform.output_choice import OutputChoice

log = logging.getLogger(__name__)


class NoVirtualCamera(UserError):
    """No virtual camera could be opened; the message says what to install or run."""


def register_backend_class(spec: str) -> str:
    """``"module:Class"`` -> registered with pyvirtualcam under ``spec``; returns the name."""
    import importlib

    import pyvirtualcam

    module_name, _, class_name = spec.partition(":")
    try:
        cls = getattr(importlib.import_module(module_name), class_name)
    except (ImportError, AttributeError) as exc:
        raise NoVirtualCamera(f"virtual camera backend {spec!r} not found: {exc}") from exc
    pyvirtualcam.register_backend(spec, cls)
    return spec


class VirtualCameraSink:
    name = "virtual camera"

    def __init__(self, wh: tuple[int, int], fps: float, label: str = "FaceBlur Cam",
                 device: str | None = None, backend: str | None = None):
        import pyvirtualcam

        if backend and ":" in backend:
            backend = register_backend_class(backend)
        #: the status line to show while publishing (e.g. apps list the camera under OBS's name)
        self.notice: str | None = None
        choices = [] if device or backend else platform.output_choices(label)
        if choices:
            self._cam, self.notice = _open_first(choices, wh, fps, label)
        else:
            if not device and not backend:
                device = platform.find_virtual_camera(label)
                if device is None and platform.needs_device_path():
                    raise NoVirtualCamera(platform.virtual_camera_hint(label))
            platform.prepare_virtual_camera(device)
            try:
                self._cam = pyvirtualcam.Camera(width=wh[0], height=wh[1], fps=fps, fmt=pyvirtualcam.PixelFormat.BGR,
                                                device=device or None, backend=backend or None)
            except (RuntimeError, ValueError) as exc:
                raise NoVirtualCamera(platform.explain_output_error(device, label, exc)) from exc
        self.device = self._cam.device
        self.name = f"virtual camera {self.device}"
        log.info("publishing to %s (%dx%d @ %g fps, backend %s)", self.device, wh[0], wh[1], fps, self._cam.backend)

    def send(self, frame: PublishedFrame) -> None:
        try:
            self._cam.send(frame.image)
        except Exception as exc:
            raise SinkError(f"the virtual camera stopped accepting frames: {exc}") from exc

    def close(self) -> None:
        self._cam.close()


def _open_first(choices: list[OutputChoice], wh: tuple[int, int], fps: float,
                label: str) -> tuple[pyvirtualcam.Camera, str | None]:
    """Open the first choice that works; returns the camera and that choice's notice. Raises
    ``NoVirtualCamera`` with every choice's error when none does."""
    import pyvirtualcam

    errors = []
    for choice in choices:
        if choice.backend not in pyvirtualcam.camera.BACKENDS:
            errors.append(f"'{choice.backend}' backend: not available on this system")
            continue
        try:
            cam = pyvirtualcam.Camera(width=wh[0], height=wh[1], fps=fps, fmt=pyvirtualcam.PixelFormat.BGR,
                                      device=choice.device, backend=choice.backend)
        except (RuntimeError, ValueError) as exc:
            log.warning("cannot open the %s virtual camera%s: %s", choice.backend,
                        f' "{choice.device}"' if choice.device else "", exc)
            errors.append(str(exc))  # pyvirtualcam says which backend
            continue
        return cam, choice.notice
    raise NoVirtualCamera(platform.explain_output_error(None, label, RuntimeError("; ".join(errors))))
