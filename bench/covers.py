"""Cover-size benchmark: how much of the picture a cover takes, against the head it hides. JSON out.

    .venv/bin/python bench/covers.py                       # close-ups + busy scenes (quick set)
    .venv/bin/python bench/covers.py --only closeups --save-png /work/shots/covers/after

**Close-ups** (``closeup_scenes``, seeded, 640x480 at 30 fps, 150 frames each): one caller, a
real face from ``../shared/eval`` (the largest head patches of ``bench/scenes.py``) on a real
background with a plain torso, the face box 25-50 % of the frame height, talking and moving:
a bob of a few pixels at speech rhythm, a slow sway sideways, leaning in and out (the face size
changes by up to +-15 %), and turns (the head narrows to ~65 % of its width and back, as a head
turned ~50 degrees looks).

**Head** (what a cover has to hide): the ellipse inscribed in the ground-truth face box grown by
35 % of its width on each side (ears, hair), 50 % of its height above (forehead, hair) and 30 %
below (chin, jaw): exactly the head patch the scenes paste (``scenes.HEAD_*``). Its area, clipped
to the frame, is the denominator of every ratio here.

Figures per set: ``cover_over_head`` (pixels inside the published regions' ellipses / head
pixels; mean, p95, max over frames), ``altered_over_head`` (pixels the output changed / head
pixels), ``altered_share`` (of the frame), leaks (``bench/judge.py``: < 80 % of the face box
covered or > 20 % of its pixels untouched), regions per face, and ``stages``: how much each step
of the chain adds to the cover, in head areas (mean over frames), computed by re-running the
chain on the tracker's boxes of each frame with one step more at a time (``stage_areas``).

**Busy scenes**: the quick set of ``bench/new_faces.py`` scenes (1280x720, faces entering by
walking, popping in, panning, zooming, approaching); the same stage split (heads of all visible
faces summed).
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from evaluate import eval_dir  # noqa: E402
from judge import altered_fraction, exposed_by_boxes, exposed_by_pixels, region_coverage, untouched_fraction  # noqa: E402
from scenes import HEAD_BOTTOM, HEAD_SIDE, HEAD_TOP, HeadPatch, SceneLibrary, _cover, _paste, _torso  # noqa: E402

from faceblur_cam.detections import Detections  # noqa: E402
from faceblur_cam.frames import CapturedFrame, PublishedFrame  # noqa: E402
from faceblur_cam.geometry import region_mask  # noqa: E402

CLOSEUP_WH = (640, 480)
FPS = 30.0


# --- close-up scenes ----------------------------------------------------------------------------

@dataclass(frozen=True)
class CloseUp:
    name: str
    patch: int
    background: int
    centre: np.ndarray  # float32 (n, 2): face box centre, frame pixels
    height: np.ndarray  # float32 (n,): face box height
    squeeze: np.ndarray  # float32 (n,): head width factor (1 = frontal, ~0.65 = turned)
    torso: tuple[int, int, int]


def closeup_scenes(library: SceneLibrary, seed: int = 0, count: int = 6, frames: int = 150) -> list[CloseUp]:
    rng = np.random.default_rng(seed)
    sizes = np.array([p.face[3] for p in library.patches])
    big = [int(i) for i in np.argsort(-sizes)[: max(count * 2, 12)]]
    picks = rng.choice(big, count, replace=False)
    w, h = CLOSEUP_WH
    t = np.arange(frames, dtype=np.float32) / FPS
    out = []
    for k, patch in enumerate(picks):
        base = float(rng.uniform(0.27, 0.44)) * h  # face box 25-50 % of the frame height with the lean
        lean = 1 + 0.15 * np.sin(2 * np.pi * t / rng.uniform(3, 6) + rng.uniform(0, 6))
        height = base * lean
        sway = rng.uniform(15, 45) * np.sin(2 * np.pi * t / rng.uniform(2.5, 5) + rng.uniform(0, 6))
        bob = rng.uniform(2, 6) * np.sin(2 * np.pi * t * rng.uniform(2, 4))
        cx = w / 2 + rng.uniform(-60, 60) + sway
        cy = h * rng.uniform(0.36, 0.46) + bob
        # one or two turns away and back, each ~1 s
        squeeze = np.ones(frames, np.float32)
        for _ in range(int(rng.integers(1, 3))):
            start = int(rng.integers(10, frames - 40))
            ramp = np.sin(np.linspace(0, np.pi, 30)) * rng.uniform(0.25, 0.35)
            squeeze[start:start + 30] = np.minimum(squeeze[start:start + 30], 1 - ramp)
        out.append(CloseUp(f"closeup_{k}", int(patch), int(rng.integers(len(library.backgrounds))),
                           np.stack([cx, cy], 1).astype(np.float32), height.astype(np.float32), squeeze,
                           tuple(int(v) for v in rng.integers(20, 200, 3))))  # type: ignore[arg-type]
    return out


def _turned(patch: HeadPatch, squeeze: float) -> HeadPatch:
    """The patch narrowed horizontally (a turned head looks narrower)."""
    if squeeze >= 0.999:
        return patch
    ph, pw = patch.image.shape[:2]
    nw = max(1, int(round(pw * squeeze)))
    image = cv2.resize(patch.image, (nw, ph), interpolation=cv2.INTER_AREA)
    alpha = cv2.resize(patch.alpha, (nw, ph), interpolation=cv2.INTER_LINEAR)
    x, y, fw, fh = patch.face
    return HeadPatch(image, alpha, (x * nw / pw, y, fw * nw / pw, fh), patch.source)


def render_closeup(library: SceneLibrary, scene: CloseUp) -> list[tuple[np.ndarray, tuple[float, float, float, float]]]:
    """Frames (BGR) with the ground-truth face box ``[x, y, w, h]`` of each."""
    world = _cover(library.backgrounds[scene.background], CLOSEUP_WH)
    rng = np.random.default_rng(scene.patch)
    base = library.patches[scene.patch]
    out = []
    for i in range(len(scene.height)):
        frame = world.copy()
        patch = _turned(base, float(scene.squeeze[i]))
        fh = float(scene.height[i])
        fw = fh * patch.face[2] / patch.face[3]
        cx, cy = (float(v) for v in scene.centre[i])
        xywh = (cx - fw / 2, cy - fh / 2, fw, fh)
        owner = np.full(frame.shape[:2], -1, np.int16)
        _torso(frame, (cx - fh * base.face[2] / base.face[3] / 2, cy - fh / 2, fh * base.face[2] / base.face[3], fh),
               scene.torso, 1.0, owner, 0)
        _paste(frame, patch, xywh, 1.0, owner, 0)
        noise = rng.normal(0, 1.5, frame.shape).astype(np.int16)
        out.append((np.clip(frame.astype(np.int16) + noise, 0, 255).astype(np.uint8), xywh))
    return out


def head_box(xywh: tuple[float, float, float, float]) -> np.ndarray:
    """The head around a ground-truth face box (see the module docstring), xyxy."""
    x, y, w, h = xywh
    return np.array([x - HEAD_SIDE * w, y - HEAD_TOP * h, x + w + HEAD_SIDE * w, y + h + HEAD_BOTTOM * h], np.float32)


# --- measuring ----------------------------------------------------------------------------------

class Recorder:
    """Wraps a pipeline's tracker to keep the boxes it hands over on each frame."""

    def __init__(self, pipeline) -> None:  # type: ignore[no-untyped-def]
        self.faces = Detections.empty()
        self.held_ungrown: np.ndarray = np.zeros((0, 4), np.float32)
        tracker = pipeline.tracker
        update = tracker.update

        def recording_update(detections, t, *args, **kwargs):  # type: ignore[no-untyped-def]
            faces = update(detections, t, *args, **kwargs)
            self.faces = faces
            self.held_ungrown = ungrown(tracker, faces, t)
            return faces

        tracker.update = recording_update


def ungrown(tracker, faces: Detections, t: float) -> np.ndarray:  # type: ignore[no-untyped-def]
    """The tracker's boxes of this frame without the growth while unseen (held tracks predicted
    with no growth); measured boxes as they are."""
    boxes = faces.xyxy.copy()
    by_id = {tr.track_id: tr for tr in tracker.tracks}
    for k, tid in enumerate(faces.track_ids if faces.track_ids is not None else []):
        tr = by_id.get(int(tid))
        if tr is None or tr.t == t:
            continue
        boxes[k] = _predict_plain(tr, t, tracker)
    return boxes


def _predict_plain(track, t: float, tracker) -> np.ndarray:  # type: ignore[no-untyped-def]
    dt = max(0.0, t - track.t)
    return np.asarray(track.xyxy + track.velocity * min(dt, tracker.config.max_predict_s), np.float32)


def stage_areas(pipeline, faces: Detections, ungrown_boxes: np.ndarray, wh: tuple[int, int]) -> dict[str, float]:  # type: ignore[no-untyped-def]
    """Cover pixels after each step of the chain (union over the frame's covers)."""
    from faceblur_cam import geometry as g

    def area(boxes: np.ndarray) -> float:
        return float(region_mask(boxes, wh).sum()) if len(boxes) else 0.0

    out = {"face_box": area(ungrown_boxes), "unseen_growth": area(faces.xyxy)}
    m = pipeline.margin
    lms = faces.landmarks
    plain = g.Margin(m.width, m.height, 0.0, 0.0, m.min_aspect)
    lifted = g.Margin(m.width, m.height, m.lift, 0.0, m.min_aspect)
    out["margin_scale"] = area(g.grow(faces.xyxy, plain, lms))
    out["margin_lift"] = area(g.grow(faces.xyxy, lifted, lms))
    grown = g.grow(faces.xyxy, m, lms)
    out["margin_profile"] = area(grown)
    edged = g.extend_at_edges(grown, wh, faces=faces.xyxy)
    out["edge_extension"] = area(edged)
    out["snap"] = area(g.snap_out(edged))
    return out


STAGES = ("face_box", "unseen_growth", "margin_scale", "margin_lift", "margin_profile",
          "edge_extension", "snap", "altered")


@dataclass
class CoverRun:
    frames: int = 0
    obscured: int = 0
    face_frames: int = 0
    leaks_boxes: int = 0
    leaks_pixels: int = 0
    longest_leak_run: int = 0
    cover_over_head: list[float] = field(default_factory=list)
    altered_over_head: list[float] = field(default_factory=list)
    altered_share: list[float] = field(default_factory=list)
    regions_per_face: list[float] = field(default_factory=list)
    stages: dict[str, list[float]] = field(default_factory=dict)

    def add_stages(self, areas: dict[str, float], head: float) -> None:
        prev = 0.0
        for name in STAGES:
            if name not in areas:
                continue
            self.stages.setdefault(name, []).append((areas[name] - prev) / head)
            prev = areas[name]

    def report(self) -> dict:  # type: ignore[type-arg]
        def stats(values: list[float]) -> dict[str, float]:
            a = np.array(values or [0.0])
            return {"mean": round(float(a.mean()), 3), "p50": round(float(np.percentile(a, 50)), 3),
                    "p95": round(float(np.percentile(a, 95)), 3), "max": round(float(a.max()), 3)}

        return {
            "frames": self.frames, "obscured_frames": self.obscured, "face_frames": self.face_frames,
            "leaked_face_frames_boxes": self.leaks_boxes, "leaked_face_frames_pixels": self.leaks_pixels,
            "longest_leak_run": self.longest_leak_run,
            "cover_over_head": stats(self.cover_over_head),
            "altered_over_head": stats(self.altered_over_head),
            "altered_share": stats(self.altered_share),
            "regions_per_face_mean": round(float(np.mean(self.regions_per_face)), 3) if self.regions_per_face else None,
            "stages_in_head_areas": {k: round(float(np.mean(v)), 3) for k, v in self.stages.items()},
        }


def judge(run: CoverRun, pipeline, recorder: Recorder, raw: np.ndarray,  # type: ignore[no-untyped-def]
          published: PublishedFrame, faces: list[tuple[float, float, float, float]], leak_run: list[int]) -> None:
    h, w = raw.shape[:2]
    run.frames += 1
    if published.obscured:
        run.obscured += 1
        leak_run[0] = 0
        return
    leaked = False
    for xywh, cov in zip(faces, region_coverage(published, faces)):
        run.face_frames += 1
        by_boxes = exposed_by_boxes(cov)
        by_pixels = exposed_by_pixels(untouched_fraction(raw, published.image, xywh))
        run.leaks_boxes += int(by_boxes)
        run.leaks_pixels += int(by_pixels)
        leaked |= by_boxes or by_pixels
    leak_run[0] = leak_run[0] + 1 if leaked else 0
    run.longest_leak_run = max(run.longest_leak_run, leak_run[0])
    altered = altered_fraction(raw, published.image)
    run.altered_share.append(altered)
    if not faces:
        return
    head = float(region_mask(np.array([head_box(f) for f in faces]), (w, h)).sum())
    if head <= 0:
        return
    cover = float(region_mask(published.regions.xyxy, (w, h), published.shape).sum())
    run.cover_over_head.append(cover / head)
    run.altered_over_head.append(altered * w * h / head)
    run.regions_per_face.append(len(published.regions) / len(faces))
    areas = stage_areas(pipeline, recorder.faces, recorder.held_ungrown, (w, h))
    areas["altered"] = altered * w * h  # less than the cover where the blur leaves flat pixels as they were
    run.add_stages(areas, head)
    if len(published.regions):  # what the covers beyond the largest one add (duplicates, merges)
        single = max(float(region_mask(r[None], (w, h), published.shape).sum()) for r in published.regions.xyxy)
        run.stages.setdefault("extra_covers", []).append((cover - single) / head)


def side_by_side(raw: np.ndarray, published: PublishedFrame, faces: list[tuple[float, float, float, float]],
                 label: str) -> np.ndarray:
    out = published.image.copy()
    left = raw.copy()
    for im in (left, out):
        for x, y, fw, fh in faces:
            cv2.rectangle(im, (int(x), int(y)), (int(x + fw), int(y + fh)), (0, 255, 0), 2)
            hx1, hy1, hx2, hy2 = (int(v) for v in head_box((x, y, fw, fh)))
            cv2.ellipse(im, ((hx1 + hx2) // 2, (hy1 + hy2) // 2), ((hx2 - hx1) // 2, (hy2 - hy1) // 2), 0, 0, 360,
                        (255, 255, 0), 1)
    for x1, y1, x2, y2 in published.regions.xyxy:
        cv2.rectangle(out, (int(x1), int(y1)), (int(x2), int(y2)), (0, 0, 255), 2)
    pair = np.hstack([left, out])
    if pair.shape[1] > 1600:
        pair = cv2.resize(pair, None, fx=0.5, fy=0.5, interpolation=cv2.INTER_AREA)
    cv2.putText(pair, label, (8, 22), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (255, 255, 255), 2, cv2.LINE_AA)
    return pair


def run_closeups(pipeline, library: SceneLibrary, scenes: list[CloseUp], save: Path | None) -> dict:  # type: ignore[no-untyped-def, type-arg]
    recorder = Recorder(pipeline)
    run = CoverRun()
    for scene in scenes:
        pipeline.reset()
        leak_run = [0]
        for i, (image, xywh) in enumerate(render_closeup(library, scene)):
            published = pipeline.process(CapturedFrame(image.copy(), i / FPS, i))
            judge(run, pipeline, recorder, image, published, [xywh], leak_run)
            if save is not None and scene is scenes[0] and i in (45, 100):
                save.mkdir(parents=True, exist_ok=True)
                ratio = run.cover_over_head[-1] if run.cover_over_head else 0.0
                cv2.imwrite(str(save / f"closeup_frame{i}.png"),
                            side_by_side(image, published, [xywh], f"{scene.name} frame {i}: cover {ratio:.2f}x head"))
    return run.report()


def run_busy(pipeline, library: SceneLibrary, seed: int, save: Path | None) -> dict:  # type: ignore[no-untyped-def, type-arg]
    from scenes import build_scenes, render

    recorder = Recorder(pipeline)
    run = CoverRun()
    best: tuple[int, np.ndarray] | None = None
    for scene in build_scenes(library, seed, quick=True):
        pipeline.reset()
        leak_run = [0]
        for frame in render(library, scene):
            published = pipeline.process(CapturedFrame(frame.image.copy(), frame.index / FPS, frame.index))
            visible = [g.xywh for g in frame.faces if g.visible]
            judge(run, pipeline, recorder, frame.image, published, visible, leak_run)
            if save is not None and len(visible) >= 2 and (best is None or len(visible) > best[0]) \
                    and not published.obscured:
                best = (len(visible), side_by_side(frame.image, published, visible,
                                                   f"{scene.name} frame {frame.index}: {len(visible)} faces"))
    if save is not None and best is not None:
        save.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(save / "busy.png"), best[1])
    return run.report()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", choices=["closeups", "busy"], action="append")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--scenes", type=int, default=6, help="close-up scenes (150 frames each)")
    parser.add_argument("--save-png", type=Path, metavar="DIR")
    args = parser.parse_args()
    root = eval_dir()
    if not (root / "facemask_kaggle" / "gt.json").is_file():
        print(f"error: evaluation data missing at {root}: set FACEBLUR_EVAL_DIR", file=sys.stderr)
        sys.exit(2)
    from faceblur_cam.app import build_pipeline
    from faceblur_cam.config import Config

    library = SceneLibrary(root)
    parts = args.only or ["closeups", "busy"]
    out: dict = {"seed": args.seed}  # type: ignore[type-arg]
    if "closeups" in parts:
        out["closeups"] = run_closeups(build_pipeline(Config(), live=False), library,
                                       closeup_scenes(library, args.seed, args.scenes), args.save_png)
    if "busy" in parts:
        out["busy_quick"] = run_busy(build_pipeline(Config(), live=False), library, args.seed, args.save_png)
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
