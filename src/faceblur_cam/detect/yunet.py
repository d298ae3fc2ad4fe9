"""YuNet (libfacedetection, MIT) through ``cv2.FaceDetectorYN``: the independent second look.

It is used by ``faceblur-cam audit`` and the live leak watch, never by the protecting path:
a detector of another family (an anchor-free CNN trained on other data, run by OpenCV's dnn
instead of onnxruntime) so that what CenterFace misses, it has its own chance to find.
The model file ships as package data (``classifiers/``) and is checked against its SHA-256
before it is loaded from memory (the checked bytes are the ones that run).
"""

from __future__ import annotations

import logging

import cv2
import numpy as np

from faceblur_cam.detect.models import ModelError, resolve_model, verify
from faceblur_cam.detections import Detections

log = logging.getLogger(__name__)

MODEL_NAME = "yunet"


class YuNetDetector:
    """``detect(image, long_side=None)`` -> faces in a BGR frame, in the frame's pixels.

    The frame is resized so its long side is ``long_side`` (aspect kept) before YuNet runs.
    Not thread-safe: one detector per thread.
    """

    backend = "cv2.FaceDetectorYN"

    def __init__(self, model: bytes, threshold: float = 0.5, long_side: int = 640, nms_iou: float = 0.3):
        self.threshold = threshold
        self.long_side = long_side
        self._net = cv2.FaceDetectorYN.create(
            "onnx", np.frombuffer(model, np.uint8), np.zeros(0, np.uint8), (320, 320), threshold, nms_iou, 5000
        )
        self._size: tuple[int, int] = (0, 0)

    def detect(self, image: np.ndarray, long_side: int | None = None) -> Detections:
        h, w = image.shape[:2]
        side = long_side or self.long_side
        scale = side / max(w, h)
        in_w, in_h = max(16, int(round(w * scale))), max(16, int(round(h * scale)))
        resized = image if (in_w, in_h) == (w, h) else cv2.resize(
            image, (in_w, in_h), interpolation=cv2.INTER_AREA if in_w < w else cv2.INTER_LINEAR)
        if (in_w, in_h) != self._size:
            self._net.setInputSize((in_w, in_h))
            self._size = (in_w, in_h)
        _, faces = self._net.detect(np.ascontiguousarray(resized))
        if faces is None or not len(faces):
            return Detections.empty()
        sx, sy = w / in_w, h / in_h
        x, y, bw, bh = faces[:, 0] * sx, faces[:, 1] * sy, faces[:, 2] * sx, faces[:, 3] * sy
        xyxy = np.clip(np.stack([x, y, x + bw, y + bh], axis=1), 0, [w, h, w, h]).astype(np.float32)
        points = faces[:, 4:14].reshape(-1, 5, 2) * np.array([sx, sy], np.float32)
        return Detections(xyxy, faces[:, 14], points)


def load_yunet(threshold: float = 0.5, long_side: int = 640) -> YuNetDetector:
    """The shipped YuNet model, checksum-verified; raises ``ModelError`` with a fix when it cannot."""
    spec = resolve_model(MODEL_NAME)
    model = verify(spec)
    try:
        detector = YuNetDetector(model, threshold=threshold, long_side=long_side)
    except cv2.error as exc:
        raise ModelError(f"OpenCV cannot run the YuNet model {spec.path} ({exc.err or exc}); "
                         "OpenCV 4.8 or newer is needed: python -m pip install -U opencv-python-headless") from exc
    log.info("second-look detector yunet loaded from %s", spec.path)
    return detector
