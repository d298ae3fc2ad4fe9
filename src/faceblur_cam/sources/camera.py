"""The physical camera through ``cv2.VideoCapture``.

A reader thread grabs frames as fast as the camera delivers them and keeps only the newest,
so a slow consumer never builds up latency. ``read`` returns each frame at most once.
"""

from __future__ import annotations

import logging
import threading
import time

import cv2
import numpy as np

from faceblur_cam.frames import CapturedFrame
from faceblur_cam.sources import SourceError
from faceblur_cam.sources.fit import fit

log = logging.getLogger(__name__)


class CameraSource:
    """Thread rules: ``read``/``close`` from the engine worker; the reader thread is private."""

    def __init__(self, index_or_path: int | str, wh: tuple[int, int] = (1280, 720), fps: float = 30.0,
                 stall_s: float = 3.0):
        self._wh = wh
        self._stall_s = stall_s
        self._cap = cv2.VideoCapture(index_or_path)
        if not self._cap.isOpened():
            self._cap.release()
            raise SourceError(f"camera {index_or_path!r} cannot be opened (unplugged, or used by another app?)")
        self._cap.set(cv2.CAP_PROP_FRAME_WIDTH, wh[0])
        self._cap.set(cv2.CAP_PROP_FRAME_HEIGHT, wh[1])
        self._cap.set(cv2.CAP_PROP_FPS, fps)
        self._cap.set(cv2.CAP_PROP_BUFFERSIZE, 1)
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
        log.info("camera %r opened", index_or_path)

    def _reader(self) -> None:
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
                if time.monotonic() - self._last_frame_at > self._stall_s:
                    raise SourceError(f"no frame from the camera for {self._stall_s:.0f} s")
                return None
            image, t, index = self._latest, self._latest_t, self._index
            self._delivered = index
        assert image is not None
        return CapturedFrame(fit(image, self._wh), t, index)

    def close(self) -> None:
        self._stop = True
        self._thread.join(timeout=2)
        self._cap.release()
