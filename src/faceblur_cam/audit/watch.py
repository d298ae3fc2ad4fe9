"""The live leak watch: a second look, with YuNet, at a sample of what is published.

Thread rules: ``offer`` (worker thread, once per published frame) only stores a reference to the
newest published frame and the camera picture it came from (never a copy, never waits); the
watch's own thread, at the lowest priority the OS gives and at most ``max_rate`` times a second,
looks at the newest offered pair; ``take`` (worker thread, inside detection) hands over what it
saw, so the tracker covers it from the next published frame on; the boxes of the newest look are
kept until the next look (handed over again when the watch is starved of CPU). Nothing else about
a face is kept: no image, only the count and the time of each find (logged).
``close`` stops the thread and joins it (or leaves a slow look to finish before the process exits).

What is handed over: every face YuNet sees on the camera picture, covered or not, except the
caller's face that "keep me visible" leaves visible on purpose. A find (a
leak, counted and logged) is one the published frame shows with its detail. The covered ones
are handed over too: a face the main detector keeps missing is held by the tracker only as long
as something keeps seeing it, and without these the watch's own cover would end after the
tracker's hold (half a second) and the face would show again until the watch's next find.

``WatchedPipeline`` is a ``ProtectPipeline`` with a watch: its published frames are offered to
the watch, and the watch's finds join its detections (so the tracker holds them like any face).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from faceblur_cam.audit.auditor import judged_box
from faceblur_cam.audit.detail import DETAIL_MIN, detail_score
from faceblur_cam.detect import FaceDetector
from faceblur_cam.detect.jobs import DetectJob
from faceblur_cam.detections import Detections
from faceblur_cam.frames import CapturedFrame, FrameKind, PublishedFrame
from faceblur_cam.geometry import iou_matrix
from faceblur_cam.native_threads import join_or_leave
from faceblur_cam.pipeline import ProtectPipeline

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class WatchConfig:
    threshold: float = 0.8  # YuNet score
    long_side: int = 640
    min_face_px: float = 16.0
    detail_min: float = DETAIL_MIN
    max_rate: float = 10.0  # looks per second at most (fewer when the machine is busy)
    restate_s: float = 0.4  # no new look for this long: the last look's faces are handed over again


class LeakWatch:
    """See the module docstring. ``on_find(box_xywh, t)`` is called on the watch thread."""

    close_timeout_s = 2.0  # how long ``close`` waits for a look in progress

    def __init__(self, detector: FaceDetector, config: WatchConfig | None = None,
                 on_find: Callable[[list[int], float], None] | None = None):
        self.detector = detector
        self.config = config or WatchConfig()
        self.on_find = on_find
        self.checked = 0
        self.found = 0
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._newest: tuple[PublishedFrame, np.ndarray] | None = None
        self._finds: list[Detections] = []
        self._latest = Detections.empty()  # what the newest look saw (empty: nothing, or not looked yet)
        self._handed_at = 0.0  # when a look's faces were last handed over (monotonic)
        self._thread = threading.Thread(target=self._run, name="faceblur-leak-watch", daemon=True)
        self._thread.start()

    @property
    def summary(self) -> str:
        return f"Leak watch: {self.found:,} in {self.checked:,} frames checked"

    def offer(self, frame: PublishedFrame, camera: np.ndarray) -> None:
        """``frame`` as published, ``camera`` the picture it was made from (BGR, same size)."""
        if frame.kind is not FrameKind.REDACTED:  # obscured frames and cards show no face
            return
        with self._lock:
            self._newest = (frame, camera)
        self._wake.set()

    def take(self) -> Detections:
        """What the watch saw since the last call. When it has not looked for ``restate_s`` (a busy
        machine starves its low-priority thread), what its newest look saw is handed over again:
        the tracker holds a face only half a second, and a face only the watch sees would
        otherwise show again until the watch gets its next turn."""
        now = time.monotonic()
        with self._lock:
            finds, self._finds = self._finds, []
            if not finds and len(self._latest) and now - self._handed_at >= self.config.restate_s:
                finds = [self._latest]
            if finds:
                self._handed_at = now
        return Detections.concat(finds)

    def close(self) -> None:
        """Stop the watch; waits up to ``close_timeout_s`` for a look in progress, then leaves it
        to finish before the process exits (an exit with the thread inside OpenCV or onnxruntime
        aborts the process: "FATAL: exception not rethrown", exit -6, seen on an emulated CPU)."""
        self._stop.set()
        self._wake.set()
        join_or_leave(self._thread, self.close_timeout_s, "the leak watch's current look")

    def check(self, frame: PublishedFrame, camera: np.ndarray | None = None) -> tuple[Detections, Detections]:
        """(the faces YuNet sees on ``camera``, those of them ``frame`` shows with their detail).
        Without ``camera`` the published frame is searched (then only uncovered faces are seen)."""
        cfg = self.config
        found = self.detector.detect(frame.image if camera is None else camera, long_side=cfg.long_side)
        if not len(found):
            return found, found
        sure = [i for i in range(len(found))
                if found.scores[i] >= cfg.threshold and float(found.wh[i].min()) >= cfg.min_face_px]
        caller = _the_kept_face(found, sure, frame.kept.xyxy)
        seen = found[[i for i in sure if i != caller]]
        shown = [i for i in range(len(seen))
                 if detail_score(frame.image, judged_box(seen.xyxy[i], seen.landmarks[i])) >= cfg.detail_min]
        return seen, seen[shown]

    def _run(self) -> None:
        _lowest_priority()
        interval = 1.0 / self.config.max_rate
        while not self._stop.is_set():
            self._wake.wait()
            self._wake.clear()
            with self._lock:
                newest, self._newest = self._newest, None
            if newest is None or self._stop.is_set():
                continue
            frame, camera = newest
            try:
                seen, leaks = self.check(frame, camera)
            except Exception:  # the watch is a safety net: it must never take the daemon down
                log.exception("leak watch: the check failed")
                continue
            with self._lock:
                self._latest = seen
                if len(seen):
                    self._finds.append(seen)
                    self._handed_at = time.monotonic()
            if len(leaks):
                self.found += len(leaks)
                for box in leaks.to_xywh():
                    log.warning("leak watch: an uncovered face at %s on the frame of t=%.2f s; covered from the "
                                "next frame on", box, frame.t)
                    if self.on_find is not None:
                        self.on_find(box, frame.t)
            self.checked += 1  # last: a look counted as checked is handed over, counted and told
            self._stop.wait(interval)


def _the_kept_face(found: Detections, candidates: list[int], kept: np.ndarray) -> int | None:
    """Which of ``found`` (indices ``candidates``) is the caller that "keep me visible" shows on
    purpose (no leak; the main path follows it already): of the faces centred in the kept
    region, the one that overlaps it most. Only one: another face there is handed over like any
    other, so the tracker sees it and "keep me visible" covers the caller too."""
    if not len(kept) or not candidates:
        return None
    box = kept[0]
    inside = [i for i in candidates
              if bool(((box[:2] <= found.centers[i]) & (found.centers[i] <= box[2:])).all())]
    if not inside:
        return None
    overlap = iou_matrix(found.xyxy[inside], box[None, :])[:, 0]
    return inside[int(np.argmax(overlap))]


SAME_FACE_IOU = 0.4  # a watch find overlapping a face the main detector found this much is that face


def _not_found_again(extra: Detections, found: Detections) -> Detections:
    """The watch's finds that are not a face the main detector found on this frame too. The two
    detectors box the same face slightly differently (IoU about 0.9): handed over both, the
    tracker would start a second track on the face, which "keep me visible" takes for someone
    beside the caller (so the caller stays covered) and which doubles every cover."""
    if not len(extra) or not len(found):
        return extra
    return extra[iou_matrix(extra.xyxy, found.xyxy).max(axis=1) < SAME_FACE_IOU]


def _lowest_priority() -> None:
    """Nice 19 for this thread (Linux: threads have their own nice value); elsewhere nothing."""
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 19)
    except (AttributeError, OSError) as exc:
        log.debug("leak watch: cannot lower the thread priority: %s", exc)


class WatchedDetect:
    """The pipeline's ``detect(image, jobs)`` plus what the watch found since the last call."""

    def __init__(self, detect: Callable[[np.ndarray, list[DetectJob]], Detections], watch: LeakWatch):
        self._detect = detect
        self.watch = watch

    def __call__(self, image: np.ndarray, jobs: list[DetectJob]) -> Detections:
        found = self._detect(image, jobs)
        extra = _not_found_again(self.watch.take(), found)
        return Detections.concat([found, extra]) if len(extra) else found

    def close(self) -> None:
        close = getattr(self._detect, "close", None)
        if close is not None:
            close()


class WatchedPipeline(ProtectPipeline):
    """A ``ProtectPipeline`` whose published frames the watch looks at and whose detections
    include the watch's finds (``detect`` is wrapped in ``WatchedDetect``)."""

    def __init__(self, detect: Callable[[np.ndarray, list[DetectJob]], Detections], watch: LeakWatch,
                 **parts: Any):
        super().__init__(WatchedDetect(detect, watch), **parts)
        self.watch = watch

    def process(self, frame: CapturedFrame) -> PublishedFrame:
        published = super().process(frame)
        self.watch.offer(published, frame.image)
        return published

    def close(self) -> None:
        self.watch.close()
        log.info("%s", self.watch.summary)
        super().close()
