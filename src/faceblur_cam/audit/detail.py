"""Does the picture inside a face box still carry detail? Pure numpy/OpenCV; no I/O.

A cover leaves no fine detail: ``blur`` keeps a soft mosaic of a few cells across the face,
``solid`` none at all, and ``pixelate`` only edges that run exactly across or down the picture
(the cell borders). A real face has detail at every orientation (eyes, brows, nostrils, lips,
hair, skin texture). So, with the box's middle (the part every cover shape holds) scaled to a
face ``SIZE`` pixels tall:

- ``laplacian``: mean |Laplacian| (fine detail of any kind; low for blur and solid);
- ``oblique``: mean of min(|d/dx|, |d/dy|) (gradients that are neither across nor down; low for
  blur, solid and pixelate alike, also after video compression softened the cells' borders);

and ``detail_score = min(laplacian, oblique)``: a face needs both to count as uncovered.
``points_detail`` judges the same maps in small windows around given points (the auditor uses
the eyes: a detector's box around a cover often reaches past its edge into a detailed
background, while at least one eye stays in the cover).
On eval faces >= 20 px (dlib + 200 facemask images, whole ground-truth boxes): raw faces score
>= 13 in 99.5 % of cases, our three covers <= 1.3 in 95 % (the rest are faces the cover only
partly holds). ``DETAIL_MIN`` was chosen on ``bench/audit.py``'s data (the audit judges around the
landmarks: see ``auditor.judged_box``): 8 and 10 gave the same false suspects on our output.
"""

from __future__ import annotations

import cv2
import numpy as np

SIZE = 32  # the box is judged at this height (detail relative to the face, not to the frame)
INNER = 0.2  # judge the box without this fraction at each side (the corners outside an ellipse)
DETAIL_MIN = 8.0  # detail_score at or above this: the face is not covered
POINT_RADIUS = 0.15  # points_detail: half a window's side, as a share of the judged box's height
SIDE_MIN = 5.0  # side_detail below this: one side of the face is smooth (a cover's edge runs through it)


def detail_score(image: np.ndarray, xyxy: np.ndarray | list[float]) -> float:
    """``min(laplacian, oblique)`` inside the middle of the box ``xyxy`` of a BGR image (0 when the
    box is too small to judge)."""
    maps = _detail_maps(image, xyxy)
    if maps is None:
        return 0.0
    laplacian, oblique, _ = maps
    sh, sw = laplacian.shape
    inner = (slice(int(sh * INNER), int(np.ceil(sh * (1 - INNER)))),
             slice(int(sw * INNER), int(np.ceil(sw * (1 - INNER)))))
    return min(float(laplacian[inner].mean()), float(oblique[inner].mean()))


def side_detail(image: np.ndarray, xyxy: np.ndarray | list[float]) -> float:
    """The lesser detail of the left and right halves of the box's middle (``min(laplacian,
    oblique)`` as in ``detail_score``; 0 when the box is too small to judge).

    A face has detail on both sides (an eye, a brow, a mouth corner each). A detector's box across
    a cover's edge can have both eyes and the middle on the detailed side, next to the smooth
    cover: its other half is smooth. On ``bench/audit.py``'s raw faces (both halves of the data)
    no face flagged today has a half below ``SIDE_MIN``; 99.5 % are at 8 or more."""
    maps = _detail_maps(image, xyxy)
    if maps is None:
        return 0.0
    laplacian, oblique, _ = maps
    sh, sw = laplacian.shape
    rows = slice(int(sh * INNER), int(np.ceil(sh * (1 - INNER))))
    left, right = int(sw * INNER), int(np.ceil(sw * (1 - INNER)))
    mid = (left + right) // 2
    return min(min(float(laplacian[rows, cols].mean()), float(oblique[rows, cols].mean()))
               for cols in (slice(left, mid), slice(mid, right)))


def points_detail(image: np.ndarray, xyxy: np.ndarray | list[float], points: np.ndarray) -> float:
    """The least detail around any of ``points`` (frame pixels, ``(N, 2)``): ``min(laplacian,
    oblique)`` in a window of ``2 * POINT_RADIUS`` of the box's height around each, the box judged
    at ``SIZE`` pixels tall as in ``detail_score`` (0 when the box is too small to judge)."""
    maps = _detail_maps(image, xyxy)
    if maps is None:
        return 0.0
    laplacian, oblique, (x0, y0, per_px) = maps
    sh, sw = laplacian.shape
    r = max(2, int(round(POINT_RADIUS * sh)))
    least = float("inf")
    for px, py in points:
        cx, cy = int((px - x0) / per_px[0]), int((py - y0) / per_px[1])
        xs, ys = slice(max(0, cx - r), min(sw, cx + r + 1)), slice(max(0, cy - r), min(sh, cy + r + 1))
        if xs.stop - xs.start < 2 or ys.stop - ys.start < 2:
            return 0.0  # the point lies outside the box: nothing of it to judge
        least = min(least, float(laplacian[ys, xs].mean()), float(oblique[ys, xs].mean()))
    return least if len(points) else 0.0


def _detail_maps(image: np.ndarray, xyxy: np.ndarray | list[float]
                 ) -> tuple[np.ndarray, np.ndarray, tuple[int, int, tuple[float, float]]] | None:
    """|Laplacian| and min(|d/dx|, |d/dy|) of the box scaled to ``SIZE`` pixels tall, with the
    box's top-left corner and frame pixels per map pixel (x, y); None when the box is too small."""
    h, w = image.shape[:2]
    x1, y1 = int(max(0, np.floor(xyxy[0]))), int(max(0, np.floor(xyxy[1])))
    x2, y2 = int(min(w, np.ceil(xyxy[2]))), int(min(h, np.ceil(xyxy[3])))
    if x2 - x1 < 4 or y2 - y1 < 4:
        return None
    gray = cv2.cvtColor(image[y1:y2, x1:x2], cv2.COLOR_BGR2GRAY).astype(np.float32)
    scale = SIZE / (y2 - y1)
    small = cv2.resize(gray, (max(8, int(round((x2 - x1) * scale))), SIZE),
                       interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
    laplacian = np.abs(cv2.Laplacian(small, cv2.CV_32F, ksize=3))
    gx = np.abs(cv2.Sobel(small, cv2.CV_32F, 1, 0, ksize=3))
    gy = np.abs(cv2.Sobel(small, cv2.CV_32F, 0, 1, ksize=3))
    per_px = ((x2 - x1) / small.shape[1], (y2 - y1) / small.shape[0])
    return laplacian, np.minimum(gx, gy), (x1, y1, per_px)


def has_detail(image: np.ndarray, xyxy: np.ndarray | list[float], threshold: float = DETAIL_MIN) -> bool:
    return detail_score(image, xyxy) >= threshold
