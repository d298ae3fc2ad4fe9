"""Box geometry on ``xyxy`` float arrays. Pure numpy; no I/O."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Margin:
    """How a detector face box grows into the region to redact.

    CenterFace boxes run from brows to chin; a head (hair, ears, forehead) is larger and sits
    higher, and an ellipse inscribed in a box covers only pi/4 of it. ``width``/``height`` scale
    the box about its centre, ``lift`` moves the centre up by that fraction of the box height.
    """

    width: float = 1.6
    height: float = 1.75
    lift: float = 0.12
    profile: float = 1.2  # a turned head: extend the side away from the nose by this x yaw x width
    min_aspect: float = 0.85  # a head is about this wide for its height; profile boxes are narrower

    def scaled(self, factor: float) -> Margin:
        return Margin(1 + (self.width - 1) * factor, 1 + (self.height - 1) * factor, self.lift * factor,
                      self.profile * factor, self.min_aspect)


def yaw(xyxy: np.ndarray, landmarks: np.ndarray | None) -> np.ndarray:
    """How far each face is turned: nose offset from the box centre in box widths (0 = frontal,
    negative = nose towards the left of the image). 0 where landmarks are unknown."""
    xyxy = np.asarray(xyxy, np.float32).reshape(-1, 4)
    if landmarks is None or len(landmarks) != len(xyxy):
        return np.zeros(len(xyxy), np.float32)
    w = np.maximum(xyxy[:, 2] - xyxy[:, 0], 1e-6)
    offset = (landmarks[:, 2, 0] - (xyxy[:, 0] + xyxy[:, 2]) / 2) / w
    return np.asarray(np.clip(np.nan_to_num(offset, nan=0.0), -0.5, 0.5), np.float32)


def grow(xyxy: np.ndarray, margin: Margin, landmarks: np.ndarray | None = None) -> np.ndarray:
    """Boxes grown by ``margin``; the result always contains the input boxes.

    With landmarks, a face in profile also grows towards the back of the head (hair, ear).
    """
    original = np.asarray(xyxy, np.float32).reshape(-1, 4)
    turn = yaw(original, landmarks)
    xyxy = original.copy()
    # a narrow (profile) box widens to a head's aspect, mostly towards the back of the head
    need = np.maximum(0.0, margin.min_aspect * (xyxy[:, 3] - xyxy[:, 1]) - (xyxy[:, 2] - xyxy[:, 0]))
    to_left = np.where(turn > 0.05, 0.8, np.where(turn < -0.05, 0.2, 0.5))
    xyxy[:, 0] -= need * to_left
    xyxy[:, 2] += need * (1 - to_left)
    wh = xyxy[:, 2:] - xyxy[:, :2]
    centre = (xyxy[:, :2] + xyxy[:, 2:]) / 2
    centre[:, 1] -= margin.lift * wh[:, 1]
    half = wh * np.array([margin.width, margin.height], np.float32) / 2
    out = np.concatenate([centre - half, centre + half], axis=1)
    back = margin.profile * turn * wh[:, 0]
    out[:, 0] -= np.maximum(back, 0)  # nose to the right: the back of the head is on the left
    out[:, 2] += np.maximum(-back, 0)
    # never smaller than the original on any side (a big lift must not uncover the chin)
    out[:, :2] = np.minimum(out[:, :2], original[:, :2])
    out[:, 2:] = np.maximum(out[:, 2:], original[:, 2:])
    return out.astype(np.float32)


def extend_at_edges(xyxy: np.ndarray, wh: tuple[int, int], pad: float = 2.0, faces: np.ndarray | None = None
                    ) -> np.ndarray:
    """Boxes that touch the frame edge (within ``pad`` px) extended past it by half their size,
    and inwards by a quarter. With ``faces`` (the face boxes the ``xyxy`` covers were grown from,
    one per cover), a cover is extended on a side only where its *face* box touches that edge:
    a whole face whose cover merely reaches past the edge (a close-up) is not cut, and its cover
    stays the head's size.

    A face leaving or entering the picture is detected only by its visible part, so its box ends
    at the edge, where the inscribed ellipse is narrowest: extending the box past the edge makes
    the ellipse cover the visible part (pixels outside the frame are never drawn); the inward
    quarter keeps the ellipse as wide as before on the inner side.
    """
    w, h = wh
    out: np.ndarray = np.asarray(xyxy, np.float32).reshape(-1, 4).copy()
    decide = out if faces is None else np.asarray(faces, np.float32).reshape(-1, 4)
    if len(decide) != len(out):
        raise ValueError(f"{len(out)} covers but {len(decide)} face boxes")
    size = out[:, 2:] - out[:, :2]
    # a detector's box of a cut face may stop a little short of the edge
    near = np.maximum(pad, 0.25 * (decide[:, 2:] - decide[:, :2])) if faces is not None else pad
    low = decide[:, :2] <= near
    high = decide[:, 2:] >= np.array([w, h], np.float32) - near
    out[:, :2] -= size * (0.5 * low + 0.25 * (high & ~low))
    out[:, 2:] += size * (0.5 * high + 0.25 * (low & ~high))
    return out


def snap_out(xyxy: np.ndarray) -> np.ndarray:
    """Boxes widened to whole pixels (floor the corners' left/top, ceil right/bottom).

    Regions are snapped before redaction so that the integer ``[x, y, w, h]`` reported for them
    describes exactly the area that was redacted.
    """
    xyxy = np.asarray(xyxy, np.float32).reshape(-1, 4)
    return np.concatenate([np.floor(xyxy[:, :2]), np.ceil(xyxy[:, 2:])], axis=1).astype(np.float32)


def expand(xyxy: np.ndarray, fraction: np.ndarray | float) -> np.ndarray:
    """Grow each box by ``fraction`` of its own size on every side."""
    xyxy = np.asarray(xyxy, np.float32).reshape(-1, 4)
    wh = xyxy[:, 2:] - xyxy[:, :2]
    pad = wh * np.asarray(fraction, np.float32).reshape(-1, 1)
    return np.concatenate([xyxy[:, :2] - pad, xyxy[:, 2:] + pad], axis=1).astype(np.float32)


def clip_int(xyxy: np.ndarray, wh: tuple[int, int]) -> np.ndarray:
    """Integer pixel boxes clipped to a ``(w, h)`` image (may be empty)."""
    w, h = wh
    out = np.empty((len(xyxy), 4), np.int64)
    out[:, 0:2] = np.floor(xyxy[:, 0:2])
    out[:, 2:4] = np.ceil(xyxy[:, 2:4])
    return np.clip(out, 0, [w, h, w, h])


def area(xyxy: np.ndarray) -> np.ndarray:
    """Area of each box (0 for an empty one), float32. Width times height with plain ufuncs
    (``np.clip`` and ``np.prod`` cost more than the arithmetic in ``merge_boxes``' inner loop)."""
    xyxy = np.asarray(xyxy, np.float32).reshape(-1, 4)
    wh = np.maximum(xyxy[:, 2:] - xyxy[:, :2], np.float32(0))
    return np.asarray(wh[:, 0] * wh[:, 1])


def inside_share(a: np.ndarray, b: np.ndarray) -> float:
    """Share of box ``a``'s area that lies inside box ``b`` (0 for an empty ``a``)."""
    return intersection(a, b) / max(float(area(a)[0]), 1e-6)


def ellipse_inside(inner: np.ndarray, outer: np.ndarray, points: int = 24) -> float:
    """Share of the outline of the ellipse inscribed in box ``inner`` that lies inside the ellipse
    inscribed in box ``outer`` (1.0: ``inner``'s cover adds nothing to ``outer``'s)."""
    angle = np.linspace(0, 2 * np.pi, points, endpoint=False)
    centre, half = (inner[:2] + inner[2:]) / 2, (inner[2:] - inner[:2]) / 2
    xy = centre + half * np.stack([np.cos(angle), np.sin(angle)], axis=1)
    oc, oh = (outer[:2] + outer[2:]) / 2, np.maximum((outer[2:] - outer[:2]) / 2, 1e-6)
    return float(np.mean((((xy - oc) / oh) ** 2).sum(axis=1) <= 1.0 + 1e-6))


def absorbed_into_others(xyxy: np.ndarray, share: float = 1.0) -> np.ndarray:
    """Indices of the covers to keep: a cover whose ellipse lies (``share`` of its outline) inside
    another kept cover's ellipse is merged into it, since it would add nothing to what that one
    hides (the larger ones are kept first). A union that would be larger than its parts is never
    formed: covers are only ever dropped into one that already holds them."""
    xyxy = np.asarray(xyxy, np.float32).reshape(-1, 4)
    keep: list[int] = []
    for i in np.argsort(-area(xyxy), kind="stable"):
        if not any(ellipse_inside(xyxy[i], xyxy[k]) >= share for k in keep):
            keep.append(int(i))
    return np.array(sorted(keep), np.int64)


def union_box(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The smallest box holding both boxes."""
    return np.concatenate([np.minimum(a[:2], b[:2]), np.maximum(a[2:], b[2:])]).astype(np.float32)


def intersection(a: np.ndarray, b: np.ndarray) -> float:
    """Area the two boxes share."""
    return float(np.prod(np.clip(np.minimum(a[2:], b[2:]) - np.maximum(a[:2], b[:2]), 0, None)))


def merge_boxes(xyxy: np.ndarray, slack: float = 1.3) -> np.ndarray:
    """Overlapping boxes replaced by their union where that costs little (the union's area at most
    ``slack`` times the area the two cover), until no such pair is left. Each box is tried
    against the boxes kept so far, in order, and merged into the first that qualifies; one box is
    compared with all of them at once (the same float32 arithmetic as box by box: the planner
    calls this with 30-80 changed areas, 2-3 ms of a 720p frame pair by pair)."""
    boxes = np.asarray(xyxy, np.float32).reshape(-1, 4)
    merged = True
    while merged and len(boxes) > 1:
        merged = False
        out = np.empty_like(boxes)
        out_area = np.empty(len(boxes), np.float32)
        n = 0
        for b, b_area in zip(boxes, area(boxes)):
            if n:
                kept = out[:n]
                lo, hi = np.maximum(kept[:, :2], b[:2]), np.minimum(kept[:, 2:], b[2:])
                inter = area(np.concatenate([lo, hi], axis=1))
                union = np.concatenate([np.minimum(kept[:, :2], b[:2]), np.maximum(kept[:, 2:], b[2:])], axis=1)
                parts = (out_area[:n] + b_area).astype(np.float64) - inter
                cheap = np.flatnonzero((inter > 0) & (area(union) <= slack * parts))
                if len(cheap):
                    i = cheap[0]
                    out[i] = union[i]
                    out_area[i] = area(union[i:i + 1])[0]
                    merged = True
                    continue
            out[n], out_area[n] = b, b_area
            n += 1
        boxes = out[:n]
    return np.array(boxes, np.float32).reshape(-1, 4)


def nms(xyxy: np.ndarray, scores: np.ndarray, iou: float) -> np.ndarray:
    """Indices kept by greedy non-maximum suppression, best score first."""
    order = np.argsort(-scores)
    keep: list[int] = []
    while len(order):
        i = order[0]
        keep.append(int(i))
        rest = order[1:]
        order = rest[iou_matrix(xyxy[i:i + 1], xyxy[rest])[0] <= iou]
    return np.asarray(keep, dtype=np.int64)


def longest_side(box: np.ndarray) -> float:
    """A box's longer side (at least 1 px): its size when comparing sizes and distances."""
    return float(max(box[2] - box[0], box[3] - box[1], 1.0))


def centre(box: np.ndarray) -> np.ndarray:
    return np.asarray((box[:2] + box[2:]) / 2)


def centre_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Distance between the two boxes' centres, in pixels."""
    return float(np.linalg.norm(centre(a) - centre(b)))


def size_ratio(a: np.ndarray, b: np.ndarray) -> float:
    """Larger over smaller ``longest_side`` (1.0: the same size)."""
    sa, sb = longest_side(a), longest_side(b)
    return max(sa, sb) / min(sa, sb)


def touch_when_grown(a: np.ndarray, b: np.ndarray, margin: float) -> bool:
    """Whether ``a`` and ``b``, each grown by ``margin`` of its own longest side per side, touch."""
    pa, pb = margin * longest_side(a), margin * longest_side(b)
    return bool(a[0] - pa <= b[2] + pb and b[0] - pb <= a[2] + pa
                and a[1] - pa <= b[3] + pb and b[1] - pb <= a[3] + pa)


def _intersections(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pairwise intersection areas, shape ``(len(a), len(b))``."""
    lt = np.maximum(a[:, None, :2], b[None, :, :2])
    rb = np.minimum(a[:, None, 2:], b[None, :, 2:])
    return np.asarray(np.prod(np.clip(rb - lt, 0, None), axis=2))


def iou_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pairwise IoU, shape ``(len(a), len(b))``."""
    if len(a) == 0 or len(b) == 0:
        return np.zeros((len(a), len(b)), np.float32)
    inter = _intersections(a, b)
    area_a = np.prod(a[:, 2:] - a[:, :2], axis=1)
    area_b = np.prod(b[:, 2:] - b[:, :2], axis=1)
    return np.asarray(inter / np.maximum(area_a[:, None] + area_b[None, :] - inter, 1e-6), np.float32)


def inside_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pairwise share of each ``b`` box's area that lies inside each ``a`` box, shape
    ``(len(a), len(b))`` (0 for an empty ``b``)."""
    if len(a) == 0 or len(b) == 0:
        return np.zeros((len(a), len(b)), np.float32)
    return np.asarray(_intersections(a, b) / np.maximum(area(b)[None, :], 1e-6), np.float32)


def region_mask(regions: np.ndarray, wh: tuple[int, int], shape: str = "ellipse") -> np.ndarray:
    """Boolean ``(h, w)`` mask of the redacted area: ellipses (or boxes) inscribed in regions.

    Exactly the pixels ``Redactor`` changes (both use ``shape_mask``).
    """
    w, h = wh
    mask = np.zeros((h, w), bool)
    regions = np.asarray(regions, np.float32).reshape(-1, 4)
    for region, (x1, y1, x2, y2) in zip(regions, clip_int(regions, wh)):
        if x2 > x1 and y2 > y1:
            mask[y1:y2, x1:x2] |= shape_mask(region, (int(x1), int(y1), int(x2), int(y2)), shape)
    return mask


def shape_mask(region: np.ndarray, crop: tuple[int, int, int, int], shape: str = "ellipse") -> np.ndarray:
    """Boolean mask over the pixel ``crop`` (x1, y1, x2, y2) of the ellipse inscribed in
    ``region`` (float xyxy, may reach outside the crop): pixels whose centre lies inside."""
    x1, y1, x2, y2 = crop
    if shape == "box":
        return np.ones((y2 - y1, x2 - x1), bool)
    rx1, ry1, rx2, ry2 = (float(v) for v in region)
    a, b = max((rx2 - rx1) / 2, 1e-6), max((ry2 - ry1) / 2, 1e-6)
    dx = ((np.arange(x1, x2, dtype=np.float32) + 0.5) - (rx1 + rx2) / 2) / a
    dy = ((np.arange(y1, y2, dtype=np.float32) + 0.5) - (ry1 + ry2) / 2) / b
    return (dy[:, None] ** 2 + dx[None, :] ** 2) <= 1.0
