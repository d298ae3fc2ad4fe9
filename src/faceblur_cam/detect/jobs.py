"""What the detector is asked to look at (``DetectJob``: a crop at an input size) and running a
list of them on a frame (``run_jobs``). Which jobs a frame gets is a planner's choice
(``faceblur_cam.detect.plan``)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from faceblur_cam.detections import Detections
from faceblur_cam.geometry import nms


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


EDGE_TOLERANCE = 0.03  # of the crop's long side: a box this close to an inner crop edge is cut


def run_jobs(detect_crop, image: np.ndarray, jobs: list[DetectJob], nms_iou: float = 0.3) -> Detections:  # type: ignore[no-untyped-def]
    """Run ``detect_crop(crop_image, long_side) -> Detections`` for each job, map the boxes back
    to frame pixels and merge duplicates from overlapping jobs (best score wins).

    A face cut by a crop's edge (one that is not the frame's edge) is dropped: its box is only a
    part of the face. The overlap between tiles, the full-frame passes and the tracker's hold
    cover it instead.
    """
    h, w = image.shape[:2]
    found = []
    for job in jobs:
        x1, y1, x2, y2 = job.crop
        dets = detect_crop(image[y1:y2, x1:x2], job.long_side)
        if len(dets) and (x1, y1, x2, y2) != (0, 0, w, h):
            b = dets.xyxy
            near = max(2.0, EDGE_TOLERANCE * max(x2 - x1, y2 - y1))  # boxes stop a little short of a cut
            cut = ((b[:, 0] <= near) & (x1 > 0)) | ((b[:, 1] <= near) & (y1 > 0)) \
                | ((b[:, 2] >= x2 - x1 - near) & (x2 < w)) | ((b[:, 3] >= y2 - y1 - near) & (y2 < h))
            dets = dets[~cut]
        if len(dets):
            shift = np.array([x1, y1], np.float32)
            found.append(Detections(dets.xyxy + np.tile(shift, 2), dets.scores, dets.landmarks + shift))
    merged = Detections.concat(found)
    if len(found) > 1 and len(merged) > 1:
        merged = merged[nms(merged.xyxy, merged.scores, nms_iou)]
    return merged
