"""Save the worst frames of the eval videos as PNGs to look at: every leaked face-frame and the
largest over-redactions on the single-face clips. Ground truth in green, redacted regions in red,
the raw frame on the left. Prints the list as JSON.

    .venv/bin/python bench/worst_frames.py OUT_DIR [--largest 6]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench import SINGLE_FACE_CLIPS, ours_pipeline  # noqa: E402
from evaluate import COVERED, coverage, frames_of, load_videos  # noqa: E402

from faceblur_cam.geometry import region_mask  # noqa: E402


def annotated(raw: np.ndarray, published, boxes: list[list[float]], label: str) -> np.ndarray:  # type: ignore[no-untyped-def]
    out = published.image.copy()
    for x, y, w, h in boxes:
        cv2.rectangle(out, (int(x), int(y)), (int(x + w), int(y + h)), (0, 255, 0), 1)
    for x1, y1, x2, y2 in published.regions.xyxy:
        cv2.rectangle(out, (int(x1), int(y1)), (int(x2), int(y2)), (0, 0, 255), 1)
    pair = np.hstack([raw, out])
    scale = max(1, 480 // pair.shape[0])
    pair = cv2.resize(pair, None, fx=scale, fy=scale, interpolation=cv2.INTER_NEAREST)
    cv2.putText(pair, label, (4, 16), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (255, 255, 255), 1, cv2.LINE_AA)
    return pair


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", type=Path)
    parser.add_argument("--largest", type=int, default=6)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    pipeline = ours_pipeline()
    leaks, largest = [], []
    for seq in load_videos():
        pipeline.reset()
        for frame, gt in frames_of(seq):
            raw = frame.image.copy()
            published = pipeline.process(frame)
            if not (gt.visible and gt.boxes):
                continue
            name = f"{seq.name.replace('/', '_')}_{frame.index:04d}"
            for cov in coverage(published, gt.boxes):
                if cov < COVERED:
                    path = args.out / f"leak_{name}.png"
                    cv2.imwrite(str(path), annotated(raw, published, gt.boxes, f"{name} covered {cov:.2f}"))
                    leaks.append({"frame": name, "coverage": round(cov, 3), "png": str(path)})
            if seq.name in SINGLE_FACE_CLIPS and len(gt.boxes) == 1 and not published.obscured:
                h, w = raw.shape[:2]
                area = region_mask(published.regions.xyxy, (w, h), published.shape).sum()
                ratio = area / (gt.boxes[0][2] * gt.boxes[0][3])
                largest.append((float(ratio), name, raw, published, gt.boxes))
                largest.sort(key=lambda item: -item[0])
                del largest[args.largest:]
    worst = []
    for ratio, name, raw, published, boxes in largest:
        path = args.out / f"largest_{name}.png"
        cv2.imwrite(str(path), annotated(raw, published, boxes, f"{name} area {ratio:.1f}x"))
        worst.append({"frame": name, "area_ratio": round(ratio, 2), "png": str(path)})
    print(json.dumps({"leaks": leaks, "largest_over_redaction": worst}, indent=2))


if __name__ == "__main__":
    main()
