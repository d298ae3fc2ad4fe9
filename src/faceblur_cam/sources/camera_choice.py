"""Which camera to open, and opening it in its best mode.

The setting (``--source``, ``[camera] device``, the tray's Camera menu) is an index, a device
path, a camera's name or its stable identity (see ``platform.linux_cameras``). Where the system
lists cameras (Linux), the default (index 0) is the first *real* camera: a virtual camera such
as our own "FaceBlur Cam" output is never opened by default.

``CameraChoice`` holds the setting while running; the tray changes it, and the next time the
engine opens the camera (after a pause, a disconnect, or the tray's switch) it reads it. Any
thread.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass

from faceblur_cam import platform
from faceblur_cam.platform.linux_cameras import CameraInfo, CameraNotFound, find_camera
from faceblur_cam.sources import SourceError
from faceblur_cam.sources.camera import FIRST_FRAME_S, CameraSource
from faceblur_cam.sources.modes import CameraMode, ModeChoice, choose_mode

log = logging.getLogger(__name__)

DEFAULT = 0  # the first real camera


@dataclass(frozen=True)
class CameraTarget:
    """What to open: ``source`` for OpenCV (path or index) and a name for people."""

    source: int | str
    name: str


def resolve(setting: int | str, cameras: list[CameraInfo]) -> CameraTarget:
    """The camera ``setting`` names among ``cameras`` (empty: the system does not list cameras,
    so the setting is used as it is). Raises ``SourceError`` when it names none."""
    if isinstance(setting, str) and setting.strip().isdigit():
        setting = int(setting)
    if not cameras:
        if setting == DEFAULT and platform.list_video_devices():  # Linux, with only virtual devices
            raise SourceError("No camera found (only virtual cameras are plugged in)")
        return CameraTarget(setting, str(setting))
    if setting == DEFAULT:
        return CameraTarget(cameras[0].path, cameras[0].name)
    if isinstance(setting, int):
        setting = f"/dev/video{setting}"
    if setting.startswith("/dev/"):
        known = next((c for c in cameras if c.path == setting or c.identity == setting), None)
        return CameraTarget(known.path if known else setting, known.name if known else setting)
    try:
        camera = find_camera(setting, cameras)
    except CameraNotFound as exc:
        raise SourceError(str(exc)) from exc
    return CameraTarget(camera.path, camera.name)


def best_mode(source: int | str, wh: tuple[int, int], fps: float,
              modes: Callable[[str], list[CameraMode]] = platform.camera_modes) -> ModeChoice | None:
    """The mode to ask ``source`` for; None when its modes cannot be read (OpenCV's defaults)."""
    if not isinstance(source, str):
        return None
    try:
        listed = modes(source)
    except OSError as exc:
        log.info("cannot list the modes of %s: %s", source, exc)
        return None
    except Exception:  # a driver answering oddly must not stop the camera from opening
        log.warning("listing the modes of %s failed; using the camera's defaults", source, exc_info=True)
        return None
    return choose_mode(listed, wh, fps)


def open_camera(setting: int | str, wh: tuple[int, int], fps: float) -> CameraSource:
    """The camera ``setting`` names, in its best mode for ``wh`` at ``fps``. Raises ``SourceError``."""
    target = resolve(setting, platform.list_cameras())
    if isinstance(target.source, str):
        busy = platform.camera_busy(target.source)
        if busy:
            raise SourceError(f'Camera "{target.name}" is {busy}')
    choice = best_mode(target.source, wh, fps)
    if choice is not None:
        log.info("camera %r: asking for %s: %s", target.name, choice.mode.describe(), choice.reason)
    return CameraSource(target.source, wh=wh, fps=fps, mode=choice.mode if choice else None, name=target.name)


class CameraChoice:
    """The camera setting, changeable while running (the tray's Camera menu). Any thread."""

    def __init__(self, setting: int | str):
        self._lock = threading.Lock()
        self._setting = setting

    def current(self) -> int | str:
        with self._lock:
            return self._setting

    def choose(self, setting: int | str) -> bool:
        """Returns True when the setting changed."""
        with self._lock:
            changed, self._setting = setting != self._setting, setting
        return changed


@dataclass(frozen=True)
class CameraProbe:
    """What opening a camera for a moment showed (``faceblur-cam devices`` and ``doctor``)."""

    name: str
    asked: ModeChoice | None  # None: the modes could not be read (OpenCV's defaults)
    delivered: str  # e.g. "1280x720 MJPEG"; "" when it could not be opened
    measured_fps: float | None  # None: no rate measured (no frames, or could not be opened)
    error: str = ""

    @property
    def asked_fps(self) -> float | None:
        return self.asked.mode.fps if self.asked else None

    @property
    def too_slow(self) -> bool:
        """The camera delivers far below the asked rate (under 3/4 of it)."""
        asked = self.asked_fps
        return asked is not None and self.measured_fps is not None and self.measured_fps < 0.75 * asked


def probe_camera(target: CameraTarget, wh: tuple[int, int], fps: float, seconds: float = 4.0,
                 clock: Callable[[], float] | None = None) -> CameraProbe:
    """Open ``target`` in its best mode, read frames until its rate is measured (for up to
    ``seconds`` after the camera had the time to start) and close it (its light goes on
    meanwhile). Never raises."""
    import time

    now = clock or time.monotonic
    choice = best_mode(target.source, wh, fps)
    try:
        source = CameraSource(target.source, wh=wh, fps=fps, mode=choice.mode if choice else None, name=target.name)
    except SourceError as exc:
        return CameraProbe(target.name, choice, "", None, str(exc))
    try:
        end = now() + FIRST_FRAME_S + seconds
        error = ""
        while source.measured_fps is None and now() < end:
            try:
                source.read(timeout=0.25)
            except SourceError as exc:
                error = str(exc)
                break
        return CameraProbe(target.name, choice, source.delivered_format, source.measured_fps, error)
    finally:
        source.close()


def choice_for(setting: int | str) -> CameraChoice | None:
    """A changeable choice when ``setting`` names a camera; None for a video file or image folder
    standing in for one (nothing to choose)."""
    from pathlib import Path

    if isinstance(setting, str) and not setting.startswith("/dev/") and Path(setting).expanduser().exists():
        return None
    return CameraChoice(setting)
