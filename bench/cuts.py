"""Cuts and jumps: is a face that was just there covered on the frame after the picture jumps?

    .venv/bin/python bench/cuts.py            # JSON out

Material: the 640x480 YouTube Faces clip ``ytf_pftracker/Alek_Wek_1`` (141 frames) from
``../shared/eval``, processed offline at 30 fps with the default pipeline (``build_pipeline(
Config(), live=False)``), reset before each replay:

- ``cut``: a folder-like sequence of frames 100-140 followed by frames 0-59 (the face jumps
  from one place to another between two frames), and the same with the cut moved by 0-5 frames
  (frames ``100 + k`` .. 140, then 0-59): the detection plan cycles with period 6, so every
  position in the cycle meets the cut once;
- ``loop``: the whole clip played 3 times in a row (a looped file standing in for a camera).

For every frame after a cut or a loop restart: the face's *untouched* fraction (pixel judge,
exposed above 20 %) and its *coverage* by the published regions (box judge, exposed below
80 %), as in ``bench/judge.py``. Only the annotated face (the model) is judged.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from evaluate import GtFrame, eval_dir, load_videos  # noqa: E402
from judge import exposed_by_boxes, exposed_by_pixels, region_coverage, untouched_fraction  # noqa: E402

from faceblur_cam.frames import CapturedFrame  # noqa: E402
from faceblur_cam.sources.files import read_image

CLIP = "ytf_pftracker/Alek_Wek_1"
FPS = 30.0
CYCLE = 6  # the detection plan's period in frames
AFTER = 10  # frames after each jump listed one by one


def replay(pipeline, frames: list[GtFrame]) -> list[dict]:  # type: ignore[no-untyped-def, type-arg]
    """Process ``frames`` in order after a reset; per frame the worst face's judgement."""
    pipeline.reset()
    out = []
    images: dict[Path, np.ndarray] = {}
    for i, gt in enumerate(frames):
        if gt.path not in images:
            images[gt.path] = read_image(gt.path)
        raw = images[gt.path]
        published = pipeline.process(CapturedFrame(raw.copy(), i / FPS, i, gt.path.name))
        record: dict = {"i": i, "obscured": published.obscured}  # type: ignore[type-arg]
        if gt.visible and gt.boxes:
            record["untouched"] = round(max(untouched_fraction(raw, published.image, b) for b in gt.boxes), 3)
            record["coverage"] = round(min(region_coverage(published, gt.boxes)), 3)
            record["exposed"] = exposed_by_pixels(record["untouched"]) or exposed_by_boxes(record["coverage"])
        out.append(record)
    return out


def summary(records: list[dict]) -> dict:  # type: ignore[type-arg]
    judged = [r for r in records if "untouched" in r]
    run = longest = 0
    for r in judged:
        run = run + 1 if r["exposed"] else 0
        longest = max(longest, run)
    return {
        "face_frames": len(judged),
        "exposed_by_pixels": sum(exposed_by_pixels(r["untouched"]) for r in judged),
        "exposed_by_boxes": sum(exposed_by_boxes(r["coverage"]) for r in judged),
        "exposed": sum(r["exposed"] for r in judged),
        "longest_exposed_run": longest,
        "max_untouched": max((r["untouched"] for r in judged), default=None),
        "min_coverage": min((r["coverage"] for r in judged), default=None),
        "obscured_frames": sum(r["obscured"] for r in records),
    }


def cut_case(pipeline, frames: list[GtFrame]) -> dict:  # type: ignore[no-untyped-def, type-arg]
    out: dict = {}  # type: ignore[type-arg]
    for k in range(CYCLE):
        before = frames[100 + k:141]
        records = replay(pipeline, before + frames[0:60])
        after = records[len(before):]
        entry = {"cut_at_frame": len(before), **summary(after), "frames_after_cut": after[:AFTER]}
        out[f"offset_{k}"] = entry
    firsts = [v["frames_after_cut"][0].get("untouched") for v in out.values()]
    out["offsets_with_exposed_frames"] = sum(1 for v in out.values() if v["exposed"])
    out["first_frame_after_cut_untouched"] = firsts
    return out


def loop_case(pipeline, frames: list[GtFrame], times: int = 3) -> dict:  # type: ignore[no-untyped-def, type-arg]
    records = replay(pipeline, frames * times)
    restarts = [len(frames) * n for n in range(1, times)]
    return {
        "plays": times,
        **summary(records),
        "after_restart": {str(r): records[r:r + AFTER] for r in restarts},
        "after_restart_summary": {str(r): summary(records[r:r + len(frames)]) for r in restarts},
    }


def main() -> None:
    root = eval_dir()
    if not (root / "ytf_pftracker" / "gt.json").is_file():
        print(f"error: evaluation data missing at {root}: check out ../shared beside the repo "
              "or set FACEBLUR_EVAL_DIR", file=sys.stderr)
        sys.exit(2)
    from faceblur_cam.app import build_pipeline
    from faceblur_cam.config import Config

    seq = next(s for s in load_videos(root) if s.name == CLIP)
    pipeline = build_pipeline(Config(), live=False)
    report = {"clip": CLIP, "frames": len(seq.frames), "fps": FPS,
              "cut": cut_case(pipeline, seq.frames), "loop": loop_case(pipeline, seq.frames)}
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
