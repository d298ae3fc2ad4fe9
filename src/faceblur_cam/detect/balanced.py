"""The balanced plan (the live default): which parts of a frame the detector looks at, at which
scale. Pure: no I/O, no clock.

Running CenterFace on the whole 720p frame at a resolution that finds small faces costs ~20-40 ms;
the live path can afford ~10. CenterFace finds a face once it is about 12 px tall in its input, so
what a look finds depends on its scale. Every frame gets (``balanced``):

- ``full``: the whole frame at ``low_side`` (large and medium faces, new ones included, also faces
  entering through the edge of a panning camera). With a still camera it rests on every second
  frame (``full_every_still``) while every face it measures (those it sees well get no crop of
  their own) was tracked on the last frame and moved less than ``full_max_move`` of its size
  since: what is new in a still picture changes it and gets a ``change`` look on its own frame,
  what did not change looks to it as it did on its last frame, and such a face is held for that
  frame (moved, not grown: ``track.TrackerConfig.rest_max_move``; a face moving out of its cover
  changes the picture outside it). Measured (bench/new_faces.py seeds 0/1/2, bench/covers.py):
  regions per face 1.66/1.63/1.78 -> 1.60/1.58/1.73, the same or fewer exposed face-frames, close-up
  covers unchanged (1.50x the head), 7 % less CPU. Resting whatever the faces do cost 1.53x on the
  close-ups; on every 3rd frame, it exposed faces of 40-200 px;
- ``change``: every area that changed since the previous frame and is not a tracked face
  (``detect.change``), at the scale of a ``change_side`` look at the whole frame (small faces that
  walk in, pop up, turn round or come closer are found on the frame they appear; a changed area
  is looked at again on the next ``change_again`` frames, for faces that fade in). When the
  changed areas are too large for ``change_budget`` input pixels, the largest are looked at more
  coarsely (down to the scale of a ``change_min_side`` look);
- ``roi``: a crop around up to ``roi_max`` tracked faces at ``roi_side`` pixels (keeps a small
  moving or turning face locked at high detail, cheaply; with more faces they take turns; faces
  the coarse look sees at ``roi_skip_px`` or more need none);
- every ``tile_every``-th frame, ``tile``: one tile of a ``tiles x tiles`` grid at ``high_side``
  resolution; the tiles take turns (small faces that were never seen changing).

The first frame after a reset and after a jump gets the first look (``plan.first_look``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from faceblur_cam.detect.change import Change
from faceblur_cam.detect.jobs import DetectJob
from faceblur_cam.detect.plan import FIRST_SIDES, first_look, side, starts_over
from faceblur_cam.detections import Detections
from faceblur_cam.geometry import merge_boxes


@dataclass(frozen=True)
class PlanConfig:
    low_side: int = 224
    high_side: int = 640
    first_sides: tuple[int, ...] = FIRST_SIDES
    change_side: int = 1280  # changed areas are looked at at the scale of this whole-frame look
    change_pad: float = 0.05  # context around a changed area, of the frame's long side
    change_again: int = 2  # a changed area is looked at again on this many following frames
    change_budget: int = 32_000  # network input pixels for changed areas, per frame ...
    change_min_side: int = 400  # ... but never coarser than a whole-frame look at this side
    edge_side: int = 640  # a coarsely seen changed area at the frame edge: its edge band at this scale
    edge_depth: float = 0.08  # ... that deep (of the frame's long side)
    edge_budget: int = 20_000  # network input pixels for such bands, per frame (a 720p side band at 0.5: 18,400)
    tile_every: int = 8  # a tile on every n-th frame (0: never)
    tiles: int = 3
    tile_overlap: float = 0.2
    roi_side: int = 96
    roi_context: float = 2.4  # crop side / face box long side
    roi_min: int = 64  # smallest crop side in frame pixels
    roi_max: int = 2  # crops per frame; with more faces they take turns
    roi_skip_px: float = 24.0  # no crop for a face at least this tall in the coarse whole-frame look
    full_every_still: int = 2  # with a still camera, the whole-frame look on every n-th frame only ...
    full_max_move: float = 0.05  # ... while no face it sees well moved more than this share of its size a frame


class BalancedPlanner:
    """A ``Planner`` (``plan(frame_wh, tracks, change)`` -> the jobs for this frame): the cheap looks
    described in the module docstring. One per pipeline; not thread-safe."""

    def __init__(self, config: PlanConfig | None = None):
        self.config = config or PlanConfig()
        self.reset()

    def reset(self) -> None:
        self._frame = -1
        self._tile = 0
        self._roi_turn = 0
        self._recent: list[np.ndarray] = []  # changed areas of the last frames, newest last
        self._large: dict[int, np.ndarray] = {}  # track id -> last box, of the faces the whole-frame look sees well

    def plan(self, frame_wh: tuple[int, int], tracks: Detections, change: Change | None = None,
             every_face: bool = False) -> list[DetectJob]:
        """``change`` is what changed since the previous frame (``None``: not known, look everywhere
        a change could be, i.e. the whole frame at ``change_side``); ``every_face``: the whole-frame
        look does not rest (the faces it measures are measured on this frame)."""
        cfg = self.config
        self._frame += 1
        faces_still = self._large_still(frame_wh, tracks)
        if self._frame == 0 or starts_over(change):
            self._frame = 0
            self._recent = []
            return first_look(frame_wh, cfg.first_sides)
        # with a still camera, what is new changes the picture and gets a close look of its own,
        # and what did not change looked the same to the last whole-frame look
        rest = change is not None and change.shift == (0.0, 0.0) and self._frame % cfg.full_every_still != 0 \
            and faces_still and not every_face
        jobs = [] if rest else [DetectJob((0, 0, *frame_wh), side(cfg.low_side), "full")]
        jobs += self._change_jobs(frame_wh, change)
        jobs += self._roi_jobs(frame_wh, tracks)
        if cfg.tile_every and self._frame % cfg.tile_every == 0:
            jobs.append(self._tile_job(frame_wh))
            self._tile = (self._tile + 1) % (cfg.tiles * cfg.tiles)
        return jobs

    def _large_still(self, frame_wh: tuple[int, int], tracks: Detections) -> bool:
        """Whether every tracked face that the whole-frame look sees well (and so measures: it gets
        no crop of its own) was tracked on the last frame too and moved less than
        ``full_max_move`` of its size since (``tracks.track_ids`` tell the faces apart)."""
        large = np.flatnonzero(self._seen_well(frame_wh, tracks))
        last, self._large = self._large, {int(tracks.track_ids[i]): tracks.xyxy[i] for i in large}
        for i in large:
            before = last.get(int(tracks.track_ids[i]))
            size = float(np.max(tracks.wh[i]))
            if before is None or np.max(np.abs(tracks.xyxy[i] - before)) > self.config.full_max_move * size:
                return False
        return True

    def _seen_well(self, frame_wh: tuple[int, int], tracks: Detections) -> np.ndarray:
        """Which tracked faces the coarse whole-frame look sees at ``roi_skip_px`` or more (bool)."""
        return np.asarray(np.max(tracks.wh, axis=1) * self.config.low_side / max(frame_wh) >= self.config.roi_skip_px) \
            if len(tracks) else np.zeros(0, bool)

    def _change_jobs(self, frame_wh: tuple[int, int], change: Change | None) -> list[DetectJob]:
        """Close looks at the changed areas. The scale is that of a ``change_side`` look at the
        whole frame, lowered when the areas would cost more than ``change_budget`` (down to
        ``change_min_side``: large changed areas are people close to the camera)."""
        cfg = self.config
        w, h = frame_wh
        scale = min(1.0, cfg.change_side / max(w, h))
        if change is None:
            self._recent = []
            return [DetectJob((0, 0, w, h), side(round(max(w, h) * scale)), "change")]
        # a face fading in, or one the first close look missed, is looked at again on the next
        # frames even when it no longer changes (earlier areas follow the camera's motion)
        shift = np.array([*change.shift, *change.shift], np.float32)
        self._recent = [r + shift for r in self._recent[-cfg.change_again:]] if cfg.change_again else []
        regions = np.concatenate([change.regions, *self._recent]).reshape(-1, 4)
        self._recent.append(change.regions)
        if not len(regions):
            return []
        # context: half the changed area's size (a face that pops up is all change), more for
        # thin areas (the leading edge of a face walking in, the strip a pan brings in)
        size = np.max(regions[:, 2:] - regions[:, :2], axis=1, keepdims=True)
        pad = np.clip(0.5 * size, cfg.change_pad * max(w, h) / 2, cfg.change_pad * max(w, h))
        thin = np.min(regions[:, 2:] - regions[:, :2], axis=1, keepdims=True) < 0.25 * size
        pad = np.where(thin, cfg.change_pad * max(w, h), pad)
        crops = merge_boxes(np.clip(regions + np.hstack([-pad, -pad, pad, pad]), 0, [w, h, w, h])).astype(int)
        # the budget is shared smallest area first: small areas (a face popping up) keep the full
        # scale, large ones (people moving close to the camera) are looked at more coarsely
        areas = (crops[:, 2] - crops[:, 0]) * (crops[:, 3] - crops[:, 1])
        floor = min(scale, cfg.change_min_side / max(w, h))
        edge_scale = min(scale, cfg.edge_side / max(w, h))
        left = float(cfg.change_budget)
        jobs: list[DetectJob] = []
        bands: list[DetectJob] = []
        for k, i in enumerate(np.argsort(areas, kind="stable")):
            x1, y1, x2, y2 = (int(v) for v in crops[i])
            if x2 - x1 < 8 or y2 - y1 < 8:  # an earlier area the camera's motion took out of the picture
                continue
            share = max(left, 0.0) / (len(crops) - k)
            s = max(floor, min(scale, float(np.sqrt(share / max(float(areas[i]), 1.0)))))
            left -= s * s * float(areas[i])
            jobs.append(DetectJob.at_scale((x1, y1, x2, y2), s, "change"))
            if s < edge_scale:
                bands += self._edge_bands((x1, y1, x2, y2), frame_wh, edge_scale)
        # the bands have a budget of their own, shortest first; a band inside another adds nothing
        # (the strip of new picture a pan brings in touches three edges: its top and bottom bands
        # lie in its side band, which then fits the budget at 720p)
        bands = list(dict.fromkeys(bands))  # the same band from two areas: once
        bands = [b for b in bands if not any(o is not b and _inside(b.crop, o.crop) for o in bands)]
        left = float(cfg.edge_budget)
        for band in sorted(bands, key=lambda j: (j.crop[2] - j.crop[0]) * (j.crop[3] - j.crop[1])):
            cost = (band.crop[2] - band.crop[0]) * (band.crop[3] - band.crop[1]) * band.scale ** 2
            if cost <= left:
                jobs.append(band)
                left -= cost
        return jobs

    def _edge_bands(self, crop: tuple[int, int, int, int], frame_wh: tuple[int, int],
                    scale: float) -> list[DetectJob]:
        """A changed area that touches the frame edge and had to be looked at coarsely: the band
        along that edge is looked at again at ``scale`` (a face coming into the picture there is
        only partly visible, which coarse looks miss), within ``edge_budget``."""
        w, h = frame_wh
        x1, y1, x2, y2 = crop
        depth = int(self.config.edge_depth * max(w, h))
        bands = []
        if x1 == 0:
            bands.append((0, y1, min(x2, depth), y2))
        if x2 == w:
            bands.append((max(x1, w - depth), y1, w, y2))
        if y1 == 0:
            bands.append((x1, 0, x2, min(y2, depth)))
        if y2 == h:
            bands.append((x1, max(y1, h - depth), x2, h))
        return [DetectJob.at_scale(b, scale, "change")
                for b in bands if b[2] - b[0] >= 8 and b[3] - b[1] >= 8]

    def _tile_job(self, frame_wh: tuple[int, int]) -> DetectJob:
        cfg = self.config
        w, h = frame_wh
        n = cfg.tiles
        col, row = self._tile % n, self._tile // n
        tw, th = w / n, h / n
        ox, oy = tw * cfg.tile_overlap, th * cfg.tile_overlap
        x1, y1 = max(0, int(col * tw - ox)), max(0, int(row * th - oy))
        x2, y2 = min(w, int((col + 1) * tw + ox)), min(h, int((row + 1) * th + oy))
        scale = side(cfg.high_side) / max(w, h)
        return DetectJob.at_scale((x1, y1, x2, y2), scale, "tile")

    def _roi_jobs(self, frame_wh: tuple[int, int], tracks: Detections) -> list[DetectJob]:
        cfg = self.config
        w, h = frame_wh
        jobs = []
        # a face the coarse whole-frame look sees well needs no crop of its own
        tracks = tracks[np.flatnonzero(~self._seen_well(frame_wh, tracks))]
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


def _inside(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> bool:
    """Whether crop ``a`` lies within crop ``b``."""
    return b[0] <= a[0] and b[1] <= a[1] and a[2] <= b[2] and a[3] <= b[3]

