"""How a published frame is judged against ground-truth face boxes. Pure numpy; no I/O.

One definition shared by ``bench/evaluate.py`` (eval videos), ``bench/new_faces.py`` (synthetic
entering faces), ``bench/cuts.py`` (cuts and loops) and the tests:

- **region coverage** (``--boxes`` judge, needs the pipeline's regions): the fraction of a box
  (clipped to the frame) inside the redacted area, ``region_mask(regions, (w, h), shape)``;
  1.0 when the whole frame is obscured. A face-frame is *covered* when this is >= ``COVERED``.
- **untouched fraction** (pixel judge, black-box, works for any tool): the fraction of a box's
  pixels whose output differs from the input by at most ``UNTOUCHED_TOL`` (sum over the three
  channels of ``|out - in|``). A face-frame *leaks detail* when this is > ``MAX_UNTOUCHED``.
- **altered fraction** (over-redaction): the fraction of all pixels of the frame that are not
  untouched.

Images are BGR ``uint8 (H, W, 3)``; boxes are ``[x, y, w, h]`` in frame pixels (may reach
outside the frame: only the inside part is judged).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from faceblur_cam.frames import PublishedFrame
from faceblur_cam.geometry import region_mask

COVERED = 0.8  # box judge: at least this share of the box redacted
UNTOUCHED_TOL = 6  # pixel judge: sum of |out - in| over B, G, R at most this = untouched
MAX_UNTOUCHED = 0.2  # pixel judge: more than this share of the box untouched = exposed


def clip_box(box: Sequence[float], wh: tuple[int, int]) -> tuple[int, int, int, int] | None:
    """``[x, y, w, h]`` -> integer ``(x1, y1, x2, y2)`` inside a ``wh`` frame; None when empty."""
    x, y, bw, bh = (float(v) for v in box)
    x1, y1 = max(0, int(round(x))), max(0, int(round(y)))
    x2, y2 = min(wh[0], int(round(x + bw))), min(wh[1], int(round(y + bh)))
    if x2 <= x1 or y2 <= y1:
        return None
    return x1, y1, x2, y2


def inside_fraction(box: Sequence[float], wh: tuple[int, int]) -> float:
    """Share of the box's area that lies inside the frame."""
    x, y, bw, bh = (float(v) for v in box)
    if bw <= 0 or bh <= 0:
        return 0.0
    iw = max(0.0, min(x + bw, wh[0]) - max(x, 0.0))
    ih = max(0.0, min(y + bh, wh[1]) - max(y, 0.0))
    return iw * ih / (bw * bh)


def untouched_mask(raw: np.ndarray, out: np.ndarray) -> np.ndarray:
    """Boolean ``(H, W)``: pixels the output left as they were (within ``UNTOUCHED_TOL``)."""
    if raw.shape != out.shape:
        raise ValueError(f"input {raw.shape} and output {out.shape} differ in shape")
    diff = np.abs(raw.astype(np.int16) - out.astype(np.int16)).sum(axis=2)
    return diff <= UNTOUCHED_TOL


def untouched_fraction(raw: np.ndarray, out: np.ndarray, box: Sequence[float]) -> float:
    """Share of the box's in-frame pixels left untouched (0.0 for a box outside the frame)."""
    crop = clip_box(box, (raw.shape[1], raw.shape[0]))
    if crop is None:
        return 0.0
    x1, y1, x2, y2 = crop
    return float(untouched_mask(raw[y1:y2, x1:x2], out[y1:y2, x1:x2]).mean())


def altered_fraction(raw: np.ndarray, out: np.ndarray) -> float:
    """Share of the whole frame the output changed (over-redaction when no face is there)."""
    return float(1.0 - untouched_mask(raw, out).mean())


def region_coverage(published: PublishedFrame, boxes: Sequence[Sequence[float]]) -> list[float]:
    """Share of each box (in-frame part) that is redacted on this frame; 1.0 when obscured or
    when the box lies wholly outside the frame."""
    if published.obscured:
        return [1.0] * len(boxes)
    h, w = published.image.shape[:2]
    mask = region_mask(published.regions.xyxy, (w, h), published.shape)
    out = []
    for box in boxes:
        crop = clip_box(box, (w, h))
        if crop is None:
            out.append(1.0)
            continue
        x1, y1, x2, y2 = crop
        out.append(float(mask[y1:y2, x1:x2].mean()))
    return out


def exposed_by_boxes(coverage: float) -> bool:
    return coverage < COVERED


def exposed_by_pixels(untouched: float) -> bool:
    return untouched > MAX_UNTOUCHED


def regions_per_face(published: PublishedFrame, visible_faces: int) -> float | None:
    """Covered regions per true face on this frame (None without a visible face or when the
    whole frame is obscured)."""
    if visible_faces <= 0 or published.obscured:
        return None
    return len(published.regions) / visible_faces
