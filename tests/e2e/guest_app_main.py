"""``faceblur-cam`` for the emulated (TCG) VM guest: the real CLI, with every detector pass
capped at FACEBLUR_E2E_LONG_SIDE pixels (long side; default 160).

Why: without KVM the guest CPU is emulated; one CenterFace pass at 640 px takes ~20 s there
(1.3 s at 160 px), so every frame would miss any sane detection budget and be published
fully obscured (fail closed), leaving nothing to verify. Faces of 55-65 px in the 320x240
test clip are still found on every frame at 160 px (checked on the host). Nothing else
changes: same CLI, engine, pipeline, planner, tracker, redaction and virtual camera sink.
"""

from __future__ import annotations

import functools
import os
import sys
from typing import Any


def limit_detector_size(limit: int | None = None) -> None:
    """Cap ``CenterFaceDetector.detect``'s input size at ``limit`` px (long side)."""
    from faceblur_cam.detect.centerface import CenterFaceDetector

    limit = limit or int(os.environ.get("FACEBLUR_E2E_LONG_SIDE", "160"))
    original = CenterFaceDetector.detect

    @functools.wraps(original)
    def detect(self: CenterFaceDetector, image: Any, long_side: int | None = None) -> Any:
        return original(self, image, long_side=min(long_side or self.long_side, limit))

    CenterFaceDetector.detect = detect  # type: ignore[method-assign]


if __name__ == "__main__":
    limit_detector_size()
    from faceblur_cam.cli import main

    sys.exit(main(sys.argv[1:]))
