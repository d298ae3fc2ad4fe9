"""Tracking: keep every face found covered through short misses. Pure: no clock, no I/O.

``FaceTracker.update(detections, t)`` is called once per published frame with that frame's
time. ``detections`` is what the detector found on *this* frame, or ``None`` when the detector
did not run on it (then tracks are predicted). The result (a ``Detections``) is the set of face
boxes to cover on this frame:

- a new detection is returned on the very frame it is found (no confirmation delay);
- a matched track returns the detection box of this frame (masks belong to the frame); a find
  that overlaps no track's predicted box enough (``match_iou``) is matched by distance only when
  it is sure (``match_far_score``) or the track was last found unsure too: an unsure find beside
  a face found surely on its last frame (a part of it, a hand, a face behind it) took that face's
  cover off it (bench/new_faces.py 10_walk: a 120 px face present from the start exposed for a
  frame); it gets a cover of its own instead;
- an unmatched track is predicted with its velocity and with the camera's own motion (``shift``:
  what the change map measured between the previous frame and this one) and returned, grown with
  the time it has been unseen (``growth_per_s`` of its size per second, at most ``max_growth``
  per side), for ``hold_s`` seconds (``edge_hold_s`` when it was leaving through an edge); a
  face seen on the last frame that no look of this frame touched at all (the planner let its
  whole-frame look rest) and that moves less than ``rest_max_move`` of its size a frame is only
  moved, not grown: nothing missed it (growing it made the close-up covers 1.52x the head
  instead of 1.50x, bench/covers.py);
- covers follow faces instead of piling up: when the detector looked closely at an unmatched
  track's place (``looked``: the crops and scales of this frame's detection jobs) and found
  nothing, its cover shrinks back towards the face size and ends after ``miss_end_s``; a track born
  from a single detection ends at the first such miss; a held cover that lies mostly inside
  another cover is merged into it when that one's face was found on this frame at least as
  surely; inside a held or weaker cover it is only not returned on that frame (absorbed) and its
  track goes on: the other cover may end first, and the face is then covered again (dropping it
  let a room face show for 4 frames, bench/keep_me.py walk_behind with the mode off);
- a place where a close look found nothing at a weakly seen track (best score below
  ``doubt_score``) away from the frame's edges is doubted for ``doubt_s``: weak finds there are
  ignored unless a close look made them (the coarse whole-frame look finds the same hand or bag
  again on every frame, while the close looks take turns between the tracks); any find at
  ``doubt_score`` or more, or a close look's find there, ends the doubt. With ``run_jobs``'
  ``overrule`` this took the covered regions per face on the new-face scenes from 2.03 to 1.66
  (seed 0), 1.93 to 1.63 (seed 1) and 1.88 to 1.78 (seed 2), with no face of 40 px or more
  exposed and no leak on the eval videos or otb_small.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

import numpy as np

from faceblur_cam.detect.balanced import PlanConfig
from faceblur_cam.detect.jobs import CLOSE_PX, WEAK_SCORE
from faceblur_cam.detections import Detections
from faceblur_cam.geometry import inside_share, iou_matrix, longest_side

_PLAN = PlanConfig()


@dataclass(frozen=True)
class TrackerConfig:
    hold_s: float = 1.5  # unseen face in the picture: keep covering this long
    edge_hold_s: float = 0.4  # unseen face last seen touching the frame edge
    growth_per_s: float = 0.6  # unseen box grows by this fraction of its size per second
    max_growth: float = 0.3  # ... up to this fraction per side
    missed_growth: float = 0.15  # ... or this, once a close look found nothing there
    miss_end_s: float = 0.5  # close looks found nothing there for this long: the cover ends
    min_look_px: float = 16.0  # a look is close when the face is at least this tall in its input
    max_predict_s: float = 0.2  # motion is extrapolated for at most this long
    merge_overlap: float = 0.6  # a held cover this much inside another held cover merges into it
    merge_seen: float = 0.4  # ... or this much inside a cover of a face found on this frame
    weak_score: float = 0.35  # a track seen only with scores below this is tentative ...
    confirm_hits: int = 3  # ... until it has been found on this many frames
    weak_max_height: float = 0.4  # ... and one taller than this share of the frame is not a face
    shrink_per_s: float = 1.5  # a face box shrinks at most this fraction per second (profile turns)
    doubt_s: float = 1.0  # a close look found nothing at a weak track: weak finds there are ignored this long
    doubt_score: float = WEAK_SCORE  # ... weak: below this score (run_jobs' coarse guesses)
    doubt_look_px: float = CLOSE_PX  # ... unless a look saw them this tall (run_jobs' close look made them)
    doubt_iou: float = 0.3  # ... there: overlapping the doubted box this much
    rest_max_move: float = 0.05  # seen on the last frame, untouched by any look, moving less than this
    # share of its size a frame, and at least rest_min_share of the frame's long side: moved, not grown
    rest_min_share: float = _PLAN.roi_skip_px / _PLAN.low_side  # the faces the whole-frame look measures
    match_iou: float = 0.2
    match_distance: float = 1.0  # or centres closer than this many box sizes ...
    match_size_ratio: float = 2.0  # ... and sizes within this factor of each other ...
    match_far_score: float = WEAK_SCORE  # ... for a detection this sure, or a track last seen less sure
    velocity_smoothing: float = 0.5  # weight of the newest velocity measurement
    max_speed: float = 30.0  # clamp: box sizes per second


class CoverState(Enum):
    """What a track's cover is doing on a frame."""

    SEEN = "seen"  # found on this frame: the cover is this frame's detection box
    HELD = "held"  # not found, no close look there: predicted and grown with the uncertainty
    MISSED = "missed"  # close looks found nothing there: grows less (shrinks back), ends soon


@dataclass
class Track:
    track_id: int
    xyxy: np.ndarray  # last measured box
    t: float  # time of the last measurement
    score: float
    landmarks: np.ndarray
    velocity: np.ndarray = field(default_factory=lambda: np.zeros(4, np.float32))  # px/s per coord, in the scene
    speed: float = 0.0  # smoothed largest |velocity| (px/s): how far the face may go while unseen
    camera: np.ndarray = field(default_factory=lambda: np.zeros(2, np.float32))  # camera shift since ``t`` (px)
    at_edge: bool = False
    hits: int = 1  # frames on which the detector found this face
    best_score: float = 0.0
    missed_since: float | None = None  # first of the close looks in a row that found nothing

    def state(self, t: float) -> CoverState:
        if self.t == t:
            return CoverState.SEEN
        return CoverState.HELD if self.missed_since is None else CoverState.MISSED

    def moved_box(self, t: float, config: TrackerConfig) -> np.ndarray:
        """The last box moved with the face's own velocity and the camera's motion since."""
        dt = max(0.0, t - self.t)
        return np.asarray(self.xyxy + self.velocity * min(dt, config.max_predict_s) + np.tile(self.camera, 2),
                          np.float32)

    def predict(self, t: float, config: TrackerConfig) -> np.ndarray:
        """The cover at ``t``: the moved box, grown per side by the time unseen x ``growth_per_s`` of
        its size, at most ``max_growth`` (``missed_growth`` once missed)."""
        box = self.moved_box(t, config)
        state = self.state(t)
        if state is CoverState.SEEN:
            return box
        dt = max(0.0, t - self.t)
        wh = np.maximum(box[2:] - box[:2], 0.0)
        limit = config.missed_growth if state is CoverState.MISSED else config.max_growth
        # the measured speed (``self.speed``) is kept but not added: adding it to the allowance made
        # fast covers reach ``max_growth`` sooner and raised the largest altered share (bench/new_faces.py)
        pad = np.minimum(limit, config.growth_per_s * dt) * wh
        return np.concatenate([box[:2] - pad, box[2:] + pad]).astype(np.float32)

    def tentative(self, config: TrackerConfig) -> bool:
        """Seen only weakly, on fewer than ``confirm_hits`` frames: maybe texture, not a face."""
        return self.hits < config.confirm_hits and max(self.score, self.best_score) < config.weak_score


class FaceTracker:
    """See the module docstring. Not thread-safe; one per pipeline."""

    def __init__(self, config: TrackerConfig | None = None, frame_wh: tuple[int, int] | None = None):
        self.config = config or TrackerConfig()
        self.frame_wh = frame_wh
        self._tracks: list[Track] = []
        self._next_id = 0
        self._doubted: list[tuple[np.ndarray, float]] = []  # (box, time): a close look found nothing there
        self._last_t: float | None = None  # time of the last update

    def reset(self) -> None:
        self._tracks = []
        self._doubted = []
        self._last_t = None

    @property
    def tracks(self) -> list[Track]:
        return list(self._tracks)

    def predict(self, t: float) -> Detections:
        """Where the current tracks are expected at ``t`` (no state change)."""
        boxes = [tr.predict(t, self.config) for tr in self._tracks]
        if not boxes:
            return Detections.empty()
        return Detections(np.array(boxes, np.float32), np.array([tr.score for tr in self._tracks]),
                          track_ids=np.array([tr.track_id for tr in self._tracks]))

    def update(self, detections: Detections | None, t: float, frame_wh: tuple[int, int] | None = None,
               looked: np.ndarray | None = None, shift: tuple[float, float] | None = None) -> Detections:
        """``looked``: ``float32 (M, 5)`` crops (x1, y1, x2, y2) and scales (network pixels per frame
        pixel) the detector looked at on this frame; ``None`` when it did not run. ``shift``: how far
        the picture moved (dx, dy, frame pixels) since the previous frame (``Change.shift``)."""
        if frame_wh is not None:
            self.frame_wh = frame_wh
        cfg = self.config
        self._tracks = [tr for tr in self._tracks if t - tr.t <= (cfg.edge_hold_s if tr.at_edge else cfg.hold_s)]
        self._doubted = [(box, since) for box, since in self._doubted if t - since <= cfg.doubt_s]
        if detections is not None and len(detections) and self._doubted:
            detections = self._trusted(detections, looked)
        if shift is not None:
            for tr in self._tracks:
                tr.camera = (tr.camera + np.asarray(shift, np.float32)).astype(np.float32)
        predicted = np.array([tr.predict(t, cfg) for tr in self._tracks], np.float32).reshape(-1, 4)
        if looked is not None:
            self._rest_held(predicted, looked, t)
        self._last_t = t
        out_boxes: list[np.ndarray] = []
        out_scores: list[float] = []
        out_ids: list[int] = []
        out_landmarks: list[np.ndarray] = []
        matched: set[int] = set()
        if detections is not None and len(detections):
            pairs = self._associate(predicted, detections.xyxy, detections.scores)
            matched_dets = set()
            for ti, di in pairs:
                self._correct(self._tracks[ti], detections, di, t)
                matched_dets.add(di)
                matched.add(ti)
            for di in range(len(detections)):
                if di not in matched_dets and not self._implausible(detections, di):
                    self._tracks.append(self._new_track(detections, di, t))
        absorbed: set[int] = set()  # ids of held covers hidden inside another on this frame
        if detections is not None and looked is not None:
            predicted, absorbed = self._forget_missed(predicted, matched, looked, t)
        for i, tr in enumerate(self._tracks):
            if tr.track_id in absorbed:
                continue
            if tr.t == t:  # measured on this frame (matched or new)
                box, lms = tr.xyxy, tr.landmarks
            else:  # predicted: carry the last landmarks along with the box
                box = predicted[i] if i < len(predicted) else tr.xyxy
                shift = (box[:2] + box[2:]) / 2 - (tr.xyxy[:2] + tr.xyxy[2:]) / 2
                lms = tr.landmarks + shift
            out_boxes.append(box)
            out_scores.append(tr.score)
            out_ids.append(tr.track_id)
            out_landmarks.append(lms)
        if not out_boxes:
            return Detections.empty()
        return Detections(np.array(out_boxes), np.array(out_scores), np.array(out_landmarks), np.array(out_ids))

    # -------------------------------------------------------------- internals
    def _forget_missed(self, predicted: np.ndarray, matched: set[int], looked: np.ndarray,
                       t: float) -> tuple[np.ndarray, set[int]]:
        """Apply close looks that found nothing to the unmatched tracks (see the module docstring);
        returns the predicted boxes of the tracks that remain (new tracks are appended after) and
        the ids of the held covers not returned on this frame (``_merge_held``)."""
        cfg = self.config
        keep = []
        for i, tr in enumerate(self._tracks):
            if i >= len(predicted) or i in matched:
                keep.append(i)
                continue
            if _looked_closely(predicted[i], looked, cfg.min_look_px):
                if tr.missed_since is None:
                    tr.missed_since = t
                if self._doubtful(tr) and _looked_closely(predicted[i], looked, cfg.doubt_look_px):
                    self._doubted.append((predicted[i].copy(), t))
                if tr.tentative(cfg) or t - tr.missed_since >= cfg.miss_end_s:
                    continue
                predicted[i] = tr.predict(t, cfg)  # shrunk back: no growth once missed
            keep.append(i)
        keep, absorbed = self._merge_held(keep, predicted, matched)
        self._tracks = [self._tracks[i] for i in keep]
        return predicted[[i for i in keep if i < len(predicted)]], absorbed

    def _merge_held(self, keep: list[int], predicted: np.ndarray, matched: set[int]) -> tuple[list[int], set[int]]:
        """Held (unmatched) covers that lie mostly inside another returned cover at least as large
        as their face was last found: dropped when that cover's face was found on this frame at
        least as surely (the same face, seen again at another scale), else only not returned
        (absorbed: a held or weak cover may end before this face's hold would). Returns the
        indices kept and the track ids absorbed."""
        n = len(predicted)
        # a face found on this frame is covered where it was found, not where it was predicted
        boxes = {i: (predicted[i] if i < n and i not in matched else self._tracks[i].xyxy) for i in keep}
        dropped: set[int] = set()
        absorbed: set[int] = set()
        # the least recently seen held tracks go first
        for i in sorted((i for i in keep if i < n and i not in matched), key=lambda k: self._tracks[k].t):
            for j in keep:
                if j == i or j in dropped or self._tracks[j].track_id in absorbed:  # only into a cover returned
                    continue
                limit = self.config.merge_overlap if j < n and j not in matched else self.config.merge_seen
                # a smaller box (a part of the face found weakly) cannot stand in for the face's cover
                if longest_side(boxes[j]) < longest_side(self._tracks[i].xyxy):
                    continue
                if inside_share(boxes[i], boxes[j]) >= limit:
                    inner, outer = self._tracks[i], self._tracks[j]
                    seen = j >= n or j in matched  # the outer face found on this frame
                    if seen and outer.score >= min(inner.best_score, self.config.weak_score):
                        dropped.add(i)
                    else:
                        absorbed.add(inner.track_id)
                    break
        return [i for i in keep if i not in dropped], absorbed

    def _rest_held(self, predicted: np.ndarray, looked: np.ndarray, t: float) -> None:
        """A face the whole-frame look measures (``rest_min_share``) seen on the last frame that no
        look of this frame touched (the planner let that look rest: nothing could have missed it)
        and that moves less than ``rest_max_move`` of its size a frame: moved with its velocity,
        not grown. Smaller faces (the close looks' business) grow as before."""
        if self._last_t is None or self.frame_wh is None:
            return
        cfg = self.config
        for i, tr in enumerate(self._tracks):
            if tr.t != self._last_t or t <= tr.t:
                continue
            size = longest_side(tr.xyxy)
            touched = np.any(iou_matrix(predicted[i][None], looked[:, :4])[0] > 0)
            if size >= cfg.rest_min_share * max(self.frame_wh) and not touched \
                    and tr.speed * (t - tr.t) <= cfg.rest_max_move * size:
                predicted[i] = tr.moved_box(t, cfg)

    def _doubtful(self, tr: Track) -> bool:
        """Seen only weakly, away from the frame's edges (a face coming in through an edge is
        partly outside, and a close look may miss what is left of it)."""
        return tr.best_score < self.config.doubt_score and not tr.at_edge

    def _trusted(self, detections: Detections, looked: np.ndarray | None) -> Detections:
        """``detections`` without the weak ones in a doubted place that no close look made; a
        strong find, or a close look's find, in a doubted place ends the doubt there."""
        cfg = self.config
        doubted = np.array([box for box, _ in self._doubted], np.float32).reshape(-1, 4)
        overlap = iou_matrix(detections.xyxy, doubted) > cfg.doubt_iou
        ignore = np.zeros(len(detections), bool)
        cleared = np.zeros(len(doubted), bool)
        for k in np.flatnonzero(overlap.any(axis=1)):
            close = looked is not None and _looked_closely(detections.xyxy[k], looked, cfg.doubt_look_px)
            if detections.scores[k] >= cfg.doubt_score or close:
                cleared |= overlap[k]
            else:
                ignore[k] = True
        self._doubted = [d for d, gone in zip(self._doubted, cleared) if not gone]
        return detections[np.flatnonzero(~ignore)]

    def _associate(self, predicted: np.ndarray, boxes: np.ndarray, scores: np.ndarray) -> list[tuple[int, int]]:
        """Greedy matching by IoU, then by centre distance relative to box size (a detection
        below ``match_far_score`` only to a track last seen below it too)."""
        if len(predicted) == 0:
            return []
        iou = iou_matrix(predicted, boxes)
        pc = (predicted[:, :2] + predicted[:, 2:]) / 2
        bc = (boxes[:, :2] + boxes[:, 2:]) / 2
        size_p = np.maximum(np.max(predicted[:, 2:] - predicted[:, :2], axis=1), 1.0)
        size_b = np.maximum(np.max(boxes[:, 2:] - boxes[:, :2], axis=1), 1.0)
        dist = np.linalg.norm(pc[:, None, :] - bc[None, :, :], axis=2) / size_p[:, None]
        ratio = np.maximum(size_p[:, None] / size_b[None, :], size_b[None, :] / size_p[:, None])
        # an unsure find is taken for a face by distance only when that face was last seen unsure
        # too (it fades, turns away); beside a face found surely it is a part of it, a hand, a face
        # behind it (bench/new_faces.py 10_walk)
        far = self.config.match_far_score
        last = np.array([tr.score for tr in self._tracks], np.float32)[:len(predicted)]
        sure = (np.asarray(scores)[None, :] >= far) | (last[:, None] < far)
        near = (dist <= self.config.match_distance) & (ratio <= self.config.match_size_ratio) & sure
        # An unmatched detection starts a new track and an unmatched track is held, so a doubtful
        # match costs only some over-redaction; a wrong one would move the cover off the face.
        cost = np.where(iou >= self.config.match_iou, 1 - iou, np.where(near, 1 + dist, np.inf))
        pairs: list[tuple[int, int]] = []
        while np.isfinite(cost).any():
            ti, di = np.unravel_index(int(np.argmin(cost)), cost.shape)
            pairs.append((int(ti), int(di)))
            cost[ti, :] = np.inf
            cost[:, di] = np.inf
        return pairs

    def _implausible(self, detections: Detections, di: int) -> bool:
        """A weak detection as tall as much of the picture is texture, not a face."""
        if self.frame_wh is None or detections.scores[di] >= self.config.weak_score:
            return False
        box = detections.xyxy[di]
        return bool(box[3] - box[1] > self.config.weak_max_height * self.frame_wh[1])

    def _correct(self, track: Track, detections: Detections, di: int, t: float) -> None:
        box = detections.xyxy[di]
        dt = t - track.t
        # a head keeps its size when it turns: the box shrinks only gradually
        keep = max(0.0, 1.0 - self.config.shrink_per_s * max(dt, 0.0))
        wh = np.maximum(box[2:] - box[:2], (track.xyxy[2:] - track.xyxy[:2]) * keep)
        centre = (box[:2] + box[2:]) / 2
        box = np.concatenate([centre - wh / 2, centre + wh / 2]).astype(np.float32)
        if dt > 0:  # the face's own motion: the camera's is measured apart (``shift``)
            measured = (box - track.xyxy - np.tile(track.camera, 2)) / dt
            size = float(np.max(box[2:] - box[:2]))
            limit = self.config.max_speed * size
            measured = np.clip(measured, -limit, limit)
            a = self.config.velocity_smoothing
            track.velocity = (a * measured + (1 - a) * track.velocity).astype(np.float32)
            track.speed = float(a * np.max(np.abs(measured)) + (1 - a) * track.speed)
        track.camera = np.zeros(2, np.float32)
        track.xyxy = box.copy()
        track.t = t
        track.score = float(detections.scores[di])
        track.landmarks = detections.landmarks[di].copy()
        track.at_edge = self._touches_edge(box)
        track.hits += 1
        track.best_score = max(track.best_score, track.score)
        track.missed_since = None

    def _new_track(self, detections: Detections, di: int, t: float) -> Track:
        self._next_id += 1
        box = detections.xyxy[di].copy()
        score = float(detections.scores[di])
        return Track(self._next_id, box, t, score, detections.landmarks[di].copy(),
                     at_edge=self._touches_edge(box), best_score=score)

    def _touches_edge(self, box: np.ndarray) -> bool:
        if self.frame_wh is None:
            return False
        w, h = self.frame_wh
        pad = 0.02 * max(w, h)
        return bool(box[0] <= pad or box[1] <= pad or box[2] >= w - pad or box[3] >= h - pad)


def _looked_closely(box: np.ndarray, looked: np.ndarray, min_px: float) -> bool:
    """Whether one of the looks saw all of ``box`` at a scale where the face is ``min_px`` tall."""
    if not len(looked):
        return False
    inside = (looked[:, 0] <= box[0] + 1) & (looked[:, 1] <= box[1] + 1) \
        & (looked[:, 2] >= box[2] - 1) & (looked[:, 3] >= box[3] - 1)
    size = float(max(box[2] - box[0], box[3] - box[1]))
    return bool(np.any(inside & (looked[:, 4] * size >= min_px)))
