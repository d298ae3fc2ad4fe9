"""``faceblur-cam`` with an artificially slow face detector (for test_slow_detector_stop.py).

Every inference stays inside onnxruntime for ``FACEBLUR_TEST_SLOW_DETECT_S`` seconds (the real
CenterFace session run again and again on a large input), as on an emulated CPU or a machine
under heavy load: a stop then comes while the detector thread is inside onnxruntime.
Usage: python slow_detector_main.py ARGS... (the same arguments as faceblur-cam).
"""

from __future__ import annotations

import os
import sys
import time

import numpy as np

from faceblur_cam.detect import centerface

SLOW_S = float(os.environ.get("FACEBLUR_TEST_SLOW_DETECT_S", "6"))
_real_run = centerface.OnnxRuntimeRunner.run


def _slow_run(self: centerface.OnnxRuntimeRunner, blob: np.ndarray) -> tuple[np.ndarray, ...]:
    big = np.zeros((1, 3, 1024, 1024), np.float32)
    end = time.monotonic() + SLOW_S
    while time.monotonic() < end:
        self._session.run(None, {self._input: big})
    return _real_run(self, blob)


centerface.OnnxRuntimeRunner.run = _slow_run  # type: ignore[method-assign,assignment]

if __name__ == "__main__":
    from faceblur_cam.cli import main

    sys.exit(main(sys.argv[1:]))
