"""The preview window when the tray runs on GTK.

OpenCV's preview window (Qt) cannot live in a process whose main thread runs the GTK tray: the
two toolkits crash the process (segfault in ``cv2.namedWindow``). With a GTK tray the preview is
a GTK window drawn on the main thread instead.

Thread rules: ``GtkPreviewSink`` is created, fed (``send``) and closed on the engine's worker
thread; it only queues work for the GTK main loop (``GLib.idle_add``). The newest frame wins:
while one frame waits to be drawn, newer ones replace it.
"""

from __future__ import annotations

import logging
import threading

import cv2
import numpy as np

from faceblur_cam import APP_NAME
from faceblur_cam.frames import PublishedFrame
from faceblur_cam.sinks import FrameSink, SinkError

log = logging.getLogger(__name__)

MAX_WIDTH = 640


def gtk_available() -> bool:
    """True when GTK 3 can be imported (then pystray's Linux backends use it too)."""
    try:
        import gi

        gi.require_version("Gtk", "3.0")
        from gi.repository import Gtk  # noqa: F401
    except (ImportError, ValueError):
        return False
    return True


def open_tray_preview() -> FrameSink:
    """The preview for ``faceblur-cam run`` with a tray: GTK where GTK is, else OpenCV's."""
    if gtk_available():
        return GtkPreviewSink()
    from faceblur_cam.app import open_preview

    return open_preview()


class GtkPreviewSink:
    name = "preview"

    def __init__(self) -> None:
        from faceblur_cam import platform

        problem = platform.display_problem()
        if problem is not None:
            raise SinkError(f"cannot open a preview window, no display: {problem}")
        from gi.repository import GLib

        self._glib = GLib
        self._lock = threading.Lock()
        self._pending: np.ndarray | None = None
        self._closed_by_user = threading.Event()
        self._window: object | None = None
        self._image: object | None = None
        GLib.idle_add(self._create)

    # ------------------------------------------------------------ worker thread
    def send(self, frame: PublishedFrame) -> None:
        if self._closed_by_user.is_set():
            raise SinkError("preview window closed")
        image = frame.image
        h, w = image.shape[:2]
        if w > MAX_WIDTH:
            image = cv2.resize(image, (MAX_WIDTH, round(h * MAX_WIDTH / w)), interpolation=cv2.INTER_AREA)
        rgb = cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
        with self._lock:
            schedule = self._pending is None
            self._pending = rgb
        if schedule:
            self._glib.idle_add(self._draw)

    def close(self) -> None:
        self._glib.idle_add(self._destroy)

    # ------------------------------------------------------------ GTK main thread
    def _create(self) -> bool:
        from gi.repository import Gtk

        window = Gtk.Window(title=f"{APP_NAME} preview")
        window.set_icon_name("faceblur-cam")
        image = Gtk.Image()
        window.add(image)
        window.connect("delete-event", self._on_delete)
        window.show_all()
        self._window, self._image = window, image
        log.info("preview window opened")
        return False  # run once

    def _draw(self) -> bool:
        from gi.repository import GdkPixbuf

        with self._lock:
            rgb, self._pending = self._pending, None
        if rgb is None or self._image is None:
            return False
        h, w = rgb.shape[:2]
        pixbuf = GdkPixbuf.Pixbuf.new_from_bytes(self._glib.Bytes.new(rgb.tobytes()),
                                                 GdkPixbuf.Colorspace.RGB, False, 8, w, h, w * 3)
        self._image.set_from_pixbuf(pixbuf)  # type: ignore[attr-defined]
        return False

    def _on_delete(self, *_args: object) -> bool:
        self._closed_by_user.set()  # the engine detaches us at the next frame
        return False

    def _destroy(self) -> bool:
        if self._window is not None:
            self._window.destroy()  # type: ignore[attr-defined]
            self._window = self._image = None
        return False
