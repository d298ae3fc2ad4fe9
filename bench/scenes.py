"""Seeded synthetic 1280x720 scenes in which real faces enter mid-stream (measurement only).

Built at run time from ``../shared/eval`` (never committed):

- **faces**: unmasked faces >= 36 px tall of ``facemask_kaggle`` and the ``dlib_faces`` photos
  (not the blurriest quarter, no sliver-shaped boxes, no part of another face in the patch),
  taken as a *head patch* (the ground-truth face box grown to include hair, ears and chin) pasted
  with a soft elliptical alpha, rescaled so the face box is 24-200 px tall in the frame (a patch
  is upscaled at most ~3x where one is big enough); faces are drawn far (small) to near (large);
- **backgrounds**: the largest face-free 16:9 region of a still (every ground-truth box, masked
  or not, kept out with a margin), resized to a *world* a bit larger than the frame so the
  camera can pan, zoom and shake.

Scenarios (``KINDS``); every *entering* face is absent from frame 0 and first visible later:

- ``walk``: bystanders (head plus a plain torso block) walk in from the left or right at
  8-25 px per frame;
- ``pop``: heads pop in anywhere with a 0, 1 or 2 frame fade, stay a while, vanish;
- ``pan``: the camera pans; faces standing in the world enter through the frame edge;
- ``zoom``: the camera zooms out slowly; faces near the world's edges enter;
- ``approach``: a face grows from ~16 px to 100-150 px while it moves (someone walking up).

About half of the scenes add a hand-held drift (a small damped random walk of the whole
picture) and a face present from frame 0 (it must stay covered too; it is not *entering*).
Mild sensor noise is added to every frame.

Ground truth per frame and face (``GtFace``): the face box ``[x, y, w, h]`` in frame pixels (may
reach outside the frame), its height, its opacity, and ``visible``: opacity >= 0.5 and at least
60 % of the face box inside the frame and not hidden behind another face or torso passing in
front of it. Everything follows from ``build_scenes(seed)`` (a numpy
``Generator``): same seed, same pixels.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path

import cv2
import numpy as np
from judge import inside_fraction

from faceblur_cam.sources.files import read_image

FRAME_WH = (1280, 720)
KINDS = ("walk", "pop", "pan", "zoom", "approach")
BUCKETS = ((24, 40), (40, 80), (80, 130), (130, 200))
MIN_OPACITY = 0.5  # a face is visible at this opacity or more ...
MIN_INSIDE = 0.6  # ... with at least this share of its box inside the frame
NOISE_SIGMA = 1.5  # grey levels of sensor noise added to every frame
FULL_COUNTS = {"walk": 3, "pop": 3, "pan": 3, "zoom": 2, "approach": 3}  # ~2,000 frames, ~40 faces
QUICK_COUNTS = {"walk": 1, "pop": 1, "pan": 1, "zoom": 1, "approach": 1}

# head patch around the ground-truth face box, in face-box widths/heights
HEAD_SIDE, HEAD_TOP, HEAD_BOTTOM = 0.35, 0.5, 0.3


@dataclass(frozen=True)
class HeadPatch:
    image: np.ndarray  # BGR uint8
    alpha: np.ndarray  # float32 (h, w), 1 inside the head ellipse, soft edge
    face: tuple[float, float, float, float]  # ground-truth face box [x, y, w, h] in patch pixels
    source: str


@dataclass(frozen=True)
class FacePath:
    """One face in a scene, per frame of the scene: centre of its face box in world pixels,
    face-box height in world pixels, opacity (0 = absent)."""

    face_id: str
    patch: int
    centre: np.ndarray  # float32 (n, 2)
    height: np.ndarray  # float32 (n,)
    opacity: np.ndarray  # float32 (n,)
    entering: bool
    torso: tuple[int, int, int] | None = None  # BGR colour of a plain torso block under the head


@dataclass(frozen=True)
class Scene:
    name: str
    kind: str
    frames: int
    background: int
    world_wh: tuple[int, int]
    view_centre: np.ndarray  # float32 (n, 2): world point at the frame centre
    zoom: np.ndarray  # float32 (n,): frame pixels per world pixel
    faces: tuple[FacePath, ...]
    seed: int
    drift: bool = False


@dataclass(frozen=True)
class GtFace:
    face_id: str
    xywh: tuple[float, float, float, float]
    height: float
    opacity: float
    visible: bool
    entering: bool


@dataclass(frozen=True)
class SceneFrame:
    scene: str
    index: int
    image: np.ndarray
    faces: list[GtFace] = field(default_factory=list)


def is_visible(xywh: tuple[float, float, float, float], opacity: float, wh: tuple[int, int] = FRAME_WH) -> bool:
    """Visible by opacity and frame edges alone (``render`` also takes faces in front into account)."""
    return opacity >= MIN_OPACITY and inside_fraction(xywh, wh) >= MIN_INSIDE


class SceneLibrary:
    """Head patches and backgrounds read from the eval folder (lazily, once)."""

    def __init__(self, eval_root: Path):
        self.root = eval_root

    @cached_property
    def patches(self) -> list[HeadPatch]:
        out: list[HeadPatch] = []
        for dataset, keep in (("facemask_kaggle", lambda b: b["label"] == "without_mask"),
                              ("dlib_faces", lambda b: not b.get("ignore", False))):
            gt = json.loads((self.root / dataset / "gt.json").read_text())
            for im in gt["images"]:
                boxes = [b["xywh"] for b in im["boxes"]]
                image = None
                for i, b in enumerate(im["boxes"]):
                    if not keep(b) or b["xywh"][3] < 36:
                        continue
                    if image is None:
                        image = read_image(self.root / dataset / im["file"])
                    patch = _head_patch(image, b["xywh"], boxes[:i] + boxes[i + 1:], f"{dataset}/{im['file']}")
                    if patch is not None and 0.6 <= patch.face[2] / patch.face[3] <= 1.4:  # not a sliver
                        out.append(patch)
        sharp = [_sharpness(p) for p in out]
        cut = float(np.percentile(sharp, 25))  # drop the blurriest quarter
        return [p for p, s in zip(out, sharp) if s >= cut]

    @cached_property
    def backgrounds(self) -> list[np.ndarray]:
        found: list[tuple[int, str, tuple[int, int, int, int]]] = []
        for dataset in ("facemask_kaggle", "dlib_faces"):
            gt = json.loads((self.root / dataset / "gt.json").read_text())
            for im in gt["images"]:
                rect = _largest_free_rect(im["width"], im["height"], [b["xywh"] for b in im["boxes"]])
                if rect is not None and rect[2] >= 300:
                    found.append((rect[2], str(self.root / dataset / im["file"]), rect))
        found.sort(key=lambda item: (-item[0], item[1]))
        out = []
        for _w, path, (x, y, w, h) in found[:24]:
            image = read_image(Path(path))
            out.append(image[y:y + h, x:x + w].copy())
        return out


def _head_patch(image: np.ndarray, xywh: list[float], others: list[list[float]], source: str) -> HeadPatch | None:
    x, y, w, h = xywh
    x1, y1 = int(round(x - HEAD_SIDE * w)), int(round(y - HEAD_TOP * h))
    x2, y2 = int(round(x + w + HEAD_SIDE * w)), int(round(y + h + HEAD_BOTTOM * h))
    ih, iw = image.shape[:2]
    if x1 < 0 or y1 < 0 or x2 > iw or y2 > ih:
        return None
    for ox, oy, ow, oh in others:  # no part of another face in the patch
        if ox < x2 and ox + ow > x1 and oy < y2 and oy + oh > y1:
            return None
    crop = image[y1:y2, x1:x2].copy()
    ph, pw = crop.shape[:2]
    yy, xx = np.mgrid[0:ph, 0:pw].astype(np.float32)
    r = np.sqrt(((xx + 0.5 - pw / 2) / (pw / 2)) ** 2 + ((yy + 0.5 - ph / 2) / (ph / 2)) ** 2)
    alpha = np.clip((1.0 - r) / 0.15, 0.0, 1.0).astype(np.float32)
    return HeadPatch(crop, alpha, (x - x1, y - y1, w, h), source)


def _sharpness(patch: HeadPatch) -> float:
    x, y, w, h = (int(round(v)) for v in patch.face)
    grey = cv2.cvtColor(patch.image[y:y + h, x:x + w], cv2.COLOR_BGR2GRAY)
    grey = cv2.resize(grey, (64, 64), interpolation=cv2.INTER_AREA)
    return float(cv2.Laplacian(grey, cv2.CV_32F).var())


def _largest_free_rect(width: int, height: int, boxes: list[list[float]]) -> tuple[int, int, int, int] | None:
    """The largest 16:9 rectangle (x, y, w, h) clear of every box grown to a whole head (35 % of
    its width on each side, half its height above, 40 % below), on a 4 px grid."""
    step = 4
    gw, gh = width // step, height // step
    busy = np.zeros((gh, gw), np.int32)
    for x, y, w, h in boxes:
        bx1, by1 = int((x - 0.35 * w) // step), int((y - 0.5 * h) // step)
        bx2, by2 = int(math.ceil((x + 1.35 * w) / step)), int(math.ceil((y + 1.4 * h) / step))
        busy[max(0, by1):max(0, by2), max(0, bx1):max(0, bx2)] = 1
    integral = np.pad(busy.cumsum(0).cumsum(1), ((1, 0), (1, 0)))
    for cw in range(gw, 0, -1):
        ch = int(round(cw * 9 / 16))
        if ch < 1 or ch > gh:
            continue
        sums = (integral[ch:, cw:] - integral[:-ch, cw:] - integral[ch:, :-cw] + integral[:-ch, :-cw])
        free = np.argwhere(sums == 0)
        if len(free):
            gy, gx = free[0]
            return int(gx * step), int(gy * step), int(cw * step), int(ch * step)
    return None


# --- scene generation ---------------------------------------------------------------------------

class _Planner:
    """Draws the scene list from one numpy Generator."""

    def __init__(self, rng: np.random.Generator, patches: list[HeadPatch], backgrounds: int):
        self.rng = rng
        self.patches = patches
        self.backgrounds = backgrounds
        self.heights: list[float] = []
        self.used_patches: list[int] = []

    def height(self) -> float:
        """Face heights spread evenly over the four buckets (drawn in shuffled rounds)."""
        if not self.heights:
            self.heights = [float(self.rng.uniform(lo, hi)) for lo, hi in BUCKETS]
            self.rng.shuffle(self.heights)
        return self.heights.pop()

    def patch(self, height: float) -> int:
        """A patch whose face is not upscaled more than ~3x when possible, rarely repeated."""
        sizes = np.array([p.face[3] for p in self.patches])
        ok = np.flatnonzero(sizes >= height / 3.0)
        if not len(ok):
            ok = np.argsort(-sizes)[:10]
        fresh = [int(i) for i in ok if int(i) not in self.used_patches]
        pick = int(self.rng.choice(fresh if fresh else ok))
        self.used_patches.append(pick)
        return pick

    def torso(self) -> tuple[int, int, int]:
        return tuple(int(v) for v in self.rng.integers(20, 200, 3))  # type: ignore[return-value]


def build_scenes(library: SceneLibrary, seed: int = 0, quick: bool = False) -> list[Scene]:
    """The scene list for ``seed``: ~14 scenes (~2,000 frames, ~40 entering faces), or one per
    kind with ``quick`` (~700 frames)."""
    rng = np.random.default_rng(seed)
    planner = _Planner(rng, library.patches, len(library.backgrounds))
    counts = QUICK_COUNTS if quick else FULL_COUNTS
    scenes: list[Scene] = []
    for round_ in range(max(counts.values())):
        for kind in KINDS:
            if round_ < counts[kind]:
                number = len(scenes)
                scenes.append(_MAKERS[kind](planner, f"{number:02d}_{kind}", int(rng.integers(1 << 31)),
                                            drift=bool(number % 2), static=bool((number // 2) % 2)))
    return scenes


def _camera(n: int, world: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    centre = np.tile(np.array([world[0] / 2, world[1] / 2], np.float32), (n, 1))
    return centre, np.ones(n, np.float32)


def _static_face(p: _Planner, n: int, world: tuple[int, int], centre0: np.ndarray, name: str) -> FacePath:
    """A face there from frame 0 (a person in the call): swaying a little."""
    h = float(p.rng.uniform(60, 160))
    c = centre0 + np.array([p.rng.uniform(-350, 350), p.rng.uniform(-120, 80)], np.float32)
    t = np.arange(n, dtype=np.float32)
    sway = np.stack([6 * np.sin(t / 23.0), 3 * np.sin(t / 17.0)], axis=1)
    return FacePath(f"{name}/static", p.patch(h), (c + sway).astype(np.float32),
                    np.full(n, h, np.float32), np.ones(n, np.float32), entering=False, torso=p.torso())


def _add_drift(p: _Planner, centre: np.ndarray) -> np.ndarray:
    """A hand-held camera: a damped random walk of a few pixels added to the view centre."""
    out = centre.copy()
    pos = np.zeros(2, np.float32)
    vel = np.zeros(2, np.float32)
    for i in range(len(out)):
        vel = 0.85 * vel + p.rng.normal(0, 0.5, 2).astype(np.float32) - 0.03 * pos
        pos = np.clip(pos + vel, -25, 25)
        out[i] += pos
    return out


def _finish(p: _Planner, name: str, kind: str, n: int, world: tuple[int, int], centre: np.ndarray,
            zoom: np.ndarray, faces: list[FacePath], seed: int, drift: bool, static: bool) -> Scene:
    if static:
        faces.append(_static_face(p, n, world, centre[0], name))
    faces.sort(key=lambda f: float(np.median(f.height)))  # drawn far to near: a nearer face hides a farther one
    if drift:
        centre = _add_drift(p, centre)
    scene = Scene(name, kind, n, int(p.rng.integers(p.backgrounds)), world, centre.astype(np.float32),
                  zoom.astype(np.float32), tuple(faces), seed, drift)
    # an entering face must be absent from frame 0 and visible later; drop one that is not
    keep = []
    for face in scene.faces:
        seen = [is_visible(*face_box(p.patches[face.patch], scene, face, i)) for i in range(n)]
        if not face.entering or (not seen[0] and any(seen)):
            keep.append(face)
    return replace(scene, faces=tuple(keep))


def _walk(p: _Planner, name: str, seed: int, drift: bool, static: bool) -> Scene:
    n, margin = 150, 40
    world = (FRAME_WH[0] + 2 * margin, FRAME_WH[1] + 2 * margin)
    centre, zoom = _camera(n, world)
    faces = []
    t = np.arange(n, dtype=np.float32)
    for k in range(int(p.rng.integers(2, 4))):
        h = p.height()
        start = int(p.rng.integers(5, 70))
        speed = float(p.rng.uniform(8, 25))
        left = bool(p.rng.integers(2))
        x0 = margin - 1.6 * h if left else margin + FRAME_WH[0] + 1.6 * h
        x = x0 + (1 if left else -1) * speed * np.maximum(t - start, 0)
        y = margin + float(p.rng.uniform(0.25, 0.6)) * FRAME_WH[1] + 2.0 * np.abs(np.sin(t * speed / 60.0))
        opacity = (t >= start).astype(np.float32)
        faces.append(FacePath(f"{name}/{k}", p.patch(h), np.stack([x, y], 1).astype(np.float32),
                              np.full(n, h, np.float32), opacity, entering=True, torso=p.torso()))
    return _finish(p, name, "walk", n, world, centre, zoom, faces, seed, drift, static)


def _pop(p: _Planner, name: str, seed: int, drift: bool, static: bool) -> Scene:
    n, margin = 140, 40
    world = (FRAME_WH[0] + 2 * margin, FRAME_WH[1] + 2 * margin)
    centre, zoom = _camera(n, world)
    faces: list[FacePath] = []
    placed: list[tuple[float, float, float]] = []
    t = np.arange(n, dtype=np.float32)
    for k in range(int(p.rng.integers(3, 6))):
        h = p.height()
        for _try in range(50):  # a free spot, inside the frame
            cx = margin + float(p.rng.uniform(0.6 * h + 10, FRAME_WH[0] - 0.6 * h - 10))
            cy = margin + float(p.rng.uniform(0.8 * h + 10, FRAME_WH[1] - 0.8 * h - 10))
            if all(abs(cx - ox) > 0.8 * (h + oh) or abs(cy - oy) > 1.0 * (h + oh) for ox, oy, oh in placed):
                break
        placed.append((cx, cy, h))
        start = int(p.rng.integers(5, 90))
        stay = int(p.rng.integers(30, 60))
        fade = int(p.rng.integers(0, 3))
        opacity = np.clip((t - start + 1) / (fade + 1), 0, 1) * (t < start + stay)
        vel = p.rng.uniform(-1.5, 1.5, 2)
        c = np.stack([cx + vel[0] * np.maximum(t - start, 0), cy + vel[1] * np.maximum(t - start, 0)], 1)
        faces.append(FacePath(f"{name}/{k}", p.patch(h), c.astype(np.float32), np.full(n, h, np.float32),
                              opacity.astype(np.float32), entering=True))
    return _finish(p, name, "pop", n, world, centre, zoom, faces, seed, drift, static)


def _pan(p: _Planner, name: str, seed: int, drift: bool, static: bool) -> Scene:
    n, margin = 150, 40
    speed = float(p.rng.uniform(4, 12))
    tilt_room = 50
    right = bool(p.rng.integers(2))  # camera turns right: new picture enters at the right edge
    travel = speed * 120
    world = (int(FRAME_WH[0] + travel + 2 * margin), FRAME_WH[1] + 2 * (margin + tilt_room))
    t = np.arange(n, dtype=np.float32)
    moved = speed * np.clip(t - 10, 0, 120)
    x0 = margin + FRAME_WH[0] / 2 if right else world[0] - margin - FRAME_WH[0] / 2
    cx = x0 + (moved if right else -moved)
    cy = world[1] / 2 + float(p.rng.uniform(-0.03, 0.03)) * moved  # a slight tilt
    centre = np.stack([cx, cy], 1).astype(np.float32)
    zoom = np.ones(n, np.float32)
    faces = []
    count = int(p.rng.integers(2, 4))
    placed: list[tuple[float, float, float]] = []
    for k in range(count):
        h = p.height()
        for _try in range(50):  # not on top of a face placed before
            along = (k + float(p.rng.uniform(0.3, 0.9))) / count * travel * 0.9 + 0.7 * h
            fx = (x0 + FRAME_WH[0] / 2 + along) if right else (x0 - FRAME_WH[0] / 2 - along)
            fy = world[1] / 2 + float(p.rng.uniform(-0.3, 0.25)) * FRAME_WH[1]
            if all(abs(fx - ox) > 0.8 * (h + oh) or abs(fy - oy) > 1.0 * (h + oh) for ox, oy, oh in placed):
                break
        placed.append((fx, fy, h))
        faces.append(FacePath(f"{name}/{k}", p.patch(h), np.tile(np.array([fx, fy], np.float32), (n, 1)),
                              np.full(n, h, np.float32), np.ones(n, np.float32), entering=True,
                              torso=p.torso() if p.rng.integers(2) else None))
    return _finish(p, name, "pan", n, world, centre, zoom, faces, seed, drift, static)


def _zoom(p: _Planner, name: str, seed: int, drift: bool, static: bool) -> Scene:
    n, margin, z0 = 140, 40, 1.45
    world = (FRAME_WH[0] + 2 * margin, FRAME_WH[1] + 2 * margin)
    centre, _ones = _camera(n, world)
    t = np.arange(n, dtype=np.float32)
    s = np.clip((t - 10) / 100, 0, 1)
    zoom = (z0 + (1.0 - z0) * (3 * s**2 - 2 * s**3)).astype(np.float32)  # zoom out, eased
    faces = []
    half0 = np.array(FRAME_WH, np.float32) / 2 / z0  # world half-size seen at the start
    for k in range(int(p.rng.integers(2, 4))):
        h_frame = p.height()  # height in the frame once zoomed out
        h = h_frame / 1.2  # in the frame: 1.2x this as it enters, 1x at the end
        side = int(p.rng.integers(4))  # 0 left, 1 right, 2 top, 3 bottom
        wc = np.array(world, np.float32) / 2
        if side < 2:
            lo = half0[0] + 0.9 * h
            hi = FRAME_WH[0] / 2 - 0.7 * h
            fx = wc[0] + (1 if side else -1) * float(p.rng.uniform(lo, max(lo + 1, hi)))
            fy = wc[1] + float(p.rng.uniform(-0.3, 0.3)) * FRAME_WH[1]
        else:
            lo = half0[1] + 1.0 * h
            hi = FRAME_WH[1] / 2 - 0.8 * h
            fy = wc[1] + (1 if side == 3 else -1) * float(p.rng.uniform(lo, max(lo + 1, hi)))
            fx = wc[0] + float(p.rng.uniform(-0.35, 0.35)) * FRAME_WH[0]
        faces.append(FacePath(f"{name}/{k}", p.patch(h_frame * z0), np.tile(np.array([fx, fy], np.float32), (n, 1)),
                              np.full(n, h, np.float32), np.ones(n, np.float32), entering=True))
    return _finish(p, name, "zoom", n, world, centre, zoom, faces, seed, drift, static)


def _approach(p: _Planner, name: str, seed: int, drift: bool, static: bool) -> Scene:
    n, margin = 150, 40
    world = (FRAME_WH[0] + 2 * margin, FRAME_WH[1] + 2 * margin)
    centre, zoom = _camera(n, world)
    t = np.arange(n, dtype=np.float32)
    faces = []
    count = 2
    for k in range(count):  # each walks in its own part of the picture
        lo, hi = k / count, (k + 1) / count
        start = int(p.rng.integers(5, 40))
        steps = int(p.rng.integers(70, 105))
        h_end = float(p.rng.uniform(100, 150))
        s = np.clip((t - start) / steps, 0, 1)
        height = 16.0 * (h_end / 16.0) ** s
        a = np.array([margin + p.rng.uniform(lo + 0.2 * (hi - lo), hi - 0.2 * (hi - lo)) * FRAME_WH[0],
                      margin + p.rng.uniform(0.3, 0.45) * FRAME_WH[1]])
        b = np.array([margin + p.rng.uniform(lo + 0.25 * (hi - lo), hi - 0.25 * (hi - lo)) * FRAME_WH[0],
                      margin + p.rng.uniform(0.35, 0.55) * FRAME_WH[1]])
        c = a[None, :] + s[:, None] * (b - a)[None, :]
        opacity = (t >= start).astype(np.float32)
        faces.append(FacePath(f"{name}/{k}", p.patch(h_end), c.astype(np.float32), height.astype(np.float32),
                              opacity, entering=True, torso=p.torso()))
    return _finish(p, name, "approach", n, world, centre, zoom, faces, seed, drift, static)


_MAKERS = {"walk": _walk, "pop": _pop, "pan": _pan, "zoom": _zoom, "approach": _approach}


# --- rendering ----------------------------------------------------------------------------------

def render(library: SceneLibrary, scene: Scene) -> Iterator[SceneFrame]:
    """The scene's frames in order: BGR uint8 1280x720 images with per-face ground truth."""
    world = _cover(library.backgrounds[scene.background], scene.world_wh)
    rng = np.random.default_rng(scene.seed)
    noise = [rng.normal(0, NOISE_SIGMA, (FRAME_WH[1], FRAME_WH[0], 3)).astype(np.int16) for _ in range(4)]
    for i in range(scene.frames):
        z = float(scene.zoom[i])
        cx, cy = (float(v) for v in scene.view_centre[i])
        affine = np.array([[z, 0, FRAME_WH[0] / 2 - z * cx], [0, z, FRAME_WH[1] / 2 - z * cy]], np.float32)
        frame = cv2.warpAffine(world, affine, FRAME_WH, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
        owner = np.full((FRAME_WH[1], FRAME_WH[0]), -1, np.int16)  # which face (or its torso) is in front
        boxes = []
        for k, face in enumerate(scene.faces):
            patch = library.patches[face.patch]
            xywh, opacity = face_box(patch, scene, face, i)
            boxes.append((xywh, opacity))
            if opacity > 0:
                if face.torso is not None:
                    _torso(frame, xywh, face.torso, opacity, owner, k)
                _paste(frame, patch, xywh, opacity, owner, k)
        gts = []
        for k, (face, (xywh, opacity)) in enumerate(zip(scene.faces, boxes)):
            shown = _unhidden_share(owner, xywh, k)
            gts.append(GtFace(face.face_id, xywh, xywh[3], opacity,
                              opacity >= MIN_OPACITY and shown >= MIN_INSIDE, face.entering))
        frame = np.clip(frame.astype(np.int16) + noise[i % len(noise)], 0, 255).astype(np.uint8)
        yield SceneFrame(scene.name, i, frame, gts)


def face_box(patch: HeadPatch, scene: Scene, face: FacePath, i: int) -> tuple[tuple[float, float, float, float], float]:
    """Frame ``i``: the face's ground-truth box ``[x, y, w, h]`` in frame pixels and its opacity."""
    z = float(scene.zoom[i])
    fcx = z * (float(face.centre[i, 0]) - float(scene.view_centre[i, 0])) + FRAME_WH[0] / 2
    fcy = z * (float(face.centre[i, 1]) - float(scene.view_centre[i, 1])) + FRAME_WH[1] / 2
    fh = z * float(face.height[i])
    fw = fh * patch.face[2] / patch.face[3]
    return (fcx - fw / 2, fcy - fh / 2, fw, fh), float(face.opacity[i])


def _cover(image: np.ndarray, wh: tuple[int, int]) -> np.ndarray:
    """Resize to cover ``wh`` (keeping the aspect), centre-cropped."""
    h, w = image.shape[:2]
    s = max(wh[0] / w, wh[1] / h)
    big = cv2.resize(image, (max(wh[0], round(w * s)), max(wh[1], round(h * s))), interpolation=cv2.INTER_CUBIC)
    y0, x0 = (big.shape[0] - wh[1]) // 2, (big.shape[1] - wh[0]) // 2
    return big[y0:y0 + wh[1], x0:x0 + wh[0]].copy()


def _unhidden_share(owner: np.ndarray, xywh: tuple[float, float, float, float], k: int) -> float:
    """Share of the face box that is inside the frame and not behind a face or torso in front."""
    x, y, w, h = xywh
    x1, y1 = max(0, int(round(x))), max(0, int(round(y)))
    x2, y2 = min(owner.shape[1], int(round(x + w))), min(owner.shape[0], int(round(y + h)))
    if x2 <= x1 or y2 <= y1:
        return 0.0
    return float((owner[y1:y2, x1:x2] == k).sum()) / max(1.0, round(w) * round(h))


def _paste(frame: np.ndarray, patch: HeadPatch, xywh: tuple[float, float, float, float], opacity: float,
           owner: np.ndarray, k: int) -> None:
    s = xywh[3] / patch.face[3]
    ph, pw = patch.image.shape[:2]
    tw, th = max(1, round(pw * s)), max(1, round(ph * s))
    interp = cv2.INTER_AREA if s < 1 else cv2.INTER_CUBIC
    image = cv2.resize(patch.image, (tw, th), interpolation=interp)
    alpha = cv2.resize(patch.alpha, (tw, th), interpolation=cv2.INTER_LINEAR) * opacity
    x0 = int(round(xywh[0] - patch.face[0] * s))
    y0 = int(round(xywh[1] - patch.face[1] * s))
    _blend(frame, image, alpha, x0, y0)
    _claim(owner, alpha >= 0.5 * opacity, x0, y0, k)


def _torso(frame: np.ndarray, xywh: tuple[float, float, float, float], colour: tuple[int, int, int],
           opacity: float, owner: np.ndarray, k: int) -> None:
    x, y, w, h = xywh
    tw, th = int(2.6 * w), int(3.5 * h)
    x0, y0 = int(x + w / 2 - tw / 2), int(y + 1.15 * h)
    block = np.empty((th, tw, 3), np.uint8)
    block[:] = colour
    _blend(frame, block, np.full((th, tw), opacity, np.float32), x0, y0)
    _claim(owner, np.ones((th, tw), bool), x0, y0, k)


def _claim(owner: np.ndarray, mask: np.ndarray, x0: int, y0: int, k: int) -> None:
    """Mark where element ``k`` now lies in front (``mask`` placed at ``x0, y0``)."""
    fh, fw = owner.shape
    h, w = mask.shape
    fx1, fy1, fx2, fy2 = max(0, x0), max(0, y0), min(fw, x0 + w), min(fh, y0 + h)
    if fx2 > fx1 and fy2 > fy1:
        region = owner[fy1:fy2, fx1:fx2]
        region[mask[fy1 - y0:fy2 - y0, fx1 - x0:fx2 - x0]] = k


def _blend(frame: np.ndarray, image: np.ndarray, alpha: np.ndarray, x0: int, y0: int) -> None:
    fh, fw = frame.shape[:2]
    h, w = image.shape[:2]
    fx1, fy1, fx2, fy2 = max(0, x0), max(0, y0), min(fw, x0 + w), min(fh, y0 + h)
    if fx2 <= fx1 or fy2 <= fy1:
        return
    src = image[fy1 - y0:fy2 - y0, fx1 - x0:fx2 - x0].astype(np.float32)
    a = alpha[fy1 - y0:fy2 - y0, fx1 - x0:fx2 - x0, None]
    dst = frame[fy1:fy2, fx1:fx2].astype(np.float32)
    frame[fy1:fy2, fx1:fx2] = (dst * (1 - a) + src * a + 0.5).astype(np.uint8)
