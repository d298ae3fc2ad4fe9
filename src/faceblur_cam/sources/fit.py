"""Fitting frames to the fixed output size (letterbox: aspect kept, black bars)."""

from __future__ import annotations

import cv2
import numpy as np


def fit(image: np.ndarray, wh: tuple[int, int]) -> np.ndarray:
    """``image`` as BGR, scaled to fit ``(w, h)``, centred on black; as is when it already fits."""
    w, h = wh
    if image.ndim == 2:
        image = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    elif image.shape[2] == 4:
        image = cv2.cvtColor(image, cv2.COLOR_BGRA2BGR)
    ih, iw = image.shape[:2]
    if (iw, ih) == (w, h):
        return image
    scale = min(w / iw, h / ih)
    nw, nh = max(1, round(iw * scale)), max(1, round(ih * scale))
    resized = cv2.resize(image, (nw, nh), interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
    out = np.zeros((h, w, 3), np.uint8)
    x, y = (w - nw) // 2, (h - nh) // 2
    out[y:y + nh, x:x + nw] = resized
    return out
