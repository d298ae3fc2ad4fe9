"""Scoring FaceBlur Cam against third-party ground truth in ../shared/eval (measurement only).

A ground-truth face is *covered* on a frame when at least 80 % of its box is redacted: inside
one of the published regions' ellipses (or boxes), or anywhere when the whole frame was
obscured. A visible face-frame that is not covered *leaks*.

Over-redaction per frame: the *altered fraction* (share of the frame's pixels the pipeline
changed) and the covered regions per true face. The judging itself lives in ``bench/judge.py``.

Used by ``bench/bench.py`` and by the quality regression tests; nothing here is packaged.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import cv2
from judge import COVERED, altered_fraction, exposed_by_pixels, region_coverage, regions_per_face, untouched_fraction

from faceblur_cam.frames import CapturedFrame, PublishedFrame
from faceblur_cam.geometry import region_mask

VIDEO_SETS = ("otb_girl", "ytf_pftracker")  # the sets the quality regression has held since issue 7
ALL_VIDEO_SETS = (*VIDEO_SETS, "otb_small")  # plus small, blurred, turning faces (issue 10)
ROOT = Path(__file__).resolve().parents[1]


def eval_dir() -> Path:
    return Path(os.environ.get("FACEBLUR_EVAL_DIR", ROOT.parent / "shared" / "eval"))


@dataclass
class GtFrame:
    path: Path
    boxes: list[list[float]]  # [x, y, w, h]
    visible: bool = True


@dataclass
class Sequence:
    name: str
    frames: list[GtFrame]
    fps: float = 30.0


def load_videos(root: Path | None = None, sets: tuple[str, ...] = VIDEO_SETS) -> list[Sequence]:
    """The eval videos of ``sets`` (folders with a video ``gt.json``); greyscale frames load as BGR."""
    root = root or eval_dir()
    out = []
    for folder in sets:
        gt = json.loads((root / folder / "gt.json").read_text())
        for seq in gt["sequences"]:
            frames = [
                GtFrame(root / folder / f["file"], [b["xywh"] for b in f["boxes"]], f.get("face_visible", True))
                for f in seq["frames"]
            ]
            out.append(Sequence(f"{folder}/{seq['name']}", frames, seq.get("fps_nominal") or 30.0))
    return out


def load_stills(dataset: str = "facemask_kaggle", root: Path | None = None) -> list[GtFrame]:
    root = root or eval_dir()
    gt = json.loads((root / dataset / "gt.json").read_text())
    return [GtFrame(root / dataset / im["file"], [b["xywh"] for b in im["boxes"]]) for im in gt["images"]]


def coverage(published: PublishedFrame, boxes: list[list[float]]) -> list[float]:
    """Fraction of each ground-truth box that is redacted on this frame (``judge.region_coverage``)."""
    return region_coverage(published, boxes)


def frames_of(seq: Sequence) -> Iterator[tuple[CapturedFrame, GtFrame]]:
    for i, f in enumerate(seq.frames):
        image = cv2.imread(str(f.path), cv2.IMREAD_COLOR)
        if image is None:
            raise FileNotFoundError(f.path)
        yield CapturedFrame(image, i / seq.fps, i, f.path.name), f


@dataclass
class VideoScore:
    name: str
    face_frames: int = 0
    leaks: int = 0
    pixel_leaks: int = 0  # face-frames with > 20 % of the box untouched (black-box pixel judge)
    longest_leak_run: int = 0
    runs_of_2_or_more: int = 0
    frames: int = 0
    obscured_frames: int = 0
    area_ratios: list[float] = field(default_factory=list)  # redacted area / GT area (single-face)
    leaked: list[tuple[int, float]] = field(default_factory=list)  # (frame index, coverage)
    altered: list[float] = field(default_factory=list)  # altered fraction of each frame not wholly obscured
    regions_per_face: list[float] = field(default_factory=list)  # frames with a visible face, not obscured


def score_video(pipeline, seq: Sequence) -> VideoScore:  # type: ignore[no-untyped-def]
    """Run ``pipeline`` (reset first) over a sequence, in order, and score every frame."""
    pipeline.reset()
    score = VideoScore(seq.name)
    run = 0
    for frame, gt in frames_of(seq):
        raw = frame.image.copy()  # a pipeline that wrongly redacted in place would look untouched
        published = pipeline.process(frame)
        score.frames += 1
        score.obscured_frames += int(published.obscured)
        if not published.obscured:
            score.altered.append(altered_fraction(raw, published.image))
        per_face = regions_per_face(published, len(gt.boxes) if gt.visible else 0)
        if per_face is not None:
            score.regions_per_face.append(per_face)
        leaked_here = False
        if gt.visible and gt.boxes:
            score.pixel_leaks += sum(exposed_by_pixels(untouched_fraction(raw, published.image, b)) for b in gt.boxes)
            for cov in coverage(published, gt.boxes):
                score.face_frames += 1
                if cov < COVERED:
                    score.leaks += 1
                    score.leaked.append((frame.index, cov))
                    leaked_here = True
            if len(gt.boxes) == 1 and not published.obscured:
                h, w = published.image.shape[:2]
                area = region_mask(published.regions.xyxy, (w, h), published.shape).sum()
                gt_area = gt.boxes[0][2] * gt.boxes[0][3]
                score.area_ratios.append(float(area / max(gt_area, 1.0)))
        run = run + 1 if leaked_here else 0
        if run == 2:
            score.runs_of_2_or_more += 1
        score.longest_leak_run = max(score.longest_leak_run, run)
    return score


@dataclass
class StillsScore:
    buckets: dict[str, list[int]] = field(default_factory=dict)  # bucket -> [covered, total]
    missed: list[tuple[str, list[float], float]] = field(default_factory=list)

    def add(self, height: float, covered: bool) -> None:
        key = "<20" if height < 20 else "20-40" if height < 40 else "40-80" if height < 80 else "80+"
        c, t = self.buckets.get(key, [0, 0])
        self.buckets[key] = [c + int(covered), t + 1]

    def rate(self, keys: tuple[str, ...]) -> float:
        c = sum(self.buckets.get(k, [0, 0])[0] for k in keys)
        t = sum(self.buckets.get(k, [0, 0])[1] for k in keys)
        return c / t if t else float("nan")


def score_stills(pipeline, stills: list[GtFrame]) -> StillsScore:  # type: ignore[no-untyped-def]
    """Each image as the first frame after a reset (what a new face gets on its first frame)."""
    score = StillsScore()
    for i, still in enumerate(stills):
        pipeline.reset()
        image = cv2.imread(str(still.path), cv2.IMREAD_COLOR)
        published = pipeline.process(CapturedFrame(image, 0.0, i, still.path.name))
        for box, cov in zip(still.boxes, coverage(published, still.boxes)):
            score.add(box[3], cov >= COVERED)
            if cov < COVERED and box[3] >= 20:
                score.missed.append((still.path.name, box, cov))
    return score
