"""Detection with a time budget, on its own thread.

``TimedDetector(detect, budget_s)`` is a ``DetectFn`` (``(image, jobs) -> Detections``) for the
pipeline, running ``detect`` on its own thread.
It hands the image to a dedicated thread and waits at most ``budget_s``. If the detector raises,
misses the budget, or is still busy with an earlier frame, the call raises ``DetectionUnavailable``
and the pipeline obscures the frame (fail closed). A late result is dropped: masks must belong
to the frame they are applied to.

Thread rules: ``__call__`` and ``close`` from one thread (the engine worker). ``close`` ends the
detection thread and joins it: a detection in progress finishes first (a thread left inside
onnxruntime at interpreter exit aborts the process: "terminate called without an active
exception", exit 134). ``close`` waits ``close_timeout_s`` so that the rest of a stop (the
recording, the virtual camera) is not held up; a detection slower than that (an emulated CPU,
a machine under heavy load) is left to finish on its own, and the process waits for it before
exiting (``faceblur_cam.native_threads``).
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable

import numpy as np

from faceblur_cam.detect.jobs import DetectJob
from faceblur_cam.detections import Detections
from faceblur_cam.native_threads import join_or_leave

log = logging.getLogger(__name__)


class DetectionUnavailable(RuntimeError):
    """No detection result for this frame."""


class TimedDetector:
    close_timeout_s = 2.0  # how long ``close`` waits for a detection in progress

    def __init__(self, detect: Callable[[np.ndarray, list[DetectJob]], Detections], budget_s: float | None = 0.25):
        self.detect = detect
        self.budget_s = budget_s
        self._requests: queue.Queue[tuple[np.ndarray, list[DetectJob]] | None] = queue.Queue(maxsize=1)
        self._results: queue.Queue[tuple[int, Detections | BaseException]] = queue.Queue()
        self._busy = threading.Event()
        self._seq = 0
        self._closed = False
        self._thread = threading.Thread(target=self._loop, name="faceblur-detector", daemon=True)
        self._thread.start()

    def __call__(self, image: np.ndarray, jobs: list[DetectJob]) -> Detections:
        if self._closed:
            raise DetectionUnavailable("detector closed")
        if self._busy.is_set():
            raise DetectionUnavailable("detector still busy with an earlier frame")
        self._seq += 1
        seq = self._seq
        self._busy.set()
        self._requests.put((image, jobs))
        while True:
            try:
                got_seq, result = self._results.get(timeout=self.budget_s)
            except queue.Empty:
                raise DetectionUnavailable(f"detector missed its {(self.budget_s or 0) * 1000:.0f} ms budget") from None
            if got_seq != seq:  # a late answer for an earlier frame
                continue
            if isinstance(result, BaseException):
                raise DetectionUnavailable(f"detector failed: {result!r}") from result
            return result

    def close(self) -> None:
        """Stop the detection thread; waits up to ``close_timeout_s`` for a detection in progress."""
        if self._closed:
            return
        self._closed = True
        deadline = time.monotonic() + self.close_timeout_s
        try:  # the queue holds at most one request: wait for the thread to take it
            self._requests.put(None, timeout=self.close_timeout_s)
        except queue.Full:
            pass
        join_or_leave(self._thread, deadline - time.monotonic(), "the face detector's current frame")

    def _loop(self) -> None:
        seq = 0
        while True:
            request = self._requests.get()
            if request is None:
                return
            seq += 1
            try:
                result: Detections | BaseException = self.detect(*request)
            except Exception as exc:  # reported to the caller, who fails closed
                result = exc
            self._busy.clear()
            self._results.put((seq, result))
