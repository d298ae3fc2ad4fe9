"""The physical camera through ``cv2.VideoCapture``.

A reader thread grabs frames as fast as the camera delivers them and keeps only the newest,
so a slow consumer never builds up latency. ``read`` returns each frame at most once.

Given a ``CameraMode`` (see ``sources.modes``), the camera is opened through V4L2 in that
format, size and rate (MJPEG where the raw format cannot reach the rate); the rate the camera
really delivers is measured over its first seconds, logged, and shown in ``description``.
"""

from __future__ import annotations

import logging
import threading
import time

import cv2
import numpy as np

from faceblur_cam.frames import CapturedFrame
from faceblur_cam.native_threads import join_or_leave
from faceblur_cam.sources import SourceError
from faceblur_cam.sources.fit import fit
from faceblur_cam.sources.modes import CameraMode

log = logging.getLogger(__name__)

READ_WAIT_AT_EXIT_S = 15.0  # a blocked read the process waits for before exiting, at most

FIRST_FRAME_S = 10.0  # a camera may take seconds to start streaming (OpenCV's own select timeout)
MEASURE_FRAMES = 62  # the delivered rate is measured over 60 frame intervals...
MEASURE_S = 3.0  # ...or 3 s, whichever comes first


class CameraSource:
    """Thread rules: ``read``/``close`` from the engine worker; the reader thread is private."""

    def __init__(self, index_or_path: int | str, wh: tuple[int, int] = (1280, 720), fps: float = 30.0,
                 stall_s: float = 3.0, mode: CameraMode | None = None, name: str = ""):
        """``mode``: the mode to ask for (None: OpenCV's defaults at ``wh`` and ``fps``); ``name``:
        the camera's name for the status line."""
        self._wh = wh
        self._stall_s = stall_s
        self._name = name or str(index_or_path)
        self._asked_fps = mode.fps if mode else fps
        self._cap = cv2.VideoCapture(index_or_path, cv2.CAP_V4L2) if mode else cv2.VideoCapture(index_or_path)
        if not self._cap.isOpened():
            self._cap.release()
            raise SourceError(f"camera {self._name!r} cannot be opened (unplugged, or used by another app?)")
        if mode is not None:  # the fourcc first: the sizes and rates a driver accepts depend on it
            self._cap.set(cv2.CAP_PROP_FOURCC, cv2.VideoWriter.fourcc(*mode.fourcc))
        self._cap.set(cv2.CAP_PROP_FRAME_WIDTH, mode.width if mode else wh[0])
        self._cap.set(cv2.CAP_PROP_FRAME_HEIGHT, mode.height if mode else wh[1])
        self._cap.set(cv2.CAP_PROP_FPS, self._asked_fps)
        self._cap.set(cv2.CAP_PROP_BUFFERSIZE, 1)
        self._format = self._opened_format()
        self._measured_fps: float | None = None
        self._first_frames: list[float] = []
        self._cond = threading.Condition()
        self._latest: np.ndarray | None = None
        self._latest_t = 0.0
        self._index = 0
        self._delivered = 0
        self._error: str | None = None
        self._stop = False
        self._last_frame_at = time.monotonic()
        self._thread = threading.Thread(target=self._reader, name="faceblur-camera", daemon=True)
        self._thread.start()
        log.info("camera %r opened: %s, asked %.4g fps", self._name, self._format, self._asked_fps)

    def _opened_format(self) -> str:
        """What the driver agreed to, e.g. "1280x720 MJPEG"."""
        code = int(self._cap.get(cv2.CAP_PROP_FOURCC))
        fourcc = "".join(chr((code >> (8 * i)) & 0xFF) for i in range(4)).strip("\0 ")
        w, h = int(self._cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(self._cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
        fourcc = {"MJPG": "MJPEG", "JPEG": "MJPEG"}.get(fourcc, fourcc)
        return f"{w}x{h} {fourcc}".strip() if fourcc.isprintable() else f"{w}x{h}"

    @property
    def delivered_format(self) -> str:
        """The size and format the driver agreed to, e.g. "1280x720 MJPEG"."""
        return self._format

    @property
    def measured_fps(self) -> float | None:
        """Frames per second the camera delivered over its first seconds; None until known."""
        with self._cond:
            return self._measured_fps

    @property
    def description(self) -> str:
        """E.g. "C920, 1280x720 MJPEG 30 fps" (the measured rate once known, else the asked one)."""
        fps = self.measured_fps
        rate = f"{fps:.0f} fps" if fps is not None else f"{self._asked_fps:.4g} fps asked"
        return f"{self._name}, {self._format} {rate}"

    def _measure(self, t: float) -> None:
        """Called with the lock held for each frame until the rate is known (first frame excluded:
        drivers deliver it late, after the stream started)."""
        times = self._first_frames
        times.append(t)
        if len(times) >= MEASURE_FRAMES or (len(times) >= 3 and times[-1] - times[1] >= MEASURE_S):
            self._measured_fps = (len(times) - 2) / max(times[-1] - times[1], 1e-6)
            log.info("camera %r delivers %s at %.1f fps (asked %.4g)", self._name, self._format,
                     self._measured_fps, self._asked_fps)

    def _reader(self) -> None:
        """Reads until closed or failed, then releases the device itself: releasing it from
        another thread while a read is blocked in the driver can abort the process."""
        try:
            self._read_frames()
        finally:
            self._cap.release()

    def _read_frames(self) -> None:
        failures = 0
        while not self._stop:
            ok, image = self._cap.read()
            t = time.monotonic()
            with self._cond:
                if ok and image is not None:
                    failures = 0
                    self._latest, self._latest_t = image, t
                    self._index += 1
                    self._last_frame_at = t
                    if self._measured_fps is None:
                        self._measure(t)
                    self._cond.notify_all()
                else:
                    failures += 1
                    if failures >= 10:
                        self._error = "the camera stopped delivering frames (unplugged?)"
                        self._cond.notify_all()
                        return
            if not ok:
                time.sleep(0.05)

    def read(self, timeout: float) -> CapturedFrame | None:
        with self._cond:
            self._cond.wait_for(lambda: self._index > self._delivered or self._error is not None, timeout)
            if self._error is not None:
                raise SourceError(self._error)
            if self._index == self._delivered:
                stall = self._stall_s if self._index else max(self._stall_s, FIRST_FRAME_S)
                if time.monotonic() - self._last_frame_at > stall:
                    raise SourceError(f"no frame from the camera for {stall:.0f} s")
                return None
            image, t, index = self._latest, self._latest_t, self._index
            self._delivered = index
        assert image is not None
        return CapturedFrame(fit(image, self._wh), t, index)

    def close(self) -> None:
        """Stops the reader, which releases the device (the light goes off); waits up to 2 s for a
        blocked read (then the device is released when that read returns)."""
        self._stop = True
        # an exit inside the read would abort; V4L2 reads time out after 10 s
        if not join_or_leave(self._thread, 2.0, f"the read of camera {self._name!r}", wait_s=READ_WAIT_AT_EXIT_S):
            log.info("camera %r: the device is released when that read returns", self._name)
