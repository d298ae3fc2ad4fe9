"""Audit benchmark: recall on raw eval frames, false suspects on FaceBlur Cam's output, damage found. JSON out.

    .venv/bin/python bench/audit.py --split dev          # the half the audit's settings were chosen on
    .venv/bin/python bench/audit.py --split holdout      # the other half, to check them
    .venv/bin/python bench/audit.py --quick              # a smoke run

The data is split in two halves that share no frame: ``dev`` has the even frames of every eval
video, the 9 dlib photos and the first half of the facemask stills; ``holdout`` the odd frames
and the second half of the stills.

- recall: on raw frames (every ``--every``-th video frame of the half and its first ``--stills``
  facemask stills, plus the dlib photos in dev), the share of ground-truth faces >= 20 px that the
  audit flags (an uncovered detection whose centre lies in the face's box), per detector and for
  the union;
- precision: the audit on frames as ``process`` publishes them (the pipeline runs over each whole
  video in order, stills one by one): every ``--out-every``-th video frame of the half (and its
  recall frames) and all of its stills (only output frames are searched here, so this sample can
  be larger than the recall one); a suspect on a face the pipeline really left uncovered (box
  judge) is a true find, any other suspect is false; per 1,000 frames, with the 95 % upper bound
  on the rate. False suspects are split by where they lie: ``on_covers`` (at least 20 % of the
  box redacted: a cover, or its edge, taken for a face) and ``on_untouched_picture`` (the
  pipeline changed nothing there: a detector's false find on the raw picture, or a real face the
  ground truth does not list; ``false_where`` ends with each one's redacted share, and
  ``--shots`` shows them);
- damage: on 10 randomly chosen recall frames' outputs with a face >= 20 px, the raw face box is
  pasted back; the audit must flag >= 9 of them; the untampered output frames give the "others".

``--shots DIR`` saves crops of the missed faces, the false suspects and the missed pasted faces.
"""

from __future__ import annotations

import argparse
import json
import math
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
ON_COVER = 0.2  # a false suspect whose box is redacted this much or more lies on a cover
SPLITS = ("dev", "holdout")


def hit(look: Look, name: str, box: list[float]) -> bool:
    x, y, w, h = box
    c = look.uncovered[name].centers
    return bool(len(c) and np.any((c[:, 0] >= x) & (c[:, 0] <= x + w) & (c[:, 1] >= y) & (c[:, 1] <= y + h)))


Sample = tuple[str, list[tuple[CapturedFrame, GtFrame, bool, bool]]]  # name, [(frame, gt, recall?, output?)]


def samples(split: str, every: int, out_every: int, stills: int) -> list[Sample]:
    """Per video (all frames in order, each marked for the recall and the output sample) and per
    still of the half."""
    half = SPLITS.index(split)
    out: list[Sample] = []
    for seq in load_videos(sets=ALL_VIDEO_SETS):
        marked = []
        for frame, gt in frames_of(seq):
            k = frame.index
            ours = k % 2 == half
            recall = ours and (k - half) % every == 0
            marked.append((frame, gt, recall, ours and (recall or (k - half) % out_every == 0)))
        out.append((seq.name, marked))
    facemask = load_stills()
    mid = len(facemask) // 2
    items = [(s, i < stills) for i, s in enumerate(facemask[:mid] if half == 0 else facemask[mid:])]
    if half == 0:
        items = [(s, True) for s in load_stills("dlib_faces")] + items
    for i, (s, recall) in enumerate(items):
        frame = CapturedFrame(cv2.imread(str(s.path)), 0.0, i, s.path.name)
        out.append((f"still/{s.path.name}", [(frame, s, recall, True)]))
    return out


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--split", choices=SPLITS, default="dev")
    ap.add_argument("--every", type=int, default=16, help="recall: every n-th video frame of the half (even)")
    ap.add_argument("--out-every", type=int, default=4, help="precision: every n-th video frame of the half (even)")
    ap.add_argument("--stills", type=int, default=80, help="recall: the half's first n facemask stills")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--seed", type=int, default=23)
    ap.add_argument("--shots", type=Path, help="save crops of misses and false suspects here")
    args = ap.parse_args()
    if args.quick:
        args.every, args.out_every, args.stills = 80, 80, 10
    if args.every % 2 or args.out_every % 2:
        ap.error("--every and --out-every must be even (the halves are the even and the odd frames)")
    auditor = load_auditor()
    pipeline = build_pipeline(Config(), live=False)
    faces = 0
    hits = {n: 0 for n in (*DETECTORS, "union")}
    frames = recall_frames = false = on_cover = true_finds = 0
    false_where: list[tuple[str, int, list[int], str, float, float]] = []
    missed: list[tuple[np.ndarray, list[float], str]] = []
    false_crops: list[tuple[np.ndarray, list[float], str]] = []
    outputs: list[tuple[np.ndarray, np.ndarray, GtFrame, bool]] = []  # (raw, output, gt, flagged) for damage
    started = time.perf_counter()
    for name, seq in samples(args.split, args.every, args.out_every, args.stills):
        pipeline.reset()
        for frame, gt, recall, output in seq:
            raw = frame.image.copy()
            published = pipeline.process(frame)
            if not output:
                continue
            visible = [b for b in gt.boxes if b[3] >= MIN_FACE] if gt.visible else []
            if recall:
                recall_frames += 1
                look = auditor.look(raw)
                for box in visible:
                    faces += 1
                    found = {n: hit(look, n, box) for n in DETECTORS}
                    for n, f in found.items():
                        hits[n] += f
                    hits["union"] += any(found.values())
                    if not any(found.values()):
                        missed.append((raw, box, f"{name}#{frame.index}"))
            frames += 1
            suspects = auditor.suspects(published.image, frame.index, frame.t)
            leaked = [b for b, c in zip(gt.boxes, region_coverage(published, gt.boxes)) if c < COVERED] \
                if gt.visible and not published.obscured else []
            for s in suspects:
                cx, cy = s.box[0] + s.box[2] / 2, s.box[1] + s.box[3] / 2
                if any(x <= cx <= x + w and y <= cy <= y + h for x, y, w, h in leaked):
                    true_finds += 1
                else:
                    false += 1
                    share = region_coverage(published, [s.box])[0]
                    on_cover += share >= ON_COVER
                    false_where.append((name, frame.index, list(s.box), s.detector, round(s.score, 3),
                                        round(share, 2)))
                    label = f"{name}#{frame.index} {s.detector} {s.score:.2f}"
                    false_crops.append((published.image, list(s.box), label))
            if recall and visible and not leaked:
                outputs.append((raw, published.image, GtFrame(gt.path, visible), bool(suspects)))
    seconds = time.perf_counter() - started
    damage, damage_missed = damage_test(auditor, outputs, args.seed)
    if args.shots:
        save_sheet(args.shots / f"audit-{args.split}-missed.png", missed)
        save_sheet(args.shots / f"audit-{args.split}-false.png", false_crops)
        save_sheet(args.shots / f"audit-{args.split}-damage-missed.png", damage_missed)
    print(json.dumps({
        "split": args.split,
        "sampled": {"every_nth_video_frame": args.every, "out_every_nth_video_frame": args.out_every,
                    "facemask_stills_for_recall": args.stills, "recall_frames": recall_frames},
        "recall_raw_20px_plus": {n: round(v / max(faces, 1), 4) for n, v in hits.items()} | {"faces": faces},
        "precision_on_output": {"frames": frames, "false_suspects": false,
                                "false_per_1000_frames": round(1000 * false / max(frames, 1), 2),
                                "upper_95_per_1000_frames": round(1000 * poisson_upper(false) / max(frames, 1), 2),
                                "false_on_covers": on_cover,
                                "false_on_untouched_picture": false - on_cover,
                                "true_finds_on_faces_the_pipeline_left_uncovered": true_finds,
                                "false_where": false_where[:20]},
        "damage": damage,
        "seconds": round(seconds, 1),
    }, indent=1))
    return 0


def poisson_upper(k: int) -> float:
    """One-sided 95 % upper bound on a Poisson mean after ``k`` events (3.0 for none)."""
    return {0: 3.0, 1: 4.74, 2: 6.30, 3: 7.75, 4: 9.15, 5: 10.51}.get(k, k + 1.645 * math.sqrt(k) + 1.0)


def damage_test(auditor: Auditor, outputs: list[tuple[np.ndarray, np.ndarray, GtFrame, bool]],
                seed: int) -> tuple[dict[str, int], list[tuple[np.ndarray, list[float], str]]]:
    """Paste the raw face back on 10 random output frames; count them and the other flagged frames."""
    rng = random.Random(seed)
    chosen = set(rng.sample(range(len(outputs)), min(10, len(outputs))))
    found = 0
    missed = []
    for i in sorted(chosen):
        raw, out, gt, _ = outputs[i]
        tampered = out.copy()
        x, y, w, h = (int(round(v)) for v in gt.boxes[0])
        tampered[max(0, y):y + h, max(0, x):x + w] = raw[max(0, y):y + h, max(0, x):x + w]
        s = auditor.suspects(tampered, i, 0.0)
        flagged = any(x <= b.box[0] + b.box[2] / 2 <= x + w and y <= b.box[1] + b.box[3] / 2 <= y + h for b in s)
        found += flagged
        if not flagged:
            missed.append((tampered, gt.boxes[0], f"{gt.path.name} {w}x{h}"))
    others = sum(flagged for i, (_, _, _, flagged) in enumerate(outputs) if i not in chosen)
    return ({"tampered": len(chosen), "tampered_found": found, "other_frames_flagged": others,
             "other_frames": len(outputs) - len(chosen)}, missed)


def save_sheet(path: Path, crops: list[tuple[np.ndarray, list[float], str]], per_row: int = 8) -> None:
    """Crops around ``[x, y, w, h]`` boxes (with a margin, box drawn) at 128 px, labelled; a PNG."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tiles = []
    for image, (x, y, w, h), label in crops[:64]:
        m = int(max(w, h) / 2)
        x1, y1 = max(0, int(x) - m), max(0, int(y) - m)
        crop = image[y1:int(y + h) + m, x1:int(x + w) + m].copy()
        cv2.rectangle(crop, (int(x) - x1, int(y) - y1), (int(x + w) - x1, int(y + h) - y1), (0, 255, 0), 1)
        tile = cv2.resize(crop, (128, 128), interpolation=cv2.INTER_NEAREST)
        cv2.putText(tile, label[-24:], (2, 124), cv2.FONT_HERSHEY_SIMPLEX, 0.3, (0, 255, 255), 1)
        tiles.append(tile)
    if not tiles:
        tiles = [np.zeros((128, 128, 3), np.uint8)]
    while len(tiles) % per_row and len(tiles) > per_row:
        tiles.append(np.zeros_like(tiles[0]))
    rows = [np.hstack(tiles[i:i + per_row]) for i in range(0, len(tiles), per_row)]
    cv2.imwrite(str(path), np.vstack(rows))


if __name__ == "__main__":
    sys.exit(main())
