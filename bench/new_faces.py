"""New-faces benchmark: are faces that enter mid-stream covered from their first visible frame?

    .venv/bin/python bench/new_faces.py                          # ours on ~2,000 frames, JSON out
    .venv/bin/python bench/new_faces.py --quick --variants ours,baseline
    .venv/bin/python bench/new_faces.py --save-worst /tmp/worst  # PNGs: input | output

Scenes: ``bench/scenes.py`` (seeded, 1280x720, real faces walking in, popping in, entering
through the edge during a pan or zoom, approaching from far away; some with a hand-held drift
and a face present from the start). Each scene is processed at 30 fps after a reset.

A visible face-frame is **exposed**, judged two ways (``bench/judge.py``):

- ``boxes``: less than 80 % of its ground-truth box is inside the published regions (and the
  frame is not wholly obscured);
- ``pixels`` (black-box, any tool): more than 20 % of its box's pixels are untouched;
- ``combined``: either.

Face-frames are bucketed by the face's height on that frame (an approaching face passes through
several buckets); a face counts in every bucket it is visible in. Per bucket and judge:
``faces``, ``faces_exposed`` (at least once), ``exposed_frames``, ``visible_frames``,
``exposed_rate``, ``longest_run`` (consecutive exposed frames of one face),
``max_exposed_per_face``; ``first_frame_exposed`` counts faces exposed on their very first
visible frame. ``entering`` are the faces that arrive mid-stream, ``from_start`` the faces there
from frame 0. ``over_redaction``: the altered fraction of each frame (p95, max; fully obscured
frames excluded and counted) and the covered regions per visible true face.

Variants: ``ours`` (the app's default pipeline, offline), ``thorough`` (``protect.plan =
"thorough"``), ``baseline`` (per-frame full-resolution CenterFace, ~150 ms per frame).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from evaluate import eval_dir  # noqa: E402
from judge import (  # noqa: E402
    altered_fraction,
    exposed_by_boxes,
    exposed_by_pixels,
    region_coverage,
    regions_per_face,
    untouched_fraction,
)
from scenes import BUCKETS, Scene, SceneFrame, SceneLibrary, build_scenes, render  # noqa: E402

from faceblur_cam.frames import CapturedFrame, PublishedFrame  # noqa: E402

FPS = 30.0
JUDGES = ("boxes", "pixels", "combined")
BUCKET_NAMES = ("<24",) + tuple(f"{lo}-{hi}" for lo, hi in BUCKETS) + ("200+",)


def bucket(height: float) -> str:
    if height < BUCKETS[0][0]:
        return "<24"
    for lo, hi in BUCKETS:
        if height < hi:
            return f"{lo}-{hi}"
    return "200+"


@dataclass(frozen=True)
class FaceFrame:
    face_id: str
    index: int
    height: float
    entering: bool
    coverage: float
    untouched: float

    def exposed(self, judge: str) -> bool:
        boxes, pixels = exposed_by_boxes(self.coverage), exposed_by_pixels(self.untouched)
        return {"boxes": boxes, "pixels": pixels, "combined": boxes or pixels}[judge]


@dataclass
class SceneRun:
    face_frames: list[FaceFrame] = field(default_factory=list)
    altered: list[float] = field(default_factory=list)  # frames not wholly obscured
    obscured_frames: int = 0
    frames: int = 0
    regions_per_face: list[float] = field(default_factory=list)
    seconds: float = 0.0


def judge_frame(frame: SceneFrame, published: PublishedFrame, run: SceneRun) -> list[FaceFrame]:
    """Score one processed frame into ``run``; returns its visible face-frames."""
    run.frames += 1
    visible = [g for g in frame.faces if g.visible]
    if published.obscured:
        run.obscured_frames += 1
    else:
        run.altered.append(altered_fraction(frame.image, published.image))
    per_face = regions_per_face(published, len(visible))
    if per_face is not None:
        run.regions_per_face.append(per_face)
    covs = region_coverage(published, [g.xywh for g in visible])
    out = [FaceFrame(g.face_id, frame.index, g.height, g.entering, cov,
                     untouched_fraction(frame.image, published.image, g.xywh)) for g, cov in zip(visible, covs)]
    run.face_frames += out
    return out


def run_scenes(pipeline, library: SceneLibrary, scenes: Iterable[Scene],  # type: ignore[no-untyped-def]
               worst: WorstFrames | None = None) -> SceneRun:
    """Each scene after a reset, frame by frame at ``FPS``; ``worst`` keeps the worst frames."""
    run = SceneRun()
    for scene in scenes:
        pipeline.reset()
        for frame in render(library, scene):
            captured = CapturedFrame(frame.image.copy(), frame.index / FPS, frame.index)  # judged against the original
            t0 = time.perf_counter()
            published = pipeline.process(captured)
            run.seconds += time.perf_counter() - t0
            n_altered = len(run.altered)
            face_frames = judge_frame(frame, published, run)
            if worst is not None:
                for ff in face_frames:
                    if ff.exposed("combined"):
                        worst.exposed(frame, published, ff.face_id)
                if len(run.altered) > n_altered:
                    worst.altered_frame(frame, published, run.altered[-1])
    return run


def _runs(indices: list[int]) -> int:
    best = cur = 0
    prev = None
    for i in indices:
        cur = cur + 1 if prev is not None and i == prev + 1 else 1
        best, prev = max(best, cur), i
    return best


def exposure(face_frames: list[FaceFrame], judge: str) -> dict:  # type: ignore[type-arg]
    """Per height bucket (and ``all``) exposure figures of these face-frames under ``judge``."""
    by_face: dict[str, list[FaceFrame]] = defaultdict(list)
    for ff in face_frames:
        by_face[ff.face_id].append(ff)
    first_exposed = sum(1 for ffs in by_face.values() if ffs[0].exposed(judge))
    out: dict = {}  # type: ignore[type-arg]
    for name in (*BUCKET_NAMES, "all"):
        faces = faces_exposed = exposed = visible = longest = most = 0
        for ffs in by_face.values():
            mine = [ff for ff in ffs if name == "all" or bucket(ff.height) == name]
            if not mine:
                continue
            bad = [ff.index for ff in mine if ff.exposed(judge)]
            faces += 1
            faces_exposed += int(bool(bad))
            exposed += len(bad)
            visible += len(mine)
            longest = max(longest, _runs(bad))
            most = max(most, len(bad))
        if faces:
            out[name] = {"faces": faces, "faces_exposed": faces_exposed, "exposed_frames": exposed,
                         "visible_frames": visible, "exposed_rate": round(exposed / visible, 4),
                         "longest_run": longest, "max_exposed_per_face": most}
    if "all" in out:
        out["all"]["first_frame_exposed"] = first_exposed
    return out


def over_redaction(run: SceneRun) -> dict:  # type: ignore[type-arg]
    altered = np.array(run.altered) if run.altered else np.zeros(1)
    return {
        "altered_p95": round(float(np.percentile(altered, 95)), 4),
        "altered_max": round(float(altered.max()), 4),
        "obscured_frames": run.obscured_frames,
        "frames": run.frames,
        "regions_per_face_mean": round(float(np.mean(run.regions_per_face)), 3) if run.regions_per_face else None,
    }


def report(run: SceneRun) -> dict:  # type: ignore[type-arg]
    entering = [ff for ff in run.face_frames if ff.entering]
    present = [ff for ff in run.face_frames if not ff.entering]
    return {
        "entering": {judge: exposure(entering, judge) for judge in JUDGES},
        "from_start": {judge: exposure(present, judge) for judge in JUDGES},
        "over_redaction": over_redaction(run),
        "ms_per_frame": round(1000 * run.seconds / max(run.frames, 1), 1),
    }


def side_by_side(frame: SceneFrame, published: PublishedFrame, label: str) -> np.ndarray:
    """Input | output at half size, ground truth green (visible) or grey, regions red."""
    out = published.image.copy()
    raw = frame.image.copy()
    for im in (raw, out):
        for g in frame.faces:
            x, y, w, h = (int(round(v)) for v in g.xywh)
            cv2.rectangle(im, (x, y), (x + w, y + h), (0, 255, 0) if g.visible else (128, 128, 128), 2)
    for x1, y1, x2, y2 in published.regions.xyxy:
        cv2.rectangle(out, (int(x1), int(y1)), (int(x2), int(y2)), (0, 0, 255), 2)
    pair = cv2.resize(np.hstack([raw, out]), None, fx=0.5, fy=0.5, interpolation=cv2.INTER_AREA)
    cv2.putText(pair, label, (8, 22), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (255, 255, 255), 2, cv2.LINE_AA)
    return pair


class WorstFrames:
    """Keeps the first exposed frame of each face and the most-altered frames, to save as PNG."""

    def __init__(self, faces: int = 8, altered: int = 4):
        self.first: dict[str, np.ndarray] = {}
        self.faces, self.altered = faces, altered
        self.most_altered: list[tuple[float, str, np.ndarray]] = []

    def exposed(self, frame: SceneFrame, published: PublishedFrame, face_id: str) -> None:
        if face_id not in self.first:
            self.first[face_id] = side_by_side(frame, published, f"{face_id} frame {frame.index}: exposed")

    def altered_frame(self, frame: SceneFrame, published: PublishedFrame, fraction: float) -> None:
        if len(self.most_altered) < self.altered or fraction > self.most_altered[-1][0]:
            name = f"{frame.scene} frame {frame.index}: {100 * fraction:.0f} % altered"
            self.most_altered.append((fraction, name, side_by_side(frame, published, name)))
            self.most_altered.sort(key=lambda item: -item[0])
            del self.most_altered[self.altered:]

    def save(self, out: Path, variant: str, run: SceneRun) -> list[dict]:  # type: ignore[type-arg]
        out.mkdir(parents=True, exist_ok=True)
        counts: dict[str, int] = defaultdict(int)
        for ff in run.face_frames:
            counts[ff.face_id] += int(ff.exposed("combined"))
        worst = sorted(self.first, key=lambda f: (-counts[f], f))[: self.faces]
        saved = []
        for face_id in worst:
            path = out / f"{variant}_exposed_{face_id.replace('/', '_')}.png"
            cv2.imwrite(str(path), self.first[face_id])
            saved.append({"face": face_id, "exposed_frames": counts[face_id], "png": str(path)})
        for k, (fraction, name, image) in enumerate(self.most_altered):
            path = out / f"{variant}_altered_{k}.png"
            cv2.imwrite(str(path), image)
            saved.append({"frame": name, "altered": round(fraction, 4), "png": str(path)})
        return saved


def build_variant(name: str, model: str | None = None):  # type: ignore[no-untyped-def]
    from faceblur_cam.app import build_pipeline
    from faceblur_cam.config import Config, ProtectConfig

    protect = ProtectConfig() if model is None else ProtectConfig(model=model)
    if name == "ours":
        return build_pipeline(Config(protect=protect), live=False)
    if name == "thorough":
        return build_pipeline(Config(protect=replace(protect, plan="thorough")), live=False)
    if name == "baseline":
        from bench import baseline_pipeline

        return baseline_pipeline()
    raise ValueError(name)


def measure(variant: str, library: SceneLibrary, scenes: list[Scene], save: Path | None,  # type: ignore[type-arg]
            model: str | None = None) -> dict:
    pipeline = build_variant(variant, model)
    worst = WorstFrames() if save else None
    run = run_scenes(pipeline, library, scenes, worst)
    result = report(run)
    if worst is not None and save is not None:
        result["worst_png"] = worst.save(save, variant, run)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="one scene per kind (~700 frames)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--variants", default="ours", help="comma-separated: ours, thorough, baseline")
    parser.add_argument("--save-worst", type=Path, metavar="DIR", help="save the worst frames as PNG here")
    parser.add_argument("--model", help="protect.model for ours and thorough (default: the configured default)")
    args = parser.parse_args()
    variants = [v.strip() for v in args.variants.split(",") if v.strip()]
    unknown = [v for v in variants if v not in ("ours", "thorough", "baseline")]
    if unknown or not variants:
        print(f"error: unknown variant(s) {unknown}: choose from ours, thorough, baseline", file=sys.stderr)
        sys.exit(2)
    root = eval_dir()
    if not (root / "facemask_kaggle" / "gt.json").is_file():
        print(f"error: evaluation data missing at {root}: check out ../shared beside the repo "
              "or set FACEBLUR_EVAL_DIR", file=sys.stderr)
        sys.exit(2)
    library = SceneLibrary(root)
    scenes = build_scenes(library, args.seed, args.quick)
    out: dict = {  # type: ignore[type-arg]
        "seed": args.seed, "quick": args.quick, "scenes": len(scenes), "frames": sum(s.frames for s in scenes),
        "entering_faces": sum(f.entering for s in scenes for f in s.faces),
        "faces_from_start": sum(not f.entering for s in scenes for f in s.faces),
    }
    for variant in variants:
        out[variant] = measure(variant, library, scenes, args.save_worst, args.model)
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
