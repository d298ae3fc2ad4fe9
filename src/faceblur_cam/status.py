"""What the engine tells the rest of the app: ``EngineStatus`` values, the typed news in them,
and ``StatusFeed``, which keeps the current status and hands every change to its subscribers.

Thread rules (``StatusFeed``): ``status()`` and ``subscribe()`` may be called from any thread;
``set``, ``report`` and ``count_frame`` only from the engine's worker, which is also the thread
subscribers are called on (a UI marshals to its own thread). A subscriber that raises is logged
and skipped: the engine and the other subscribers go on.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace

from faceblur_cam.keep_me import KeepState, Why
from faceblur_cam.lifecycle import EngineState

log = logging.getLogger(__name__)

PERIODIC_S = 1.0  # subscribers hear at least this often while frames flow (fps, recording time)


@dataclass(frozen=True)
class EngineEvent:
    """News the user should hear about. ``message`` is for people and may be reworded at any
    time; code (the CLI, the tray) reacts to the event's type."""

    message: str


class RecordingFailed(EngineEvent):
    """Recording could not start, or stopped on an error (disk full, encoder gone)."""


class OutputLost(EngineEvent):
    """The virtual camera stopped taking frames; reopened with backoff when it can be."""


class CameraLost(EngineEvent):
    """The camera cannot be opened or stopped delivering; retried with backoff."""


class DetectorFailed(EngineEvent):
    """The face detector could not load: nothing can be protected (the error card is shown)."""


class PreviewFailed(EngineEvent):
    """The preview window could not open."""


class PreviewClosed(EngineEvent):
    """The preview window went away (usually the user closed it)."""


class MePicked(EngineEvent):
    """Keep me visible picked "me" (the user should check it is them)."""


@dataclass(frozen=True)
class EngineStatus:
    state: EngineState
    style: str
    fps: float = 0.0
    faces: int = 0
    message: str = ""
    recording: bool = False
    recording_seconds: float = 0.0
    recording_path: str | None = None
    preview: bool = False
    frames_published: int = 0
    leak_watch: str = ""  # "Leak watch: 0 in 3,412 frames checked"; empty when there is no watch
    leaks_found: int = 0  # faces the leak watch found uncovered (and had covered) so far
    event: EngineEvent | None = None  # what ``message`` reports; None when there is no news
    camera: str = ""  # the open camera and its mode, e.g. "C920, 1280x720 MJPEG 30 fps"
    keep_me: KeepState = KeepState.OFF  # "keep me visible" on the last frame (OFF: everyone covered)
    keep_why: Why = Why.NONE  # why the caller was covered (COVERED), or only their face shown (VISIBLE, HIDDEN)

    @property
    def summary(self) -> str:
        """One line for a tray status item or a log line."""
        if self.state is EngineState.PROTECTING and self.keep_me is not KeepState.OFF:
            text = self._keep_me_summary()
        elif self.state is EngineState.PROTECTING:
            faces = self._faces_text
            # the rate is unknown until the second frame: no "0 fps" on the first status
            text = f"Protecting: {faces}, {self.fps:.0f} fps" if self.fps >= 0.5 else f"Protecting: {faces}"
        elif self.state is EngineState.PAUSED:
            text = "Paused"
        elif self.state is EngineState.STARTING:
            text = "Starting protection..."
        elif self.state is EngineState.NO_CAMERA:
            text = self.message or "No camera"
        elif self.state is EngineState.ERROR:
            text = f"Error: {self.message}" if self.message else "Error"
        else:
            text = "Stopped"
        return text

    @property
    def _faces_text(self) -> str:
        return "1 face" if self.faces == 1 else f"{self.faces} faces"

    def _keep_me_summary(self) -> str:
        if self.keep_me is KeepState.LOST:
            return "You are covered: FaceBlur Cam lost track of you"
        faces = self._faces_text
        if self.keep_me is KeepState.VISIBLE:
            others = "1 other" if self.faces == 1 else f"{self.faces} others"
            if self.keep_why is Why.HIDDEN:  # face only: the rest of the caller's cover stays
                return f"Protecting: your face visible ({self.keep_why.value}), {others} covered"
            return f"Protecting: you visible, {others} covered"
        if self.keep_me is KeepState.COVERED:
            reason = self.keep_why.value or "not sure it is you"
            return f"Protecting: you covered for now ({reason}), {faces} covered"
        return f"Protecting: {faces}, waiting to see you"


Subscriber = Callable[[EngineStatus], None]


class StatusFeed:
    """The current ``EngineStatus`` and its subscribers (see the module docstring for threads).

    ``clock`` tells when subscribers last heard (``periodic_due``); tests pass one they move.
    """

    def __init__(self, first: EngineStatus, clock: Callable[[], float]):
        self._clock = clock
        self._lock = threading.Lock()
        self._status = first
        self._subscribers: list[Subscriber] = []
        self._last_emit = 0.0

    # any thread
    def status(self) -> EngineStatus:
        with self._lock:
            return self._status

    def subscribe(self, callback: Subscriber) -> None:
        """``callback(status)`` runs on the worker thread on every change and about once a second."""
        with self._lock:
            self._subscribers.append(callback)

    # the worker
    def report(self, event: EngineEvent, **changes: object) -> None:
        """News for the user: the event, and its message for people."""
        self.set(message=event.message, event=event, **changes)

    def set(self, **changes: object) -> None:
        """Change the status and tell subscribers. A new message without an event clears the event
        (news comes through ``report``)."""
        with self._lock:
            if "message" in changes and "event" not in changes and changes["message"] != self._status.message:
                changes["event"] = None
            self._status = replace(self._status, **changes)  # type: ignore[arg-type]
            status, subscribers = self._status, list(self._subscribers)
        self._last_emit = self._clock()
        for callback in subscribers:
            try:
                callback(status)
            except Exception:
                log.exception("status subscriber failed")

    def count_frame(self) -> None:
        """One more frame published (subscribers hear of it with the next change)."""
        with self._lock:
            self._status = replace(self._status, frames_published=self._status.frames_published + 1)

    def periodic_due(self) -> bool:
        """True when subscribers have not heard anything for ``PERIODIC_S``."""
        return self._clock() - self._last_emit >= PERIODIC_S
