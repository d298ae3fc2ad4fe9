"""A preview window of exactly what is published, drawn by OpenCV (HighGUI): Windows and macOS.

On Linux OpenCV comes without window support (``opencv-python-headless``) and the preview is a
GTK window (``sinks.gtk_preview``); this one then says what to install."""

from __future__ import annotations

import cv2

from faceblur_cam import APP_NAME, platform
from faceblur_cam.frames import PublishedFrame
from faceblur_cam.sinks import SinkError
from faceblur_cam.sinks.kept_outline import preview_picture

WINDOW = f"{APP_NAME} preview"
NO_WINDOWS = ("cannot open a preview window: it needs GTK 3 through PyGObject, which is not installed. "
              "Install FaceBlur Cam with its tray extra (pip install 'faceblur-cam[tray]'), or use "
              "Debian's python3-gi (apt install python3-gi, in a virtualenv made with --system-site-packages)")


class PreviewSink:
    name = "preview"

    def __init__(self) -> None:
        problem = platform.display_problem(x11_only=True)  # Qt aborts the process on a dead display
        if problem is not None:
            raise SinkError(f"cannot open a preview window, no display: {problem}")
        try:
            cv2.namedWindow(WINDOW, cv2.WINDOW_NORMAL)
        except cv2.error as exc:
            if "not implemented" in str(exc).lower():  # an OpenCV built without windows
                raise SinkError(NO_WINDOWS) from exc
            raise SinkError(f"cannot open a preview window (no display?): {exc}") from exc
        self._shown = False

    def send(self, frame: PublishedFrame) -> None:
        if self._shown and cv2.getWindowProperty(WINDOW, cv2.WND_PROP_VISIBLE) < 1:
            raise SinkError("preview window closed")
        cv2.imshow(WINDOW, preview_picture(frame))  # the kept face outlined, on a copy
        cv2.waitKey(1)
        self._shown = True

    def close(self) -> None:
        try:
            cv2.destroyWindow(WINDOW)
            cv2.waitKey(1)
        except cv2.error:
            pass
