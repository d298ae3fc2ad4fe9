"""A preview window of exactly what is published (OpenCV HighGUI)."""

from __future__ import annotations

import cv2

from faceblur_cam import APP_NAME, platform
from faceblur_cam.frames import PublishedFrame
from faceblur_cam.sinks import SinkError

WINDOW = f"{APP_NAME} preview"


class PreviewSink:
    name = "preview"

    def __init__(self) -> None:
        problem = platform.display_problem(x11_only=True)  # Qt aborts the process on a dead display
        if problem is not None:
            raise SinkError(f"cannot open a preview window, no display: {problem}")
        try:
            cv2.namedWindow(WINDOW, cv2.WINDOW_NORMAL)
        except cv2.error as exc:
            raise SinkError(f"cannot open a preview window (no display?): {exc}") from exc
        self._shown = False

    def send(self, frame: PublishedFrame) -> None:
        if self._shown and cv2.getWindowProperty(WINDOW, cv2.WND_PROP_VISIBLE) < 1:
            raise SinkError("preview window closed")
        cv2.imshow(WINDOW, frame.image)
        cv2.waitKey(1)
        self._shown = True

    def close(self) -> None:
        try:
            cv2.destroyWindow(WINDOW)
            cv2.waitKey(1)
        except cv2.error:
            pass
