"""A pyvirtualcam backend that keeps what it is sent: the test seam for the virtual camera.

Register it (``register()``) and open ``pyvirtualcam.Camera(..., backend="faceblur-fake")``, or
pass ``--vcam-backend faceblur_cam.sinks.fake_vcam:FakeCameraBackend`` to ``faceblur-cam run``.
It follows pyvirtualcam's backend contract (``__init__``, ``send``, ``close``, ``device``,
``native_fourcc``) and accepts only BGR, like a real device that was asked for BGR.

In-process: ``FakeCameraBackend.instances[-1].frames`` holds the first 600 frames (``(H, W, 3)``
BGR; ``FACEBLUR_FAKE_VCAM_KEEP`` changes how many; ``sent`` counts all).
Across processes: set ``FACEBLUR_FAKE_VCAM_DIR``; every frame is then written there as
``frame_NNNNNN.png`` (at most ``FACEBLUR_FAKE_VCAM_FPS`` per second, default 5) and
``latest.png`` is replaced atomically with each; ``close`` writes ``closed`` (the count sent).
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any, ClassVar

import cv2
import numpy as np

NAME = "faceblur-fake"
BGR_FOURCC = int.from_bytes(b"24BG", "little")  # libyuv FourCC of PixelFormat.BGR


class FakeCameraBackend:
    instances: ClassVar[list[FakeCameraBackend]] = []

    def __init__(self, *, width: int, height: int, fps: float, fourcc: int, device: str | None, **kw: Any):
        if fourcc != BGR_FOURCC:
            raise RuntimeError("the fake camera accepts BGR frames only")
        self.width, self.height, self.fps = width, height, fps
        self._device = device or "fake:FaceBlur Cam"
        self.frames: list[np.ndarray] = []
        folder = os.environ.get("FACEBLUR_FAKE_VCAM_DIR")
        self.folder = Path(folder) if folder else None
        # in-process tests read ``frames``; a long run across processes must not hoard memory
        self.keep = int(os.environ.get("FACEBLUR_FAKE_VCAM_KEEP", "0" if folder else "600"))
        self.write_interval = 1.0 / float(os.environ.get("FACEBLUR_FAKE_VCAM_FPS", "5"))
        self._last_write = 0.0
        self.sent = 0
        self.closed = False
        FakeCameraBackend.instances.append(self)

    def send(self, frame: np.ndarray) -> None:
        if self.closed:
            raise RuntimeError("send after close")
        image = frame.reshape(self.height, self.width, 3).copy()
        self.sent += 1
        if len(self.frames) < self.keep:
            self.frames.append(image)
        now = time.monotonic()
        if self.folder is not None and now - self._last_write >= self.write_interval:
            self._last_write = now
            self.folder.mkdir(parents=True, exist_ok=True)
            cv2.imwrite(str(self.folder / f"frame_{self.sent:06d}.png"), image)
            tmp = self.folder / "latest.tmp.png"
            cv2.imwrite(str(tmp), image)
            os.replace(tmp, self.folder / "latest.png")

    def close(self) -> None:
        self.closed = True
        if self.folder is not None:  # across processes: "the device was released"
            self.folder.mkdir(parents=True, exist_ok=True)
            (self.folder / "closed").write_text(f"{self.sent}\n")

    def device(self) -> str:
        return self._device

    def native_fourcc(self) -> int:
        return BGR_FOURCC


def register() -> str:
    import pyvirtualcam

    pyvirtualcam.register_backend(NAME, FakeCameraBackend)
    return NAME
