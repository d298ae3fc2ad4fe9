"""Which parts of a frame the detector looks at, at which scale. Pure: no I/O, no clock.

Running CenterFace on the whole frame at a resolution that finds small faces costs ~40 ms per
720p frame; the live path can afford ~10. The planner spreads that work over a short cycle of
frames, each of which stays cheap:

- ``full``: the whole frame at ``low_side`` (finds large and medium faces, new ones included);
- ``tile``: one tile of a ``tiles x tiles`` grid over the frame at ``high_side`` resolution; the
  tiles take turns, so every ``tiles**2`` tile slots the whole frame was seen at high resolution
  (finds small faces far from the camera);
- ``roi``: a crop around each tracked face at ``roi_side`` pixels (keeps a moving or turning face
  locked at high detail, cheaply);
- ``none``: no detection (tracking only).

The first frame after a reset (start-up, resume, camera back, detector hiccup) is detected on the
whole frame at each of ``first_sides`` (high resolution for small faces, plus a coarser pass that
finds some large faces the fine one misses), so nothing is published before a thorough look.
Frames with no job are covered by the tracker's prediction.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from faceblur_cam.detections import Detections


@dataclass(frozen=True)
class DetectJob:
    """Detect in ``crop`` (pixel x1, y1, x2, y2 of the frame) with the crop's long side
    resized to ``long_side`` pixels."""

    crop: tuple[int, int, int, int]
    long_side: int
    kind: str = "full"


@dataclass(frozen=True)
class PlanConfig:
    low_side: int = 256
    high_side: int = 640
    first_sides: tuple[int, ...] = (640, 320)
    cycle: tuple[str, ...] = ("full", "roi", "tile", "roi", "tile", "roi")
    tiles: int = 3
    tile_overlap: float = 0.2
    roi_side: int = 96
    roi_context: float = 2.4  # crop side / face box long side
    roi_min: int = 64  # smallest crop side in frame pixels
    roi_max: int = 2  # crops per frame; with more faces they take turns


THOROUGH = PlanConfig(low_side=640, cycle=("full",))  # the whole frame at 640 px, every frame
PLANS = {"balanced": PlanConfig(), "thorough": THOROUGH}


class DetectionPlanner:
    """``plan(frame_wh, tracks)`` -> the jobs for this frame. One per pipeline; not thread-safe."""

    def __init__(self, config: PlanConfig | None = None):
        self.config = config or PlanConfig()
        self._frame = -1
        self._tile = 0
        self._roi_turn = 0

    def reset(self) -> None:
        self._frame = -1
        self._tile = 0
        self._roi_turn = 0

    def plan(self, frame_wh: tuple[int, int], tracks: Detections) -> list[DetectJob]:
        cfg = self.config
        w, h = frame_wh
        self._frame += 1
        if self._frame == 0:
            return [DetectJob((0, 0, w, h), _side(side), "first") for side in cfg.first_sides]
        slot = cfg.cycle[(self._frame - 1) % len(cfg.cycle)]
        if slot == "full":
            return [DetectJob((0, 0, w, h), _side(cfg.low_side), "full")]
        if slot == "none":
            return []
        if slot == "tile":
            job = self._tile_job(frame_wh)
            self._tile = (self._tile + 1) % (cfg.tiles * cfg.tiles)
            return [job]
        return self._roi_jobs(frame_wh, tracks)

    def _tile_job(self, frame_wh: tuple[int, int]) -> DetectJob:
        cfg = self.config
        w, h = frame_wh
        n = cfg.tiles
        col, row = self._tile % n, self._tile // n
        tw, th = w / n, h / n
        ox, oy = tw * cfg.tile_overlap, th * cfg.tile_overlap
        x1, y1 = max(0, int(col * tw - ox)), max(0, int(row * th - oy))
        x2, y2 = min(w, int((col + 1) * tw + ox)), min(h, int((row + 1) * th + oy))
        scale = _side(cfg.high_side) / max(w, h)
        return DetectJob((x1, y1, x2, y2), max(32, int(round(max(x2 - x1, y2 - y1) * scale))), "tile")

    def _roi_jobs(self, frame_wh: tuple[int, int], tracks: Detections) -> list[DetectJob]:
        cfg = self.config
        w, h = frame_wh
        jobs = []
        chosen = np.arange(len(tracks))
        if len(tracks) > cfg.roi_max:  # take turns: a window of roi_max tracks moving each frame
            chosen = (self._roi_turn + np.arange(cfg.roi_max)) % len(tracks)
            self._roi_turn = (self._roi_turn + cfg.roi_max) % len(tracks)
        for (cx, cy), (bw, bh) in zip(tracks.centers[chosen], tracks.wh[chosen]):
            side = max(cfg.roi_min, cfg.roi_context * max(bw, bh))
            x1, y1 = int(max(0, cx - side / 2)), int(max(0, cy - side / 2))
            x2, y2 = int(min(w, cx + side / 2)), int(min(h, cy + side / 2))
            if x2 - x1 < 8 or y2 - y1 < 8:
                continue
            long_side = min(cfg.roi_side, max(32, int(round(max(x2 - x1, y2 - y1) * 2))))
            jobs.append(DetectJob((x1, y1, x2, y2), long_side, "roi"))
        return jobs


def _side(target: int) -> int:
    """The detector input long side for a whole-frame pass (never below 32)."""
    return max(32, int(target))


EDGE_TOLERANCE = 0.03  # of the crop's long side: a box this close to an inner crop edge is cut


def run_jobs(detect_crop, image: np.ndarray, jobs: list[DetectJob], nms_iou: float = 0.3) -> Detections:  # type: ignore[no-untyped-def]
    """Run ``detect_crop(crop_image, long_side) -> Detections`` for each job, map the boxes back
    to frame pixels and merge duplicates from overlapping jobs (best score wins).

    A face cut by a crop's edge (one that is not the frame's edge) is dropped: its box is only a
    part of the face. The overlap between tiles, the full-frame passes and the tracker's hold
    cover it instead.
    """
    from faceblur_cam.detect.centerface import nms

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
