"""The preview window on Linux: a GTK 3 window drawn by the main thread's GLib main loop.

On Linux FaceBlur Cam installs OpenCV without its window support (``opencv-python-headless``:
120 MB less, and no Qt, whose window crashed next to the GTK tray and aborted the process on a
dead display). The main loop that draws the window is the tray's, or, without a tray, the one
``faceblur-cam run --no-tray`` runs on its main thread (``run_main_loop``).

Thread rules: ``GtkPreviewSink`` is created, fed (``send``) and closed on the engine's worker
thread; it only queues work for the GTK main loop (``GLib.idle_add``). The newest frame wins:
while one frame waits to be drawn, newer ones replace it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

import cv2
import numpy as np

from faceblur_cam import APP_NAME
from faceblur_cam.frames import PublishedFrame
from faceblur_cam.sinks import FrameSink, SinkError
from faceblur_cam.sinks.kept_outline import preview_picture

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


def open_preview_window() -> FrameSink:
    """The preview for ``faceblur-cam run``: GTK where GTK is, else OpenCV's own window (Windows,
    macOS; on Linux a ``SinkError`` that says what to install)."""
    if gtk_available():
        return GtkPreviewSink()
    from faceblur_cam.sinks.preview import PreviewSink

    return PreviewSink()


def run_main_loop(done: Callable[[], bool], period_s: float = 0.2) -> bool:
    """Run a GLib main loop on this (the main) thread until ``done()`` is true, checked every
    ``period_s``, so that preview windows can be drawn without a tray. False, at once, when GTK
    cannot be used here (no PyGObject, or no display): the caller waits its own way."""
    from faceblur_cam import platform

    if platform.display_problem() is not None or not gtk_available():
        return False
    from gi.repository import GLib

    loop = GLib.MainLoop()

    def tick() -> bool:
        if done():
            loop.quit()
            return False
        return True

    GLib.timeout_add(int(period_s * 1000), tick)  # Python signal handlers run between ticks, too
    loop.run()
    return True


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
        image = preview_picture(frame)  # the kept face outlined, on a copy
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
