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

from faceblur_cam.geometry import clip_int, shape_mask


class Style(Protocol):
    name: str

    def obscure(self, crop: np.ndarray, region_wh: tuple[float, float]) -> np.ndarray:
        """Obscured version of ``crop`` (same shape); ``region_wh`` is the full region size."""
        ...


def _grid(region_wh: tuple[float, float], crop_wh: tuple[int, int], cells: float) -> tuple[int, int]:
    """Cells across the crop so that the whole region would get ``cells`` across its long side."""
    cell = max(region_wh) / cells  # cell size in pixels: proportional to the face
    return max(1, int(np.ceil(crop_wh[0] / cell))), max(1, int(np.ceil(crop_wh[1] / cell)))


@dataclass(frozen=True)
class Blur:
    """Soft look, mosaic content: area-downsample to ~``cells`` cells, then smooth upsampling."""

    cells: float = 6.0
    name: str = "blur"

    def obscure(self, crop: np.ndarray, region_wh: tuple[float, float]) -> np.ndarray:
        h, w = crop.shape[:2]
        gw, gh = _grid(region_wh, (w, h), self.cells)
        small = cv2.resize(crop, (gw, gh), interpolation=cv2.INTER_AREA)
        # pad by edge replication so the smooth upsample has no dark border
        small = cv2.copyMakeBorder(small, 1, 1, 1, 1, cv2.BORDER_REPLICATE)
        cw, ch = w / gw, h / gh
        big = cv2.resize(small, (int(round(cw * (gw + 2))), int(round(ch * (gh + 2)))),
                         interpolation=cv2.INTER_CUBIC)
        ox, oy = int(round(cw)), int(round(ch))
        out = big[oy:oy + h, ox:ox + w]
        if out.shape[:2] != (h, w):  # rounding
            out = cv2.resize(out, (w, h), interpolation=cv2.INTER_LINEAR)
        k = max(3, int(min(cw, ch)) | 1)
        return cv2.blur(out, (k, k))


@dataclass(frozen=True)
class Pixelate:
    cells: float = 10.0
    name: str = "pixelate"

    def obscure(self, crop: np.ndarray, region_wh: tuple[float, float]) -> np.ndarray:
        h, w = crop.shape[:2]
        gw, gh = _grid(region_wh, (w, h), self.cells)
        small = cv2.resize(crop, (gw, gh), interpolation=cv2.INTER_AREA)
        return cv2.resize(small, (w, h), interpolation=cv2.INTER_NEAREST)


@dataclass(frozen=True)
class Solid:
    color: tuple[int, int, int] = (48, 48, 48)
    name: str = "solid"

    def obscure(self, crop: np.ndarray, region_wh: tuple[float, float]) -> np.ndarray:
        return np.full_like(crop, self.color)


STYLES: dict[str, Style] = {s.name: s for s in (Blur(), Pixelate(), Solid())}


def style_named(name: str) -> Style:
    try:
        return STYLES[name]
    except KeyError:
        raise ValueError(f"unknown style {name!r}: use one of {', '.join(STYLES)}") from None


class Redactor:
    """Obscures regions in place. ``shape`` is ``"ellipse"`` (inscribed) or ``"box"``."""

    def __init__(self, style: Style | None = None, shape: str = "ellipse"):
        self.style = style or Blur()
        self.shape = shape

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
            if self.shape == "box":
                crop[...] = obscured
                continue
            mask = shape_mask(region, (int(x1), int(y1), int(x2), int(y2)))
            np.copyto(crop, obscured, where=mask[:, :, None])
        return image


def obscure_frame(image: np.ndarray, cells: float = 20.0) -> np.ndarray:
    """The whole frame, obscured (fail closed): a soft mosaic ~``cells`` across the long side."""
    h, w = image.shape[:2]
    return Blur(cells=cells).obscure(image, (float(w), float(h)))
