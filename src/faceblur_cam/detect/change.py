"""Where the picture changed since the previous frame. Pure: numpy/OpenCV on arrays, no clock.

A face that becomes visible mid-stream (walks in, pops up, enters through the edge of a panning
camera, turns towards the camera, grows out of the distance) changes the pixels where it appears
on that very frame. ``ChangeDetector.update(image, t)`` compares a small copy of each frame
with the previous one after removing the camera's global motion (phase correlation), and reports

- ``regions``: boxes (frame pixels) around everything that changed, including the strip of new
  picture a pan brings in at the frame edge: the planner sends them to a close look on this frame;
- ``jump``: the picture is discontinuous (a cut, a looped file restarting, skipped frames, a
  camera switching input, a large global change): the next frame must be treated like a first
  frame.

Brightness changes of the whole picture (auto exposure) are removed before comparing. With a
still camera a frame is also compared with the one before last (``_faded_in``): a face fading in
over two frames can stay under the threshold on each of them.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np


@dataclass(frozen=True)
class ChangeConfig:
    work_side: int = 256  # long side of the grey copy that is compared
    threshold: float = 24.0  # colour difference (0..255, largest channel) that counts as a change
    min_cells: int = 2  # smaller changed blobs are noise
    jump_fraction: float = 0.4  # a larger changed share of the picture is a jump ...
    jump_similarity: float = 0.5  # ... and so is a smaller one where the two pictures correlate less
    jump_min_fraction: float = 0.15
    max_gap_s: float = 0.35  # a longer gap between two frames is a jump (skipped frames)
    min_response: float = 0.03  # phase correlation peak below this: motion estimate unreliable
    fade_back: int = 2  # with a still camera, also compared with the frame this many frames back ...
    fade_part: float = 0.5  # ... where the last two steps changed by this share of ``threshold`` (``_faded_in``)
    fade_min_cells: int = 16  # ... in patches of at least this many cells
    fade_max_share: float = 0.01  # ... unless more of the picture than this fades at once
    slow_frames: int = 0  # small areas are also compared with the frame this many frames back ...
    slow_max_cells: int = 16  # ... when they are at most this many cells across


@dataclass(frozen=True)
class Change:
    """What changed on one frame. ``regions`` is ``float32 (N, 4)`` xyxy in frame pixels."""

    regions: np.ndarray
    fraction: float  # changed share of the picture (0..1)
    shift: tuple[float, float]  # estimated camera motion, frame pixels (dx, dy)
    jump: bool

    @classmethod
    def everything(cls, wh: tuple[int, int]) -> Change:
        w, h = wh
        return cls(np.array([[0, 0, w, h]], np.float32), 1.0, (0.0, 0.0), True)


class ChangeDetector:
    """See the module docstring. One per pipeline; not thread-safe."""

    def __init__(self, config: ChangeConfig | None = None):
        self.config = config or ChangeConfig()
        self._prev: np.ndarray | None = None
        self._prev_t = 0.0
        # a still camera's last small copies, oldest first, this frame last (the fade and slow
        # comparisons look back in it); camera motion and jumps start it over
        self._still: list[np.ndarray] = []
        self._window: np.ndarray | None = None

    def reset(self) -> None:
        self._prev = None
        self._still = []

    def update(self, image: np.ndarray, t: float, explained: np.ndarray | None = None) -> Change:
        """Compare ``image`` (taken at ``t``) with the previous frame. Changes inside the
        ``explained`` boxes (xyxy, frame pixels: the tracked faces' covers) are not reported as
        regions (they still count towards a jump)."""
        cfg = self.config
        h, w = image.shape[:2]
        scale = cfg.work_side / max(w, h)
        sw, sh = max(8, int(round(w * scale))), max(8, int(round(h * scale)))
        if w > 4 * sw and h > 4 * sh:  # cheap: bilinear to twice the size, then exact averaging
            image = cv2.resize(image, (2 * sw, 2 * sh), interpolation=cv2.INTER_LINEAR)
        small = cv2.resize(image, (sw, sh), interpolation=cv2.INTER_AREA)
        if small.ndim == 2:
            small = cv2.cvtColor(small, cv2.COLOR_GRAY2BGR)
        colour = cv2.GaussianBlur(small.astype(np.float32), (3, 3), 0)
        # exposure and white-balance changes of the whole picture are not changes
        colour -= np.array(cv2.mean(colour)[:3], np.float32)
        prev, prev_t = self._prev, self._prev_t
        self._prev, self._prev_t = colour, t
        if prev is None or prev.shape != colour.shape or not (0 <= t - prev_t <= cfg.max_gap_s):
            return Change.everything((w, h))

        changed, strips, moved, dx, dy = self._compare(prev, colour)
        fraction = float(changed.mean()) + sum(float((x2 - x1) * (y2 - y1)) for x1, y1, x2, y2 in strips) / (sw * sh)
        if fraction >= cfg.jump_fraction or (
                fraction >= cfg.jump_min_fraction and _similarity(_grey(colour), _grey(moved)) < cfg.jump_similarity):
            self._still = []  # nothing before a jump is compared with what follows it
            return Change.everything((w, h))
        depth = max(cfg.slow_frames, cfg.fade_back + 1)
        self._still = self._still[max(0, len(self._still) - depth + 1):] + [colour] if dx == dy == 0.0 else [colour]
        if cfg.fade_back > 1 and len(self._still) > cfg.fade_back:
            changed = changed | _faded_in(self._still[-cfg.fade_back - 1:], changed, cfg)
        # a small face that comes slowly out of the distance changes too little from one frame to
        # the next: with a still camera, small areas are also compared with a frame further back
        if cfg.slow_frames > 1 and len(self._still) >= cfg.slow_frames:
            slow = np.abs(colour - self._still[-cfg.slow_frames]).max(axis=2) > cfg.threshold
            changed = changed | _small_blobs(slow, cfg.slow_max_cells)
        if explained is not None and len(explained):
            cells = np.round(np.asarray(explained, np.float32).reshape(-1, 4) * scale).astype(int)
            for x1, y1, x2, y2 in np.clip(cells, 0, [sw, sh, sw, sh]):
                changed[y1:y2, x1:x2] = False
        regions = np.concatenate([_blobs(changed, cfg.min_cells), np.array(strips, np.float32).reshape(-1, 4)]) / scale
        shift = (float(dx / scale), float(dy / scale))
        return Change(np.clip(regions, 0, [w, h, w, h]).astype(np.float32), fraction, shift, False)


    def _compare(self, prev: np.ndarray, cur: np.ndarray
                 ) -> tuple[np.ndarray, list[tuple[int, int, int, int]], np.ndarray, float, float]:
        """Changed cells between two small colour copies (the largest change of the three
        channels: a face can match its background in brightness, rarely in colour), with the
        camera's motion removed when that explains the picture better than no motion (a moving
        head must not pass for a pan), and the strips of new picture that motion brought in at
        the edges (xyxy cells)."""
        cfg = self.config
        sh, sw = cur.shape[:2]
        still = _largest_channel(cv2.absdiff(cur, prev)) > cfg.threshold
        if self._window is None or self._window.shape != (sh, sw):
            self._window = cv2.createHanningWindow((sw, sh), cv2.CV_32F)
        (dx, dy), response = cv2.phaseCorrelate(_grey(prev), _grey(cur), self._window)
        if response < cfg.min_response or abs(dx) + abs(dy) < 0.5 or abs(dx) > sw / 4 or abs(dy) > sh / 4:
            return still, [], prev, 0.0, 0.0
        moved = cv2.warpAffine(prev, np.array([[1, 0, dx], [0, 1, dy]], np.float32), (sw, sh),
                               flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        changed = _largest_channel(cv2.absdiff(cur, moved)) > cfg.threshold
        if changed.sum() >= 0.8 * still.sum():
            return still, [], prev, 0.0, 0.0
        # the strips of picture the motion brought in have no previous picture: all of it is new
        ix, iy = int(np.ceil(abs(dx))) + 1, int(np.ceil(abs(dy))) + 1
        strips = [(0, 0, ix, sh)] if dx > 0.25 else [(sw - ix, 0, sw, sh)] if dx < -0.25 else []
        strips += [(0, 0, sw, iy)] if dy > 0.25 else [(0, sh - iy, sw, sh)] if dy < -0.25 else []
        for x1, y1, x2, y2 in strips:
            changed[y1:y2, x1:x2] = False
        return changed, strips, moved, float(dx), float(dy)


def _faded_in(recent: list[np.ndarray], changed: np.ndarray, cfg: ChangeConfig) -> np.ndarray:
    """Cells where something fades in over a few frames (a face at a third of its contrast a
    frame can stay under ``threshold`` on each one). ``recent``: a still camera's last small
    copies, oldest first, this frame last. Such a cell changed the same way on the last two steps,
    by ``fade_part`` of the threshold or more each time, and by more than the threshold since
    ``recent[0]``; it lies away from what already changed (beside a moving person it would only
    widen an area that is looked at anyway, and share the change budget among more pixels: small
    faces walking in were then looked at too coarsely, bench/new_faces.py) and in a patch at
    least 3 cells thick (a texture drifting under a hand-held camera changes along thin edges)."""
    step = cfg.fade_part * cfg.threshold
    near = cv2.dilate(changed.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
    candidates = (_largest_channel(cv2.absdiff(recent[-1], recent[-2])) >= step) & ~near
    if not candidates.any():  # the usual frame: nothing else moved by half the threshold
        return np.zeros_like(changed)
    now, before = cv2.subtract(recent[-1], recent[-2]), cv2.subtract(recent[-2], recent[-3])
    same_way = (_largest_channel(cv2.min(now, before)) >= step) | (_smallest_channel(cv2.max(now, before)) <= -step)
    fading = candidates & same_way & (_largest_channel(cv2.absdiff(recent[-1], recent[0])) > cfg.threshold)
    solid = cv2.morphologyEx(fading.astype(np.uint8), cv2.MORPH_OPEN, np.ones((3, 3), np.uint8))
    count, labels, stats, _ = cv2.connectedComponentsWithStats(solid, connectivity=8)
    big = stats[:, cv2.CC_STAT_AREA] >= cfg.fade_min_cells  # a face 24 px tall or more
    big[0] = False  # the background label
    faded = big[labels]
    if faded.mean() > cfg.fade_max_share:  # the whole picture changing slowly: a zoom, the light
        return np.zeros_like(faded)
    return np.asarray(faded)


def _grey(colour: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(colour, cv2.COLOR_BGR2GRAY)


def _largest_channel(image: np.ndarray) -> np.ndarray:
    """Per pixel, the largest of the three channels (numpy's max over the last axis is slow)."""
    b, g, r = cv2.split(image)
    return cv2.max(cv2.max(b, g), r)


def _smallest_channel(image: np.ndarray) -> np.ndarray:
    b, g, r = cv2.split(image)
    return cv2.min(cv2.min(b, g), r)


def _similarity(a: np.ndarray, b: np.ndarray) -> float:
    """Correlation of two pictures (1 = same picture)."""
    x, y = a - a.mean(), b - b.mean()
    return float((x * y).sum() / max(np.sqrt((x * x).sum() * (y * y).sum()), 1e-6))


def _small_blobs(changed: np.ndarray, max_cells: int) -> np.ndarray:
    """``changed`` with only its connected areas of at most ``max_cells`` across kept."""
    count, labels, stats, _ = cv2.connectedComponentsWithStats(changed.astype(np.uint8), connectivity=8)
    small = (stats[:, cv2.CC_STAT_WIDTH] <= max_cells) & (stats[:, cv2.CC_STAT_HEIGHT] <= max_cells)
    small[0] = False  # the background label
    return np.asarray(small[labels])


def _blobs(changed: np.ndarray, min_cells: int) -> np.ndarray:
    """Bounding boxes (xyxy, grid cells) of the connected changed areas, slightly dilated."""
    mask = cv2.dilate(changed.astype(np.uint8), np.ones((3, 3), np.uint8))
    count, _labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    boxes = [(x, y, x + bw, y + bh) for x, y, bw, bh, area in stats[1:count] if area >= min_cells + 8]
    return np.array(boxes, np.float32).reshape(-1, 4)
