"""Image checks shared by the VM guest scripts: is a frame read back from the virtual camera
the protected version of a source frame (faces obscured, everything else intact)?

Images are BGR uint8 (H, W, 3). Boxes are ``[x, y, w, h]`` as in ``../shared/eval/*/gt.json``.
Measures work on luma. "Detail" is the high-pass part (image minus its Gaussian blur), which
a blur, pixelation or solid fill removes but the I420 round trip through v4l2loopback keeps.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

BACKGROUND_GROW = 2.2  # the redactor grows boxes; "rest of the picture" starts outside this
FACE_CORE = 0.6  # the central part of a ground-truth box that must be obscured


@dataclass(frozen=True)
class FrameVerdict:
    reference: int  # index of the best-matching source frame
    background_mad: float  # mean |diff| of luma outside the grown face box
    background_detail_ncc: float  # correlation of high-pass detail outside the face
    face_detail_ncc: float  # correlation of high-pass detail in the face core (raw face ~ 1)
    face_detail_ratio: float  # detail energy in the face core, read / source (raw face ~ 1)

    @property
    def is_content(self) -> bool:
        """The frame shows the source picture (not a placeholder card or a full-frame cover)."""
        return self.background_mad < 12 and self.background_detail_ncc > 0.5

    @property
    def face_obscured(self) -> bool:
        """The face's fine detail is gone or unrelated to the source (raw faces: ~0.9; blur
        and solid fill also remove most detail energy, pixelation replaces it with edges)."""
        return self.face_detail_ncc < 0.35

    @property
    def background_intact(self) -> bool:
        return self.background_mad < 6 and self.background_detail_ncc > 0.7


def luma(image: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(image, cv2.COLOR_BGR2GRAY).astype(np.float32)


def detail(gray: np.ndarray) -> np.ndarray:
    return gray - cv2.GaussianBlur(gray, (0, 0), 1.5)


def ncc(a: np.ndarray, b: np.ndarray) -> float:
    a = a - a.mean()
    b = b - b.mean()
    denom = float(np.sqrt((a * a).sum() * (b * b).sum()))
    return float((a * b).sum() / denom) if denom > 1e-6 else 0.0


def box_mask(shape: tuple[int, int], box: list[float], scale: float) -> np.ndarray:
    """True inside ``box`` scaled by ``scale`` around its centre, clipped to the image."""
    h, w = shape
    x, y, bw, bh = box
    cx, cy = x + bw / 2, y + bh / 2
    x0, x1 = int(max(0, cx - bw * scale / 2)), int(min(w, cx + bw * scale / 2))
    y0, y1 = int(max(0, cy - bh * scale / 2)), int(min(h, cy + bh * scale / 2))
    mask = np.zeros(shape, bool)
    mask[y0:y1, x0:x1] = True
    return mask


class References:
    """Source frames with their face boxes, pre-processed once for ``judge``."""

    def __init__(self, frames: list[np.ndarray], boxes: list[list[list[float]]]):
        self.frames = frames
        self.boxes = boxes
        self.luma = [luma(f) for f in frames]
        self.detail = [detail(g) for g in self.luma]
        shape = self.luma[0].shape
        self.outside, self.face = [], []
        for frame_boxes in boxes:
            outside, face = np.ones(shape, bool), np.zeros(shape, bool)
            for box in frame_boxes:
                outside &= ~box_mask(shape, box, BACKGROUND_GROW)
                face |= box_mask(shape, box, FACE_CORE)
            self.outside.append(outside)
            self.face.append(face)

    def judge(self, frame: np.ndarray) -> FrameVerdict:
        """Match ``frame`` to the closest source frame (by the picture away from faces) and
        measure how much of that frame's faces and background survived."""
        gray = luma(frame)
        mads = [float(np.abs(gray[o] - g[o]).mean()) for g, o in zip(self.luma, self.outside)]
        i = int(np.argmin(mads))
        d_frame, d_ref, face, outside = detail(gray), self.detail[i], self.face[i], self.outside[i]
        energy_ref = float((d_ref[face] ** 2).mean()) if face.any() else 0.0
        energy = float((d_frame[face] ** 2).mean()) if face.any() else 0.0
        return FrameVerdict(
            reference=i,
            background_mad=mads[i],
            background_detail_ncc=ncc(d_frame[outside], d_ref[outside]),
            face_detail_ncc=ncc(d_frame[face], d_ref[face]) if face.any() else 0.0,
            face_detail_ratio=energy / energy_ref if energy_ref > 0 else 0.0,
        )


def mad(a: np.ndarray, b: np.ndarray) -> float:
    """Mean |diff| of luma: ~1-3 for the same picture after the I420 round trip."""
    return float(np.abs(luma(a) - luma(b)).mean())
