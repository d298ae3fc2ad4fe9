"""Where the engine's published frames go: the virtual camera, the recording and the preview.

``Outputs`` opens, feeds and closes these sinks for the engine and deals with their failures:

- A sink that raises on ``send`` is closed and dropped; the others still get the frame.
  A failed recording or preview is reported (``RecordingFailed``, ``PreviewClosed``); a failed
  virtual camera is reported (``OutputLost``) and reopened with backoff (``faceblur_cam.backoff``).
- A virtual camera that is not set up yet (``OutputParts.virtual_camera_missing``) is waited for
  with that same backoff, quietly (the tray says it is missing): frames go to the other sinks
  meanwhile, and to the device as soon as it opens.
- Fail closed: only ``PublishedFrame`` values (already redacted, or placeholders) are taken;
  each sink gets exactly the frames the engine hands in, nothing else.
- ``close()`` closes the recording (the file is finished), the preview and the virtual cameras,
  in that order; the engine calls it on every way out.

Thread rules: worker thread only (status changes go through the engine's ``StatusFeed``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from faceblur_cam.backoff import Backoff
from faceblur_cam.frames import PublishedFrame
from faceblur_cam.sinks import FrameSink
from faceblur_cam.status import EngineEvent, OutputLost, PreviewClosed, PreviewFailed, RecordingFailed, StatusFeed

log = logging.getLogger(__name__)


@dataclass
class OutputParts:
    """The sinks and how to open them (see ``engine.EngineParts``, which carries the same fields)."""

    virtual_cameras: list[FrameSink] = field(default_factory=list)  # open at start
    open_recorder: Callable[[], FrameSink] | None = None
    open_preview: Callable[[], FrameSink] | None = None
    reopen_virtual_camera: Callable[[], FrameSink] | None = None  # after it failed, or while missing
    virtual_camera_missing: bool = False  # not set up yet: opened with ``reopen_virtual_camera`` when it appears


class Outputs:
    """The engine's sinks (see the module docstring). ``retry``: the virtual camera's backoff."""

    def __init__(self, parts: OutputParts, retry: Backoff, status: StatusFeed, clock: Callable[[], float]):
        if parts.virtual_camera_missing and parts.reopen_virtual_camera is None:
            raise ValueError("a missing virtual camera needs reopen_virtual_camera to open it when it appears")
        self._parts = parts
        self._retry = retry
        self._status = status
        self._clock = clock
        self._vcams: list[FrameSink] = list(parts.virtual_cameras)
        self._missing = parts.virtual_camera_missing  # quiet retries until the first open
        self._recorder: FrameSink | None = None
        self._recording_since = 0.0
        self._preview: FrameSink | None = None

    @property
    def can_record(self) -> bool:
        return self._parts.open_recorder is not None

    @property
    def can_preview(self) -> bool:
        return self._parts.open_preview is not None

    def recording_seconds(self) -> float | None:
        """How long the current recording has run; None when not recording."""
        return None if self._recorder is None else self._clock() - self._recording_since

    # ----------------------------------------------------------------- frames
    def publish(self, frame: PublishedFrame) -> None:
        """Send ``frame`` to every open sink (opening the virtual camera first when its wait is over)."""
        if not isinstance(frame, PublishedFrame):  # fail closed: nothing raw gets past here
            raise TypeError(f"outputs take published (redacted or placeholder) frames only, not {type(frame).__name__}")
        if (self._missing or self._retry.waiting) and self._retry.due():
            self._open_virtual_camera()
        sinks = list(self._vcams)
        if self._preview is not None:
            sinks.append(self._preview)
        if self._recorder is not None:
            sinks.append(self._recorder)
        for sink in sinks:
            try:
                sink.send(frame)
            except Exception as exc:
                self._failed(sink, exc)

    def _failed(self, sink: FrameSink, exc: Exception) -> None:
        name = _name(sink)
        log.error("%s failed: %s", name, exc)
        _close(sink)
        if sink is self._recorder:
            self._recorder = None
            self._status.report(RecordingFailed(f"Recording stopped: {exc}"), recording=False)
        elif sink is self._preview:
            self._preview = None
            self._status.report(PreviewClosed(f"Preview closed: {exc}"), preview=False)
        else:
            self._vcams = [s for s in self._vcams if s is not sink]
            if self._parts.reopen_virtual_camera is not None:
                self._retry.failed()
                self._status.report(OutputLost(f"{name} stopped: {exc}; retrying"))
            else:
                self._status.report(OutputLost(f"{name} stopped: {exc}"))

    def _open_virtual_camera(self) -> None:
        """Open the virtual camera (missing at start, or failed since): on failure try again later."""
        assert self._parts.reopen_virtual_camera is not None
        try:
            sink = self._parts.reopen_virtual_camera()
        except Exception as exc:  # still unavailable: try later (and say why, unless the tray does)
            first_line = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            self._retry.failed()
            if self._missing:
                log.debug("virtual camera still missing: %s", first_line)
            else:
                log.warning("virtual camera still unavailable: %s", exc)
                self._status.report(OutputLost(f"Virtual camera unavailable, retrying: {first_line}"))
            return
        self._vcams.append(sink)
        self._retry.reset()
        if self._missing:
            self._missing = False
            log.info("the virtual camera appeared: publishing to %s", _name(sink))
            notice = getattr(sink, "notice", None)
            if notice:
                log.warning("%s", notice)
        else:
            log.info("virtual camera back: %s", _name(sink))
            self._status.set(message="")

    # ----------------------------------------------------------------- recording and preview
    def set_recording(self, on: bool) -> None:
        """Start a new recording, or stop (and finish) the current one; says so in the status."""
        if on and self._recorder is None:
            if self._parts.open_recorder is None:
                self._status.report(RecordingFailed("Recording is not available"))
                return
            self._recorder = self._open(self._parts.open_recorder, "start recording",
                                        RecordingFailed("Recording failed"))
            if self._recorder is None:
                return
            self._recording_since = self._clock()
            self._status.set(recording=True, recording_seconds=0.0,
                             recording_path=str(getattr(self._recorder, "path", "")) or None)
            log.info("recording started: %s", self._status.status().recording_path)
        elif not on and self._recorder is not None:
            _close(self._recorder)
            log.info("recording stopped: %s", self._status.status().recording_path)
            self._recorder = None
            self._status.set(recording=False, recording_seconds=0.0)

    def set_preview(self, on: bool) -> None:
        """Open or close the preview window; says so in the status."""
        if on and self._preview is None and self._parts.open_preview is not None:
            self._preview = self._open(self._parts.open_preview, "open the preview", PreviewFailed("Preview failed"))
            if self._preview is None:
                return
        elif not on and self._preview is not None:
            _close(self._preview)
            self._preview = None
        self._status.set(preview=self._preview is not None)

    def _open(self, open_sink: Callable[[], FrameSink], doing: str, failed: EngineEvent) -> FrameSink | None:
        """``open_sink()``, or None after reporting ``failed`` with the reason appended."""
        try:
            return open_sink()
        except Exception as exc:
            log.error("cannot %s: %s", doing, exc)
            self._status.report(replace(failed, message=f"{failed.message}: {exc}"))
            return None

    # ----------------------------------------------------------------- the way out
    def close(self) -> None:
        """Close the recording (finished), the preview and the virtual cameras; idempotent.
        Each closes even when another fails to."""
        try:
            if self._recorder is not None:
                self.set_recording(False)
        finally:
            try:
                if self._preview is not None:
                    self.set_preview(False)
            finally:
                self._close_virtual_cameras()

    def _close_virtual_cameras(self) -> None:
        vcams, self._vcams = self._vcams, []
        self._missing = False
        self._retry.reset()
        for sink in vcams:
            _close(sink)


def _name(sink: FrameSink) -> str:
    return str(getattr(sink, "name", type(sink).__name__))


def _close(sink: FrameSink) -> None:
    try:
        sink.close()
    except Exception:
        log.exception("closing %s failed", _name(sink))
