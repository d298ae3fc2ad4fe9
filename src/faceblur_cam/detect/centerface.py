"""CenterFace: our own pre- and post-processing around the ONNX graph.

The graph takes an RGB float image ``(1, 3, H, W)`` (0..255, H and W multiples of 32) and
returns four maps at 1/4 resolution: a face-centre heatmap, log box sizes, centre offsets and
five landmarks relative to the box. ``decode`` turns them into ``Detections``.
"""

from __future__ import annotations

import logging
from typing import Protocol

import cv2
import numpy as np

from faceblur_cam.detections import Detections
from faceblur_cam.geometry import nms

log = logging.getLogger(__name__)

STRIDE = 4


class ModelRunner(Protocol):
    """Runs the graph: ``run(blob)`` -> (heatmap, scale, offset, landmarks).

    ``dynamic_input`` is False when the graph only accepts one input height/width.
    """

    backend: str
    dynamic_input: bool

    def run(self, blob: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]: ...


class OnnxRuntimeRunner:
    backend = "onnxruntime"

    def __init__(self, model_bytes: bytes, threads: int = 1):
        import onnxruntime as ort

        ort.set_default_logger_severity(3)
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self._session = ort.InferenceSession(model_bytes, options, providers=["CPUExecutionProvider"])
        self._input = self._session.get_inputs()[0].name
        self.dynamic_input = not any(isinstance(dim, int) for dim in self._session.get_inputs()[0].shape[2:])

    def run(self, blob: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        heatmap, scale, offset, landmarks = self._session.run(None, {self._input: blob})
        return heatmap, scale, offset, landmarks


class OpenCvDnnRunner:
    """Fallback when onnxruntime is not installed (slower)."""

    backend = "cv2.dnn"

    def __init__(self, model_bytes: bytes, threads: int = 1):
        self._net = cv2.dnn.readNetFromONNX(np.frombuffer(model_bytes, np.uint8))
        self._outputs = self._net.getUnconnectedOutLayersNames()
        self.dynamic_input = True  # cv2.dnn does not say; a fixed-size graph fails closed on its first frame

    def run(self, blob: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        self._net.setInput(blob)
        heatmap, scale, offset, landmarks = self._net.forward(self._outputs)
        return heatmap, scale, offset, landmarks


CHEAP_RESIZE_PX = 100_000  # pictures this large are reduced the cheap way (``shrink``)


def shrink(image: np.ndarray, wh: tuple[int, int]) -> np.ndarray:
    """``image`` resized to ``wh`` (w, h): area averaging down, bilinear up.

    ``INTER_AREA`` at a factor that is not a whole number costs 1-3 ms for a large picture (one
    thread: 2.5 ms for a 565x475 changed area reduced by 4 %, 3.2 ms for the 720p whole-frame
    look at 224 px, 6.4 ms at 1080p), 15 % of the live path. A picture of ``CHEAP_RESIZE_PX`` or
    more gets nearly the same picture for a tenth of that: bilinear to twice the size, then exact
    2x2 means (``INTER_AREA``'s fast path), with exact halving first while a factor of 4 or more
    is left, so that the bilinear step never skips a pixel. On photos it differs from
    ``INTER_AREA`` by 0.1-0.3 grey levels on average (tests/test_detect_input.py). Smaller ones
    (a tracked face's crop, a small changed area, a whole 360x240 frame) cost at most 0.3 ms and
    keep ``INTER_AREA`` itself.
    """
    ih, iw = image.shape[:2]
    ow, oh = wh
    if (iw, ih) == (ow, oh):
        return image
    if ow >= iw and oh >= ih:
        return cv2.resize(image, wh, interpolation=cv2.INTER_LINEAR)
    if iw * ih < CHEAP_RESIZE_PX:
        return cv2.resize(image, wh, interpolation=cv2.INTER_AREA)
    while iw > 4 * ow and ih > 4 * oh:
        iw, ih = iw // 2, ih // 2
        image = cv2.resize(image[:2 * ih, :2 * iw], (iw, ih), interpolation=cv2.INTER_AREA)
    double = cv2.resize(image, (2 * ow, 2 * oh), interpolation=cv2.INTER_LINEAR)
    return cv2.resize(double, wh, interpolation=cv2.INTER_AREA)


class BlobMaker:
    """BGR ``uint8 (H, W, 3)`` -> the network's RGB ``float32 (1, 3, H, W)``, written into one
    reused buffer (``cv2.dnn.blobFromImage`` costs 1-4 ms for what this does in 0.1-0.3 ms).

    The blob returned is only valid until the next call: run the network on it first.
    """

    def __init__(self) -> None:
        self._buffer = np.empty(0, np.float32)

    def __call__(self, image: np.ndarray) -> np.ndarray:
        h, w = image.shape[:2]
        if self._buffer.size < 3 * h * w:
            self._buffer = np.empty(3 * h * w, np.float32)
        blob = self._buffer[:3 * h * w].reshape(1, 3, h, w)
        for i, channel in enumerate(reversed(cv2.split(image))):  # B, G, R -> R, G, B
            blob[0, i] = channel
        return blob


def input_size(frame_wh: tuple[int, int], long_side: int, multiple: int = 32) -> tuple[int, int]:
    """Network input (w, h): long side ~``long_side``, aspect kept, both multiples of ``multiple``."""
    w, h = frame_wh
    scale = long_side / max(w, h)
    in_w = max(multiple, int(round(w * scale / multiple)) * multiple)
    in_h = max(multiple, int(round(h * scale / multiple)) * multiple)
    return in_w, in_h


def decode(
    heatmap: np.ndarray,
    scale: np.ndarray,
    offset: np.ndarray,
    landmarks: np.ndarray,
    threshold: float,
    nms_iou: float = 0.3,
) -> Detections:
    """Boxes in network-input pixels from the four output maps of one image."""
    ys, xs = np.nonzero(heatmap[0, 0] > threshold)
    if len(ys) == 0:
        return Detections.empty()
    score = heatmap[0, 0, ys, xs]
    box_h = np.exp(scale[0, 0, ys, xs]) * STRIDE
    box_w = np.exp(scale[0, 1, ys, xs]) * STRIDE
    cy = (ys + offset[0, 0, ys, xs] + 0.5) * STRIDE
    cx = (xs + offset[0, 1, ys, xs] + 0.5) * STRIDE
    x1, y1 = cx - box_w / 2, cy - box_h / 2
    xyxy = np.stack([x1, y1, x1 + box_w, y1 + box_h], axis=1)
    lm = landmarks[0][:, ys, xs].T.reshape(-1, 5, 2)  # (N, 5, [dy, dx])
    points = np.stack([lm[:, :, 1] * box_w[:, None] + x1[:, None],
                       lm[:, :, 0] * box_h[:, None] + y1[:, None]], axis=2)
    keep = nms(xyxy, score, nms_iou)
    return Detections(xyxy[keep], score[keep], points[keep])


class CenterFaceDetector:
    """``detect(image)`` -> faces in a BGR frame, in the frame's pixels.

    Not thread-safe: one detector per thread.
    """

    def __init__(self, runner: ModelRunner, threshold: float = 0.2, long_side: int = 640):
        self.runner = runner
        self.threshold = threshold
        self.long_side = long_side
        self._blob = BlobMaker()

    @property
    def backend(self) -> str:
        return self.runner.backend

    def detect(self, image: np.ndarray, long_side: int | None = None) -> Detections:
        h, w = image.shape[:2]
        in_w, in_h = input_size((w, h), long_side or self.long_side)
        found = decode(*self.runner.run(self._blob(shrink(image, (in_w, in_h)))), threshold=self.threshold)
        if not len(found):
            return found
        sx, sy = w / in_w, h / in_h
        xyxy = found.xyxy * np.array([sx, sy, sx, sy], np.float32)
        xyxy = np.clip(xyxy, 0, [w, h, w, h]).astype(np.float32)
        points = found.landmarks * np.array([sx, sy], np.float32)
        return Detections(xyxy, found.scores, points)
