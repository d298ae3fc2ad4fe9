"""Audit benchmark: recall on raw eval frames, false suspects on FaceBlur Cam's output, damage found. JSON out.

    .venv/bin/python bench/audit.py                  # every 10th video frame, dlib + 100 facemask stills
    .venv/bin/python bench/audit.py --every 3 --stills 300
    .venv/bin/python bench/audit.py --quick          # a smoke run

- recall: on raw frames, the share of ground-truth faces >= 20 px that the audit flags (an
  uncovered detection whose centre lies in the face's box), per detector and for the union;
- precision: the audit on the same frames as ``process`` publishes them (the pipeline run over
  each whole video in order, stills one by one); a suspect on a face the pipeline really left
  uncovered (box judge) is a true find, any other suspect is false; per 1,000 frames;
- damage: on 10 randomly chosen output frames with a face >= 20 px, the raw face box is pasted
  back; the audit must flag >= 9 of them, and the untampered output frames give the "others".
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from evaluate import ALL_VIDEO_SETS, GtFrame, frames_of, load_stills, load_videos  # noqa: E402
from judge import COVERED, region_coverage  # noqa: E402

from faceblur_cam.app import build_pipeline  # noqa: E402
from faceblur_cam.audit.auditor import DETECTORS, Auditor, Look, load_auditor  # noqa: E402
from faceblur_cam.config import Config  # noqa: E402
from faceblur_cam.frames import CapturedFrame  # noqa: E402

MIN_FACE = 20


def hit(look: Look, name: str, box: list[float]) -> bool:
    x, y, w, h = box
    c = look.uncovered[name].centers
    return bool(len(c) and np.any((c[:, 0] >= x) & (c[:, 0] <= x + w) & (c[:, 1] >= y) & (c[:, 1] <= y + h)))


def samples(every: int, stills: int) -> list[tuple[str, list[tuple[CapturedFrame, GtFrame]]]]:
    """(name, [(raw frame, gt)]) per video (all frames, in order) and one entry per still."""
    out = []
    for seq in load_videos(sets=ALL_VIDEO_SETS):
        out.append((seq.name, list(frames_of(seq))))
    items = load_stills("dlib_faces") + load_stills()[:stills]
    for i, s in enumerate(items):
        out.append((f"still/{s.path.name}", [(CapturedFrame(cv2.imread(str(s.path)), 0.0, i, s.path.name), s)]))
    return out


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--every", type=int, default=10, help="audit every n-th video frame")
    ap.add_argument("--stills", type=int, default=100, help="facemask stills (after the 9 dlib photos)")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--seed", type=int, default=23)
    args = ap.parse_args()
    if args.quick:
        args.every, args.stills = 40, 20
    auditor = load_auditor()
    pipeline = build_pipeline(Config(), live=False)
    faces = 0
    hits = {n: 0 for n in (*DETECTORS, "union")}
    frames = false = true_finds = 0
    false_where: list[tuple[str, int, list[int], str]] = []
    outputs: list[tuple[np.ndarray, np.ndarray, GtFrame, bool]] = []  # (raw, output, gt, flagged) for damage
    started = time.perf_counter()
    for name, seq in samples(args.every, args.stills):
        pipeline.reset()
        for k, (frame, gt) in enumerate(seq):
            raw = frame.image.copy()
            published = pipeline.process(frame)
            if len(seq) > 1 and k % args.every:
                continue
            visible = [b for b in gt.boxes if b[3] >= MIN_FACE] if gt.visible else []
            look = auditor.look(raw)
            for box in visible:
                faces += 1
                found = {n: hit(look, n, box) for n in DETECTORS}
                for n, f in found.items():
                    hits[n] += f
                hits["union"] += any(found.values())
            frames += 1
            suspects = auditor.suspects(published.image, k, frame.t)
            leaked = [b for b, c in zip(gt.boxes, region_coverage(published, gt.boxes)) if c < COVERED] \
                if gt.visible and not published.obscured else []
            for s in suspects:
                cx, cy = s.box[0] + s.box[2] / 2, s.box[1] + s.box[3] / 2
                if any(x <= cx <= x + w and y <= cy <= y + h for x, y, w, h in leaked):
                    true_finds += 1
                else:
                    false += 1
                    false_where.append((name, k, list(s.box), s.detector))
            if visible and not leaked:
                outputs.append((raw, published.image, GtFrame(gt.path, visible), bool(suspects)))
    recall_s = time.perf_counter() - started
    damage = damage_test(auditor, outputs, args.seed)
    print(json.dumps({
        "sampled": {"every_nth_video_frame": args.every, "facemask_stills": args.stills, "frames": frames},
        "recall_raw_20px_plus": {n: round(v / max(faces, 1), 4) for n, v in hits.items()} | {"faces": faces},
        "precision_on_output": {"frames": frames, "false_suspects": false,
                                "false_per_1000_frames": round(1000 * false / max(frames, 1), 2),
                                "true_finds_on_faces_the_pipeline_left_uncovered": true_finds,
                                "false_where": false_where[:20]},
        "damage": damage,
        "seconds": round(recall_s, 1),
    }, indent=1))
    return 0


def damage_test(auditor: Auditor, outputs: list[tuple[np.ndarray, np.ndarray, GtFrame, bool]], seed: int) -> dict:  # type: ignore[type-arg]
    """Paste the raw face back on 10 random output frames; count them and the other flagged frames."""
    rng = random.Random(seed)
    chosen = set(rng.sample(range(len(outputs)), min(10, len(outputs))))
    found = 0
    for i in sorted(chosen):
        raw, out, gt, _ = outputs[i]
        tampered = out.copy()
        x, y, w, h = (int(round(v)) for v in gt.boxes[0])
        tampered[max(0, y):y + h, max(0, x):x + w] = raw[max(0, y):y + h, max(0, x):x + w]
        s = auditor.suspects(tampered, i, 0.0)
        found += any(x <= b.box[0] + b.box[2] / 2 <= x + w and y <= b.box[1] + b.box[3] / 2 <= y + h for b in s)
    others = sum(flagged for i, (_, _, _, flagged) in enumerate(outputs) if i not in chosen)
    return {"tampered": len(chosen), "tampered_found": found, "other_frames_flagged": others,
            "other_frames": len(outputs) - len(chosen)}


if __name__ == "__main__":
    sys.exit(main())
