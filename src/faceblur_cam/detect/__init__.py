"""Face detection. ``load_detector(name, threshold)`` returns a ``FaceDetector``.

``FaceDetector.detect(image, long_side=None) -> Detections`` takes a BGR frame and returns
boxes in its pixels. Backends: onnxruntime (preferred), cv2.dnn when onnxruntime is missing.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Protocol

import numpy as np

from faceblur_cam.detect.centerface import CenterFaceDetector, OnnxRuntimeRunner, OpenCvDnnRunner
from faceblur_cam.detect.jobs import DetectJob, run_jobs
from faceblur_cam.detect.models import ModelError, resolve_model, verify
from faceblur_cam.detections import Detections

log = logging.getLogger(__name__)

__all__ = ["FaceDetector", "ModelError", "detect_fn", "load_detector"]


class FaceDetector(Protocol):
    long_side: int

    def detect(self, image: np.ndarray, long_side: int | None = None) -> Detections: ...


def detect_fn(detector: FaceDetector) -> Callable[[np.ndarray, list[DetectJob]], Detections]:
    """The pipeline's ``detect(image, jobs)`` for ``detector``."""
    return functools.partial(run_jobs, lambda crop, side: detector.detect(crop, long_side=side), overrule=True)


def load_detector(
    name: str = "centerface",
    threshold: float = 0.2,
    long_side: int | None = None,
    threads: int = 1,
    backend: str = "auto",
) -> CenterFaceDetector:
    """Load and verify the model; raises ``ModelError`` with a fix when it cannot."""
    spec = resolve_model(name)
    if spec.kind != "centerface":
        raise ModelError(f"the model {name!r} is the second-look detector (audit, leak watch), not one "
                         "that can protect: set protect.model to a CenterFace model (default: centerface)")
    model = verify(spec)
    runner: OnnxRuntimeRunner | OpenCvDnnRunner
    if backend in ("auto", "onnxruntime"):
        try:
            runner = OnnxRuntimeRunner(model, threads=threads)
        except ImportError:
            if backend == "onnxruntime":
                raise ModelError("onnxruntime is not installed: python -m pip install onnxruntime") from None
            log.warning("onnxruntime is not installed; using OpenCV's slower dnn module")
            runner = OpenCvDnnRunner(model, threads=threads)
    else:
        runner = OpenCvDnnRunner(model, threads=threads)
    if not runner.dynamic_input:
        raise ModelError(
            f"the detector model {spec.path} has a fixed input size; make it accept any size once with: "
            f"python -m pip install onnx && python -m faceblur_cam.classifiers.convert_centerface "
            f"{spec.path} {spec.path.with_name(spec.path.stem + '-dynamic.onnx')}"
        )
    log.info("detector %s loaded from %s (%s)", spec.name, spec.path, runner.backend)
    return CenterFaceDetector(runner, threshold=threshold, long_side=long_side or spec.long_side)
