"""The preview's mark of who "keep me visible" keeps: a thin outline. Preview only.

The published frame goes unchanged to the virtual camera and the recorder; the preview draws on
a copy, so the outline is never in what a call sees or a recording holds.
"""

from __future__ import annotations

import cv2
import numpy as np

from faceblur_cam.frames import PublishedFrame

OUTLINE_BGR = (80, 220, 80)


def preview_picture(frame: PublishedFrame) -> np.ndarray:
    """``frame.image``, or a copy of it with an outline around the kept region (if any)."""
    if not len(frame.kept):
        return frame.image
    image: np.ndarray = frame.image.copy()
    h, w = image.shape[:2]
    thickness = max(1, round(max(w, h) / 640))
    for x1, y1, x2, y2 in frame.kept.xyxy:
        centre = (int(round((x1 + x2) / 2)), int(round((y1 + y2) / 2)))
        axes = (max(1, int(round((x2 - x1) / 2))), max(1, int(round((y2 - y1) / 2))))
        if frame.shape == "box":
            cv2.rectangle(image, (int(x1), int(y1)), (int(x2), int(y2)), OUTLINE_BGR, thickness, cv2.LINE_AA)
        else:
            cv2.ellipse(image, centre, axes, 0, 0, 360, OUTLINE_BGR, thickness, cv2.LINE_AA)
    return image
