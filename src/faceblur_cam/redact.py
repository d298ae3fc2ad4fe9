"""Redaction: obscure regions of a frame in place. Pure numpy/OpenCV on arrays; no I/O.

A ``Style`` turns a crop into its obscured version; ``Redactor`` applies a style inside the
ellipse (or box) of each region. Every style is irreversible: ``blur`` (the default) first
reduces the region to a coarse mosaic (about ``cells`` cells across the region) and only then
smooths it, so it looks soft but keeps no more detail than the mosaic.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import cv2
import numpy as np

from faceblur_cam.config import Shape, StyleName
from faceblur_cam.geometry import clip_int, shape_mask


class Style(Protocol):
    @property
    def name(self) -> str: ...

    def obscure(self, crop: np.ndarray, region_wh: tuple[float, float]) -> np.ndarray:
        """Obscured version of ``crop`` (same shape); ``region_wh`` is the full region size."""
        ...


def _grid(region_wh: tuple[float, float], crop_wh: tuple[int, int], cells: float) -> tuple[int, int]:
    """Cells across the crop so that the whole region would get ``cells`` across its long side."""
    cell = max(region_wh) / cells  # cell size in pixels: proportional to the face
    return max(1, int(np.ceil(crop_wh[0] / cell))), max(1, int(np.ceil(crop_wh[1] / cell)))


def _mosaic(crop: np.ndarray, grid: tuple[int, int]) -> np.ndarray:
    """Mean colour of each grid cell (``grid`` = cells across, down). Cheap: a bilinear
    pre-shrink to 8 samples per cell, then exact area averaging."""
    h, w = crop.shape[:2]
    gw, gh = grid
    if w > gw * 8 and h > gh * 8:
        crop = cv2.resize(crop, (gw * 8, gh * 8), interpolation=cv2.INTER_LINEAR)
    return cv2.resize(crop, (gw, gh), interpolation=cv2.INTER_AREA)


@dataclass(frozen=True)
class Blur:
    """Soft look, mosaic content: ~``cells`` cell averages across the region, smoothly blended."""

    cells: float = 6.0
    name: StyleName = StyleName.BLUR

    def obscure(self, crop: np.ndarray, region_wh: tuple[float, float]) -> np.ndarray:
        h, w = crop.shape[:2]
        gw, gh = _grid(region_wh, (w, h), self.cells)
        small = _mosaic(crop, (gw, gh))
        mid = cv2.resize(small, (gw * 4, gh * 4), interpolation=cv2.INTER_LINEAR)
        mid = cv2.GaussianBlur(mid, (0, 0), 2.0, borderType=cv2.BORDER_REPLICATE)
        return cv2.resize(mid, (w, h), interpolation=cv2.INTER_LINEAR)


@dataclass(frozen=True)
class Pixelate:
    cells: float = 10.0
    name: StyleName = StyleName.PIXELATE

    def obscure(self, crop: np.ndarray, region_wh: tuple[float, float]) -> np.ndarray:
        h, w = crop.shape[:2]
        gw, gh = _grid(region_wh, (w, h), self.cells)
        return cv2.resize(_mosaic(crop, (gw, gh)), (w, h), interpolation=cv2.INTER_NEAREST)


@dataclass(frozen=True)
class Solid:
    color: tuple[int, int, int] = (48, 48, 48)
    name: StyleName = StyleName.SOLID

    def obscure(self, crop: np.ndarray, region_wh: tuple[float, float]) -> np.ndarray:
        return np.full_like(crop, self.color)


STYLES: dict[StyleName, Style] = {StyleName(s.name): s for s in (Blur(), Pixelate(), Solid())}


def style_named(name: str) -> Style:
    if name not in StyleName.names():
        raise ValueError(f"unknown style {name!r}: use one of {', '.join(StyleName.names())}")
    return STYLES[StyleName(name)]


class Redactor:
    """Obscures regions in place, each within its ``shape`` (the inscribed ellipse, or the box)."""

    def __init__(self, style: Style | None = None, shape: Shape | str = Shape.ELLIPSE):
        self.style = style or Blur()
        self.shape = Shape(shape)

    def redact(self, image: np.ndarray, regions: np.ndarray) -> np.ndarray:
        """Obscure every ``xyxy`` region of ``image`` (modified in place and returned).

        Regions may reach outside the image; the ellipse is that of the whole region, clipped.
        """
        h, w = image.shape[:2]
        regions = np.asarray(regions, np.float32).reshape(-1, 4)
        for region, (x1, y1, x2, y2) in zip(regions, clip_int(regions, (w, h))):
            if x2 <= x1 or y2 <= y1:
                continue
            crop = image[y1:y2, x1:x2]
            region_wh = (float(region[2] - region[0]), float(region[3] - region[1]))
            obscured = self.style.obscure(crop, region_wh)
            if self.shape is Shape.BOX:
                crop[...] = obscured
                continue
            mask = shape_mask(region, (int(x1), int(y1), int(x2), int(y2)))
            cv2.copyTo(obscured, mask.view(np.uint8), crop)
        return image


def reveal(out: np.ndarray, original: np.ndarray, regions: np.ndarray) -> np.ndarray:
    """Put ``original``'s pixels back into ``out`` (in place) inside the ellipse inscribed in each
    ``xyxy`` region (clipped to the image); ``out`` and ``original`` have the same shape."""
    h, w = out.shape[:2]
    regions = np.asarray(regions, np.float32).reshape(-1, 4)
    for region, (x1, y1, x2, y2) in zip(regions, clip_int(regions, (w, h))):
        if x2 > x1 and y2 > y1:
            mask = shape_mask(region, (int(x1), int(y1), int(x2), int(y2)))
            cv2.copyTo(original[y1:y2, x1:x2], mask.view(np.uint8), out[y1:y2, x1:x2])
    return out


def obscure_frame(image: np.ndarray, cells: float = 20.0) -> np.ndarray:
    """The whole frame, obscured (fail closed): a soft mosaic ~``cells`` across the long side."""
    h, w = image.shape[:2]
    return Blur(cells=cells).obscure(image, (float(w), float(h)))
