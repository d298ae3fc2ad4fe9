"""One frame in, its suspects out. Pure given the detectors: no I/O, no clock, no threads.

A *suspect* is a face that one of the detectors finds (anywhere, at any scale of the search)
whose box still carries detail (``detail.has_detail``): a covered face may still look like a
face to a detector, but it has no detail left, so it does not count.

A find must also stand a *closer look* (``Auditor.confirmed``): the region around it, enlarged,
is looked at again by both detectors, and one of them must find a face there at its own closer
threshold. Hands, phones, scarves and the edge of a cover that a detector takes for a face at
the search's scale mostly fail it; faces, even small and blurred ones, mostly pass. Chosen on the
dev half of ``bench/audit.py`` (false suspects on FaceBlur Cam's output 12 -> 3 in 1,060 frames,
recall on raw faces 95.6 -> 96.0 %); the holdout half checks it.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from faceblur_cam.audit.detail import DETAIL_MIN, INNER, SIDE_MIN, detail_score, points_detail, side_detail
from faceblur_cam.audit.search import search_jobs
from faceblur_cam.detect import FaceDetector
from faceblur_cam.detect.jobs import run_jobs
from faceblur_cam.detections import Detections
from faceblur_cam.geometry import iou_matrix

DETECTORS = ("centerface", "yunet")


@dataclass(frozen=True)
class AuditConfig:
    centerface_threshold: float = 0.4
    yunet_threshold: float = 0.8
    detail_min: float = DETAIL_MIN
    min_face_px: float = 16.0  # boxes less tall and wide than this are not recognisable faces
    same_face_iou: float = 0.3  # both detectors on one face: one suspect
    # the closer look: the find's box grown by this share of its long side at each side, looked
    # at with its long side at each of these sizes; a face counts there when its centre lies
    # within ``closer_offset`` of the box's size from the find's centre
    closer_margin: float = 0.5
    closer_sides: tuple[int, ...] = (192, 256)
    closer_offset: float = 0.35
    closer_centerface: float = 0.35
    closer_yunet: float = 0.9


@dataclass(frozen=True)
class Suspect:
    """A face that may still be recognisable: ``box`` is ``[x, y, w, h]`` in frame pixels."""

    frame: int
    time: float
    box: tuple[int, int, int, int]
    score: float
    detector: str

    def to_json(self) -> dict[str, object]:
        return {"frame": self.frame, "time": round(self.time, 3), "box": list(self.box),
                "score": round(self.score, 4), "detector": self.detector}


@dataclass(frozen=True)
class Look:
    """What each detector found on one frame (``faces``) and which of those carry detail and stand
    the closer look (``uncovered``)."""

    faces: Mapping[str, Detections]
    uncovered: Mapping[str, Detections]


class Auditor:
    """``look(image)`` -> ``Look``; ``suspects(image, frame, time)`` -> ``[Suspect]``.

    ``detectors`` maps a name ("centerface", "yunet") to a ``FaceDetector``; each runs every
    search job. Not thread-safe (the detectors are not).
    """

    def __init__(self, detectors: Mapping[str, FaceDetector], config: AuditConfig | None = None):
        self.detectors = dict(detectors)
        self.config = config or AuditConfig()

    def look(self, image: np.ndarray) -> Look:
        h, w = image.shape[:2]
        jobs = search_jobs((w, h))
        faces: dict[str, Detections] = {}
        uncovered: dict[str, Detections] = {}
        for name, detector in self.detectors.items():
            found = run_jobs(functools.partial(_detect, detector), image, jobs)
            if len(found):
                found = found[np.flatnonzero((found.wh.max(axis=1) >= self.config.min_face_px)
                                             & (found.scores >= self._threshold(name)))]
            faces[name] = found
            keep = [i for i in range(len(found))
                    if face_detail(image, found.xyxy[i], found.landmarks[i]) >= self.config.detail_min
                    and self.confirmed(image, found.xyxy[i])]
            uncovered[name] = found[keep]
        return Look(faces, uncovered)

    def confirmed(self, image: np.ndarray, xyxy: np.ndarray) -> bool:
        """Does a closer look at ``xyxy`` (frame pixels) still find a face there? The box grown by
        ``closer_margin`` of its long side at each side (clipped to the frame) is looked at by
        each detector at each of ``closer_sides``; a face centred near the box's centre at the
        detector's closer threshold confirms it."""
        cfg = self.config
        h, w = image.shape[:2]
        x1, y1, x2, y2 = (float(v) for v in xyxy)
        grow = cfg.closer_margin * max(x2 - x1, y2 - y1)
        cx1, cy1 = int(max(0, x1 - grow)), int(max(0, y1 - grow))
        cx2, cy2 = int(min(w, x2 + grow)), int(min(h, y2 + grow))
        if cx2 - cx1 < 4 or cy2 - cy1 < 4:
            return False
        crop = image[cy1:cy2, cx1:cx2]
        centre = np.array([(x1 + x2) / 2 - cx1, (y1 + y2) / 2 - cy1])
        reach = cfg.closer_offset * np.array([x2 - x1, y2 - y1])
        for name, detector in self.detectors.items():
            least = cfg.closer_yunet if name == "yunet" else cfg.closer_centerface
            for side in cfg.closer_sides:
                found = detector.detect(crop, long_side=side)
                near = np.all(np.abs(found.centers - centre) < reach, axis=1) if len(found) else []
                if np.any(found.scores[near] >= least):
                    return True
        return False

    def suspects(self, image: np.ndarray, frame: int, time: float) -> list[Suspect]:
        """The uncovered faces of both detectors, one per face (the higher score of the two)."""
        look = self.look(image)
        picked: list[tuple[np.ndarray, float, str]] = []
        for name, found in look.uncovered.items():
            for box, score in zip(found.xyxy, found.scores):
                same = [k for k, (b, _, _) in enumerate(picked)
                        if iou_matrix(b[None], box[None])[0, 0] > self.config.same_face_iou]
                if not same:
                    picked.append((box, float(score), name))
                elif score > picked[same[0]][1]:
                    picked[same[0]] = (box, float(score), name)
        out = []
        for box, score, name in picked:
            xywh = Detections(box[None], np.array([score])).to_xywh()[0]
            out.append(Suspect(frame, time, (xywh[0], xywh[1], xywh[2], xywh[3]), score, name))
        return out

    def _threshold(self, name: str) -> float:
        return self.config.yunet_threshold if name == "yunet" else self.config.centerface_threshold


def face_detail(image: np.ndarray, xyxy: np.ndarray, landmarks: np.ndarray) -> float:
    """How much detail a found face still shows: ``detail_score`` of its ``judged_box`` and, when
    the detector gave landmarks, no more than the detail around either eye (``points_detail``).

    A detector often finds a covered face with a box that reaches past the cover's edge into a
    detailed background; the middle of such a box mixes the smooth cover with that background and
    can score as detail. The eyes of a face that is really visible both carry detail; those of a
    covered face sit in the cover (and a box shifted across the cover's edge mostly has at least
    one eye in it). When both eyes sit on the detailed side of such an edge, the other half of the
    box is smooth: a face with one smooth side (``side_detail`` below ``SIDE_MIN``) shows none."""
    judged = judged_box(xyxy, landmarks)
    score = detail_score(image, judged)
    if np.all(np.isfinite(landmarks)):
        score = min(score, points_detail(image, judged, landmarks[:2]))
    side = side_detail(image, judged)
    return min(score, side) if side < SIDE_MIN else score


def judged_box(xyxy: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
    """Where the detail of a found face is judged: around its eyes, nose and mouth when the
    detector gave them (a box around a covered face often reaches into a detailed collar or
    background; the landmarks of a covered face sit in the cover), else the box itself."""
    if not np.all(np.isfinite(landmarks)):
        return xyxy
    lo, hi = landmarks.min(axis=0), landmarks.max(axis=0)
    size = max(float(np.max(hi - lo)), 0.25 * float(np.max(xyxy[2:] - xyxy[:2])))
    centre = (lo + hi) / 2
    half = 0.5 * size / (1 - 2 * INNER)  # the judged middle spans the landmarks
    return np.array([centre[0] - half, centre[1] - half, centre[0] + half, centre[1] + half], np.float32)


def _detect(detector: FaceDetector, crop: np.ndarray, side: int) -> Detections:
    return detector.detect(crop, long_side=side)


def load_auditor(config: AuditConfig | None = None) -> Auditor:
    """CenterFace and YuNet at low thresholds (the config filters), both checksum-verified."""
    from faceblur_cam.detect import load_detector
    from faceblur_cam.detect.yunet import load_yunet

    config = config or AuditConfig()
    return Auditor({"centerface": load_detector("centerface", threshold=min(0.2, config.centerface_threshold,
                                                                        config.closer_centerface)),
                    "yunet": load_yunet(threshold=min(0.5, config.yunet_threshold, config.closer_yunet))}, config)
