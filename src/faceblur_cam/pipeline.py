"""The per-frame protecting step: captured frame -> published frame. Pure core.

``ProtectPipeline.process(frame)`` finds what changed since the previous frame
(``faceblur_cam.detect.change``), asks the planner what to detect on this frame
(``faceblur_cam.detect.plan``), detects, tracks, grows the face boxes by the margin and
redacts. It never returns the raw picture: if detection raises (error,
time budget missed), the whole frame is obscured (``FrameKind.OBSCURED``). It opens no device,
starts no thread and reads no clock: time comes with the frame, detection is a callable.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import numpy as np

from faceblur_cam.detect.change import ChangeDetector
from faceblur_cam.detect.jobs import DetectJob
from faceblur_cam.detect.plan import Planner, make_planner
from faceblur_cam.detections import Detections
from faceblur_cam.frames import CapturedFrame, FrameKind, PublishedFrame
from faceblur_cam.geometry import Margin, absorbed_into_others, extend_at_edges, grow, snap_out
from faceblur_cam.keep_me import KeepDecision, KeepMe, track_views
from faceblur_cam.redact import Redactor, obscure_frame, reveal, style_named
from faceblur_cam.track import FaceTracker

log = logging.getLogger(__name__)

DetectFn = Callable[[np.ndarray, list[DetectJob]], Detections]
"""``detect(image, jobs)`` -> faces found by the jobs, in frame pixels; raises when it cannot."""


class ProtectPipeline:
    def __init__(
        self,
        detect: DetectFn,
        tracker: FaceTracker | None = None,
        redactor: Redactor | None = None,
        margin: Margin | None = None,
        planner: Planner | None = None,
        change: ChangeDetector | None = None,
        keep_me: KeepMe | None = None,
    ):
        """``keep_me``: "keep me visible" (``faceblur_cam.keep_me``); absent or off, every face is
        covered and the output is exactly what it is without it."""
        self._detect = detect
        self.tracker = tracker or FaceTracker()
        self.redactor = redactor or Redactor()
        self.margin = margin or Margin()
        self.planner = planner or make_planner("balanced")
        self.change = change or ChangeDetector()
        self.keep_me = keep_me or KeepMe(on=False)
        self._failures = 0
        self._warm = False  # a detection succeeded since the last reset

    @property
    def style(self) -> str:
        return self.redactor.style.name

    def set_style(self, style: str) -> None:
        self.redactor.style = style_named(style)

    def reset(self) -> None:
        """Forget all faces; the next frame is protected like the first (detected before shown)."""
        self.tracker.reset()
        self.planner.reset()
        self.change.reset()
        self.keep_me.reset()
        self._warm = False

    def set_keep_me(self, on: bool) -> None:
        self.keep_me.set_on(on)

    def pick_me(self) -> None:
        self.keep_me.pick()

    def process(self, frame: CapturedFrame) -> PublishedFrame:
        image = frame.image
        h, w = image.shape[:2]
        tracks = self.tracker.predict(frame.t)
        change = self.change.update(image, frame.t, grow(tracks.xyxy, self.margin))
        # "keep me visible" judges the caller by this frame's find: every face is measured
        jobs = self.planner.plan((w, h), tracks, change, every_face=self.keep_me.on)
        try:  # also with no jobs (a still frame the plan lets rest): the detector may add finds of its own (leak watch)
            found = self._detect(image, jobs)
        except Exception as exc:
            self.planner.reset()  # the next frame gets a full first look again
            self.change.reset()
            return self._fail_closed(frame, exc)
        if self._failures:
            log.info("detector recovered after %d obscured frame(s)", self._failures)
            self._failures = 0
        self._warm = True
        # the change map's camera shift is not handed to the tracker yet: during a zoom its
        # translation-only estimate moved a held cover off its face (bench/new_faces.py 03_zoom)
        faces = self.tracker.update(found, frame.t, (w, h), looks(jobs))
        heads = grow(faces.xyxy, self.margin, faces.landmarks)
        regions = snap_out(extend_at_edges(heads, (w, h), faces=faces.xyxy))
        covered = Detections(regions, faces.scores, faces.landmarks, faces.track_ids)
        keep = None
        kept = Detections.empty()
        out = image.copy()
        if self.keep_me.on:
            keep = self._keep_decision(faces, frame.t, change.jump, (w, h))
            if keep.kept_id is not None:
                shown = covered.track_ids == keep.kept_id
                kept, covered = covered[np.flatnonzero(shown)], covered[np.flatnonzero(~shown)]
                if keep.face_only:  # the face alone is shown; the rest of its cover stays
                    out = self.redactor.redact(out, kept.xyxy)
                    face = faces[np.flatnonzero(faces.track_ids == keep.kept_id)]
                    kept = Detections(self.keep_me.face_region(face.xyxy), face.scores, face.landmarks,
                                      face.track_ids)
                    reveal(out, image, kept.xyxy)
        covered = covered[absorbed_into_others(covered.xyxy)]
        out = self.redactor.redact(out, covered.xyxy)
        return PublishedFrame(
            image=out,
            t=frame.t,
            kind=FrameKind.REDACTED,
            regions=covered,
            shape=self.redactor.shape,
            name=frame.name,
            index=frame.index,
            kept=kept,
            keep=keep,
        )

    def _keep_decision(self, faces: Detections, t: float, jump: bool, wh: tuple[int, int]) -> KeepDecision:
        cfg = self.tracker.config
        views = track_views(self.tracker.tracks, faces.xyxy, faces.track_ids, t, cfg.confirm_hits, cfg.weak_score)
        return self.keep_me.update(views, t, jump, wh)

    def close(self) -> None:
        """Release the detector (its thread, when it has one)."""
        close = getattr(self._detect, "close", None)
        if close is not None:
            close()

    def _fail_closed(self, frame: CapturedFrame, exc: Exception) -> PublishedFrame:
        self._failures += 1
        if self._failures == 1 or self._failures % 100 == 0:
            # the thorough first look after a start or resume may miss the budget on a busy
            # machine: expected, so not a warning (the frame is obscured all the same)
            level = logging.WARNING if self._warm else logging.INFO
            log.log(level, "no detection for frame %d (%s): publishing it fully obscured", frame.index, exc)
        self.tracker.update(None, frame.t, (frame.image.shape[1], frame.image.shape[0]))
        self.keep_me.fail(frame.t)
        return PublishedFrame(
            image=obscure_frame(frame.image),
            t=frame.t,
            kind=FrameKind.OBSCURED,
            name=frame.name,
            index=frame.index,
        )


def looks(jobs: list[DetectJob]) -> np.ndarray:
    """``float32 (N, 5)``: each job's crop (x1, y1, x2, y2) and scale, for the tracker."""
    return np.array([[*job.crop, job.scale] for job in jobs], np.float32).reshape(-1, 5)
