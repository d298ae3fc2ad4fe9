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

    def scaled(self, factor: float) -> Margin:
        return Margin(1 + (self.width - 1) * factor, 1 + (self.height - 1) * factor, self.lift * factor)


def grow(xyxy: np.ndarray, margin: Margin) -> np.ndarray:
    """Boxes grown by ``margin``; the result always contains the input boxes."""
    xyxy = np.asarray(xyxy, np.float32).reshape(-1, 4)
    wh = xyxy[:, 2:] - xyxy[:, :2]
    centre = (xyxy[:, :2] + xyxy[:, 2:]) / 2
    centre[:, 1] -= margin.lift * wh[:, 1]
    half = wh * np.array([margin.width, margin.height], np.float32) / 2
    out = np.concatenate([centre - half, centre + half], axis=1)
    # never smaller than the original on any side (a big lift must not uncover the chin)
    out[:, :2] = np.minimum(out[:, :2], xyxy[:, :2])
    out[:, 2:] = np.maximum(out[:, 2:], xyxy[:, 2:])
    return out.astype(np.float32)


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


def iou_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pairwise IoU, shape ``(len(a), len(b))``."""
    if len(a) == 0 or len(b) == 0:
        return np.zeros((len(a), len(b)), np.float32)
    lt = np.maximum(a[:, None, :2], b[None, :, :2])
    rb = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.prod(np.clip(rb - lt, 0, None), axis=2)
    area_a = np.prod(a[:, 2:] - a[:, :2], axis=1)
    area_b = np.prod(b[:, 2:] - b[:, :2], axis=1)
    return (inter / np.maximum(area_a[:, None] + area_b[None, :] - inter, 1e-6)).astype(np.float32)


def region_mask(regions: np.ndarray, wh: tuple[int, int], shape: str = "ellipse") -> np.ndarray:
    """Boolean ``(h, w)`` mask of the redacted area: ellipses (or boxes) inscribed in regions."""
    import cv2

    w, h = wh
    mask = np.zeros((h, w), np.uint8)
    for x1, y1, x2, y2 in np.asarray(regions, np.float64).reshape(-1, 4):
        if shape == "box":
            xi1, yi1, xi2, yi2 = clip_int(np.array([[x1, y1, x2, y2]]), wh)[0]
            mask[yi1:yi2, xi1:xi2] = 1
        else:
            draw_ellipse(mask, (x1, y1, x2, y2))
    return mask.astype(bool)


SHIFT = 4  # sub-pixel bits for cv2.ellipse


def draw_ellipse(mask: np.ndarray, xyxy: tuple[float, float, float, float], offset: tuple[int, int] = (0, 0)) -> None:
    """Fill the ellipse inscribed in ``xyxy`` (image pixels) into ``mask`` (a crop at ``offset``)."""
    import cv2

    x1, y1, x2, y2 = xyxy
    scale = 1 << SHIFT
    centre = (int(round(((x1 + x2) / 2 - offset[0] - 0.5) * scale)),
              int(round(((y1 + y2) / 2 - offset[1] - 0.5) * scale)))
    axes = (max(1, int(round((x2 - x1) / 2 * scale))), max(1, int(round((y2 - y1) / 2 * scale))))
    cv2.ellipse(mask, centre, axes, 0, 0, 360, 1, thickness=-1, lineType=cv2.LINE_8, shift=SHIFT)
