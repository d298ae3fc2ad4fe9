"""What the detector is asked to look at (``DetectJob``: a crop at an input size) and running a
list of them on a frame (``run_jobs``). Which jobs a frame gets is a planner's choice
(``faceblur_cam.detect.plan``)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from faceblur_cam.detections import Detections
from faceblur_cam.geometry import inside_matrix, iou_matrix, nms


@dataclass(frozen=True)
class DetectJob:
    """Detect in ``crop`` (pixel x1, y1, x2, y2 of the frame) with the crop's long side
    resized to ``long_side`` pixels."""

    crop: tuple[int, int, int, int]
    long_side: int
    kind: str = "full"

    @property
    def scale(self) -> float:
        """Network pixels per frame pixel."""
        x1, y1, x2, y2 = self.crop
        return self.long_side / max(1, x2 - x1, y2 - y1)

    @classmethod
    def at_scale(cls, crop: tuple[int, int, int, int], scale: float, kind: str) -> DetectJob:
        """A look at ``crop`` with ``scale`` network pixels per frame pixel (32 px at least)."""
        x1, y1, x2, y2 = crop
        return cls(crop, max(32, int(round(max(x2 - x1, y2 - y1) * scale))), kind)


EDGE_TOLERANCE = 0.03  # of the crop's long side: a box this close to an inner crop edge is cut
# A coarse guess: a find scoring below WEAK_SCORE that is less than COARSE_PX tall in its look's
# input. A look in which it would be CLOSE_PX tall or more is a close look. On the new-face scenes
# (bench/new_faces.py) 83 % of the finds on no face come from the coarse whole-frame look, most at
# 12-20 px and 0.2-0.4 (hands, bags, knees); true faces found that coarsely are mostly 0.5 or more.
WEAK_SCORE = 0.5
COARSE_PX = 20.0
CLOSE_PX = 32.0
CUT_SCORE = 0.5  # a find this sure that a crop's edge cuts is looked at again, widened


def run_jobs(detect_crop, image: np.ndarray, jobs: list[DetectJob], nms_iou: float = 0.3,  # type: ignore[no-untyped-def]
             overrule: bool = False) -> Detections:
    """Run ``detect_crop(crop_image, long_side) -> Detections`` for each job, map the boxes back
    to frame pixels and merge duplicates from overlapping jobs (best score wins).

    A face cut by a crop's edge (one that is not the frame's edge) is dropped: its box is only a
    part of the face. One found with ``CUT_SCORE`` or more that no other look of the frame found
    whole is looked at again at once, in the crop widened to hold it (``_widened``) at the same
    scale: a face popping up at the border of a changed area (part of its change hidden under a
    neighbour's cover) is found on its first frame, not when another look happens to hold it
    (bench/new_faces.py seed 2, 11_pop: a 129x145 face half exposed for a frame). Otherwise the
    overlap between tiles, the full-frame passes and the tracker's hold cover it.

    ``overrule`` (the protecting pipeline; the audit searches without it): a coarse guess
    (``WEAK_SCORE``, ``COARSE_PX``) is dropped when a close look on this frame saw
    all of its box and found nothing there: the close look knows better. The tracker then sees a
    close look that missed (``track.FaceTracker``: it doubts that place for a while).
    """
    h, w = image.shape[:2]
    found: list[Detections] = []
    sizes = []  # each find's height in its own look's input
    look_of = []  # the index of the look that found them
    cut_faces: dict[int, np.ndarray] = {}  # job index -> sure finds its crop's edge cut (frame pixels)

    def look(k: int, job: DetectJob) -> None:
        x1, y1, x2, y2 = job.crop
        dets = detect_crop(image[y1:y2, x1:x2], job.long_side)
        if len(dets) and (x1, y1, x2, y2) != (0, 0, w, h):
            b = dets.xyxy
            near = max(2.0, EDGE_TOLERANCE * max(x2 - x1, y2 - y1))  # boxes stop a little short of a cut
            cut = ((b[:, 0] <= near) & (x1 > 0)) | ((b[:, 1] <= near) & (y1 > 0)) \
                | ((b[:, 2] >= x2 - x1 - near) & (x2 < w)) | ((b[:, 3] >= y2 - y1 - near) & (y2 < h))
            sure = cut & (dets.scores >= CUT_SCORE)
            if sure.any():
                cut_faces[k] = dets.xyxy[sure] + np.array([x1, y1, x1, y1], np.float32)
            dets = dets[~cut]
        if len(dets):
            shift = np.array([x1, y1], np.float32)
            found.append(Detections(dets.xyxy + np.tile(shift, 2), dets.scores, dets.landmarks + shift))
            sizes.append((dets.xyxy[:, 3] - dets.xyxy[:, 1]) * job.scale)
            look_of.append(k)

    for k, job in enumerate(jobs):
        look(k, job)
    # a cut face that no look found whole is looked at again, in its crop widened to hold it
    whole = Detections.concat(found).xyxy
    looks = list(jobs)
    for k, boxes in list(cut_faces.items()):  # the jobs' cut faces (a widened look's are not looked at again)
        missing = boxes[~np.any(inside_matrix(whole, boxes) >= 0.5, axis=0)] if len(whole) else boxes
        if len(missing):
            looks.append(_widened(jobs[k], missing, (w, h)))
            look(len(looks) - 1, looks[-1])
    merged = Detections.concat(found)
    if not len(merged):
        return merged
    size = np.concatenate(sizes)
    source = np.concatenate([np.full(len(f), k) for k, f in zip(look_of, found)])
    all_found = merged
    if len(found) > 1 and len(merged) > 1:
        keep = nms(merged.xyxy, merged.scores, nms_iou)
        merged, size = merged[keep], size[keep]
    guesses = np.flatnonzero((merged.scores < WEAK_SCORE) & (size < COARSE_PX)) \
        if overrule else np.zeros(0, np.int64)
    if len(guesses):
        wrong = contradicted(merged.xyxy[guesses], looks, all_found.xyxy, source)
        merged = merged[np.setdiff1d(np.arange(len(merged)), guesses[wrong])]
    return merged


def _widened(job: DetectJob, cut: np.ndarray, frame_wh: tuple[int, int]) -> DetectJob:
    """``job``'s crop grown to hold the ``cut`` boxes (frame pixels) whole, with half a box of
    context around each, at the job's scale."""
    size = np.max(cut[:, 2:] - cut[:, :2], axis=1, keepdims=True)
    grown = np.hstack([cut[:, :2] - size / 2, cut[:, 2:] + size / 2])
    x1, y1 = np.minimum(job.crop[:2], grown[:, :2].min(axis=0))
    x2, y2 = np.maximum(job.crop[2:], grown[:, 2:].max(axis=0))
    w, h = frame_wh
    crop = (max(0, int(x1)), max(0, int(y1)), min(w, int(np.ceil(x2))), min(h, int(np.ceil(y2))))
    return DetectJob.at_scale(crop, job.scale, job.kind)


def contradicted(boxes: np.ndarray, jobs: list[DetectJob], found: np.ndarray, source: np.ndarray,
                 same_iou: float = 0.2) -> np.ndarray:
    """Which ``boxes`` (frame pixels) a close look saw whole (the box at least ``CLOSE_PX`` tall in
    its input) without finding anything there: none of its finds (``found``, the boxes of every
    look before merging; ``source``: the index in ``jobs`` of the look that found each) overlaps
    the box by more than ``same_iou``."""
    out = np.zeros(len(boxes), bool)
    for k, box in enumerate(boxes):
        close = [i for i, job in enumerate(jobs)
                 if job.crop[0] <= box[0] and job.crop[1] <= box[1] and job.crop[2] >= box[2]
                 and job.crop[3] >= box[3] and job.scale * (box[3] - box[1]) >= CLOSE_PX]
        if close:
            near = iou_matrix(box[None], found)[0] > same_iou
            out[k] = not np.any(near & np.isin(source, close))
    return out
