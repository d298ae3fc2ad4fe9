"""The engine: runs capture -> protect -> outputs on a worker thread, under commands.

Thread rules:

- ``start()``, ``send(command)`` and the methods wrapping it (``pause``, ``resume``,
  ``set_style``, ``start_recording``, ``stop_recording``, ``set_preview``, ``quit``),
  ``status()``, ``subscribe()`` and ``wait()`` may be called from any thread. Commands are typed
  values (``Pause``, ``SetStyle(style)``, ...), queued and applied by the worker, in order.
- Everything else (source, pipeline, sinks) is touched only by the worker thread.
- Subscribers are called on the worker thread; a UI must marshal to its own thread.

Privacy rules the loop keeps:

- A placeholder card is published before anything else (before the model loads), so the
  virtual camera exists at once and never shows a raw frame while starting.
- Raw camera frames reach sinks only through ``pipeline.process``, which fails closed.
- Pause closes the camera and publishes the "paused" card; resume resets the pipeline so the
  first frames are protected like start-up.

The life cycle (starting, protecting, paused, no camera, error) is a table:
``faceblur_cam.lifecycle.transition(state, happening) -> (state, effects)``. The worker feeds it
the commands and what its devices report, carries out the effects and publishes the state;
camera and virtual-camera retries follow one schedule (``faceblur_cam.backoff``). What the CLI
and the tray react to is the typed ``EngineStatus.event``, never the message text.

On every way out (quit, source ended, crash) the worker closes, in order: the camera, the
recording (the MP4 is finished), the preview, the virtual camera, and the pipeline (its
detector thread is joined).
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Protocol

from faceblur_cam.backoff import Backoff
from faceblur_cam.frames import CapturedFrame, PublishedFrame
from faceblur_cam.keep_me import KeepState
from faceblur_cam.lifecycle import (
    COMMAND_TYPES,
    CameraFailed,
    CameraOpened,
    Command,
    Effect,
    EngineState,
    FrameProtected,
    Happening,
    Pause,
    PickMe,
    PipelineFailed,
    Quit,
    Resume,
    SetKeepMe,
    SetPreview,
    SetRecording,
    SetStyle,
    SourceEnded,
    TogglePause,
    transition,
)
from faceblur_cam.sinks import FrameSink
from faceblur_cam.sources import FrameSource, SourceError, SourceExhausted

__all__ = [  # the life cycle's values are part of the engine's interface
    "Command", "EngineState", "Pause", "PickMe", "Quit", "Resume", "SetKeepMe", "SetPreview", "SetRecording",
    "SetStyle", "TogglePause",
]

log = logging.getLogger(__name__)


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
            return f"Protecting: you visible, {others} covered"
        if self.keep_me is KeepState.COVERED:
            return f"Protecting: you covered for now (not sure it is you), {faces} covered"
        return f"Protecting: {faces}, waiting to see you"


class Pipeline(Protocol):
    """The protecting step (see ``faceblur_cam.pipeline.ProtectPipeline``)."""

    @property
    def style(self) -> str: ...

    def process(self, frame: CapturedFrame) -> PublishedFrame: ...

    def reset(self) -> None: ...

    def set_style(self, style: str) -> None: ...

    def set_keep_me(self, on: bool) -> None:
        """Keep me visible on or off (``faceblur_cam.keep_me``)."""
        ...

    def pick_me(self) -> None:
        """Pick "me" again on the next frame with a face."""
        ...

    def close(self) -> None:
        """Release what the pipeline started (the detector's thread)."""
        ...


class Placeholders(Protocol):
    def card(self, state: EngineState, message: str = "") -> PublishedFrame: ...


@dataclass
class EngineParts:
    """What the composition root hands the engine. Factories run on the worker thread."""

    open_source: Callable[[], FrameSource]
    build_pipeline: Callable[[], Pipeline]
    placeholders: Placeholders
    outputs: list[FrameSink] = field(default_factory=list)
    open_recorder: Callable[[], FrameSink] | None = None
    open_preview: Callable[[], FrameSink] | None = None
    reopen_output: Callable[[], FrameSink] | None = None  # the virtual camera again, after it failed
    fps: float = 30.0
    quit_when_source_ends: bool = True
    retry_delays: tuple[float, ...] = (0.5, 1.0, 2.0, 4.0, 5.0)


class Engine:
    """Owns the worker thread. See the module docstring for the thread rules."""

    def __init__(self, parts: EngineParts, style: str = "blur", clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep):
        """``clock`` and ``sleep``: real time by default; tests pass a clock they move (see ``step``)."""
        self._parts = parts
        self._clock = clock
        self._sleep = sleep
        self._begun = False
        self._commands: queue.Queue[Command] = queue.Queue()
        self._lock = threading.Lock()
        self._status = EngineStatus(state=EngineState.STARTING, style=style)
        self._subscribers: list[Callable[[EngineStatus], None]] = []
        self._thread: threading.Thread | None = None
        self._done = threading.Event()
        # worker-only state (the life-cycle state is ``self._status.state``: see ``lifecycle``)
        self._quit = False
        self._pipeline: Pipeline | None = None
        self._source: FrameSource | None = None
        self._outputs: list[FrameSink] = list(parts.outputs)
        self._recorder: FrameSink | None = None
        self._recording_since = 0.0
        self._preview: FrameSink | None = None
        self._camera_retry = Backoff(parts.retry_delays, clock)
        self._output_retry = Backoff(parts.retry_delays, clock)  # reopening a failed virtual camera
        self._last_publish = 0.0
        self._fps_ema = 0.0
        self._last_frame_t: float | None = None
        self._last_status_emit = 0.0
        self.exit_code = 0

    # ----------------------------------------------------------------- any thread
    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="faceblur-engine", daemon=True)
        self._thread.start()

    def send(self, command: Command) -> None:
        """Queue ``command`` for the worker; anything that is not a ``Command`` is refused here."""
        if not isinstance(command, COMMAND_TYPES):
            raise TypeError(f"not an engine command: {command!r}")
        self._commands.put(command)

    def pause(self) -> None:
        self.send(Pause())

    def resume(self) -> None:
        self.send(Resume())

    def toggle_pause(self) -> None:
        self.send(TogglePause())

    def set_style(self, style: str) -> None:
        self.send(SetStyle(style))

    def start_recording(self) -> None:
        self.send(SetRecording(True))

    def stop_recording(self) -> None:
        self.send(SetRecording(False))

    def set_preview(self, on: bool) -> None:
        self.send(SetPreview(on))

    def set_keep_me(self, on: bool) -> None:
        self.send(SetKeepMe(on))

    def pick_me(self) -> None:
        self.send(PickMe())

    def quit(self) -> None:
        self.send(Quit())

    @property
    def can_record(self) -> bool:
        """True when recording is wired in (a UI offers "Start recording" only then)."""
        return self._parts.open_recorder is not None

    @property
    def can_preview(self) -> bool:
        """True when a preview window can be opened."""
        return self._parts.open_preview is not None

    def status(self) -> EngineStatus:
        with self._lock:
            return self._status

    def subscribe(self, callback: Callable[[EngineStatus], None]) -> None:
        """``callback(status)`` runs on the worker thread on every change and about once a second."""
        with self._lock:
            self._subscribers.append(callback)

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the worker has stopped; True if it did within ``timeout``."""
        return self._done.wait(timeout)

    # ----------------------------------------------------------------- worker
    def step(self) -> bool:
        """Run one turn of the worker on the calling thread (tests that move the clock; never
        together with ``start``). The first turn loads the pipeline. False once stopped."""
        if self._thread is not None:
            raise RuntimeError("the engine runs on its own thread: step() is for engines not started")
        if self._done.is_set():
            return False
        try:
            if not self._begun:
                self._begin()
                return True
            self._apply_commands()
            if not self._quit:
                self._step()
            if not self._quit:
                return True
        except Exception:
            log.exception("engine crashed")
            self.exit_code = 1
        self._shutdown()
        return False

    def _run(self) -> None:
        try:
            self._begin()
            while not self._quit:
                self._apply_commands()
                if self._quit:
                    break
                self._step()
        except Exception:
            log.exception("engine crashed")
            self.exit_code = 1
        finally:
            self._shutdown()

    def _begin(self) -> None:
        """The first card, then the pipeline (the model loads while the card is shown)."""
        self._begun = True
        self._publish_card()
        try:
            self._pipeline = self._parts.build_pipeline()
            self._pipeline.set_style(self._status.style)
        except Exception as exc:  # model missing/corrupt: cannot protect, show error card
            log.exception("cannot start the face detector")
            self.exit_code = 2
            self._happen(PipelineFailed(), DetectorFailed(f"face detector failed to load: {exc}"))

    def _step(self) -> None:
        """One turn of the worker: a card (paused, error, waiting for the camera) or one frame."""
        if self._status.state in (EngineState.PAUSED, EngineState.ERROR) or self._pipeline is None:
            self._publish_card()
            self._sleep_frame()
            return
        if self._source is None and not self._open_source():
            self._publish_card()
            self._sleep_frame()
            return
        assert self._source is not None
        try:
            frame = self._source.read(timeout=0.25)
        except SourceExhausted:
            log.info("source ended")
            self._happen(SourceEnded())
            if self._parts.quit_when_source_ends:
                self._happen(Quit())
            return
        except SourceError as exc:
            log.warning("camera failed: %s", exc)
            self._happen(CameraFailed(), CameraLost(f"Camera disconnected, retrying ({exc})"))
            return
        if frame is None:
            return
        camera = str(getattr(self._source, "description", ""))  # its measured rate comes later
        if camera != self._status.camera:
            self._set(camera=camera)
        published = self._pipeline.process(frame)
        self._publish(published)
        self._note_frame(published)

    # commands
    def _apply_commands(self) -> None:
        while True:
            try:
                command = self._commands.get_nowait()
            except queue.Empty:
                break
            match command:
                case Quit() | Pause() | Resume() | TogglePause():
                    self._happen(command)
                case SetStyle(style):
                    self._apply_style(style)
                case SetRecording(on):
                    self._set_recording(on)
                case SetPreview(on):
                    self._set_preview(on)
                case SetKeepMe(on):
                    self._keep_me(lambda pipeline: pipeline.set_keep_me(on),
                                  KeepState.WAITING if on else KeepState.OFF)
                case PickMe():
                    self._keep_me(lambda pipeline: pipeline.pick_me(), KeepState.WAITING)

    # the life cycle
    def _happen(self, happening: Happening, event: EngineEvent | None = None, **changes: object) -> None:
        """Feed ``happening`` to the table (``lifecycle.transition``), carry out its effects in
        order, then publish the new state (with ``event`` as the news, if any)."""
        before = self._status.state
        state, effects = transition(before, happening)
        for effect in effects:
            self._carry_out(effect)
        if state is EngineState.PAUSED and before is not EngineState.PAUSED:
            log.info("paused: camera released")
        if state in (EngineState.PAUSED, EngineState.NO_CAMERA):
            changes.update(faces=0, fps=0.0)
        if event is not None:
            self._report(event, state=state, **changes)
        elif state is not before:
            self._set(state=state, message="", **changes)  # a new state: old news cleared
        elif changes:
            self._set(**changes)

    def _carry_out(self, effect: Effect) -> None:
        if effect is Effect.CLOSE_CAMERA:
            self._close_source()
        elif effect is Effect.RESET_PIPELINE:
            if self._pipeline is not None:
                self._pipeline.reset()
        elif effect is Effect.RETRY_CAMERA_LATER:
            self._camera_retry.failed()
        elif effect is Effect.RETRY_CAMERA_NOW:
            self._camera_retry.reset()
        elif effect is Effect.STOP:
            self._quit = True

    def _apply_style(self, style: str) -> None:
        if self._pipeline is not None:
            try:
                self._pipeline.set_style(style)
            except ValueError as exc:
                log.warning("%s", exc)
                return
        self._set(style=style)

    def _set_recording(self, on: bool) -> None:
        if on and self._recorder is None:
            if self._parts.open_recorder is None:
                self._report(RecordingFailed("Recording is not available"))
                return
            try:
                self._recorder = self._parts.open_recorder()
            except Exception as exc:
                log.error("cannot start recording: %s", exc)
                self._report(RecordingFailed(f"Recording failed: {exc}"))
                return
            self._recording_since = self._clock()
            self._set(recording=True, recording_seconds=0.0,
                      recording_path=str(getattr(self._recorder, "path", "")) or None)
            log.info("recording started: %s", self._status.recording_path)
        elif not on and self._recorder is not None:
            self._close_sink(self._recorder)
            log.info("recording stopped: %s", self._status.recording_path)
            self._recorder = None
            self._set(recording=False, recording_seconds=0.0)

    def _keep_me(self, apply: Callable[[Pipeline], None], state: KeepState) -> None:
        if self._pipeline is None:
            return
        try:
            apply(self._pipeline)
        except AttributeError:
            log.warning("this pipeline cannot keep anyone visible")
            return
        self._set(keep_me=state)

    def _set_preview(self, on: bool) -> None:
        if on and self._preview is None and self._parts.open_preview is not None:
            try:
                self._preview = self._parts.open_preview()
            except Exception as exc:
                log.error("cannot open the preview: %s", exc)
                self._report(PreviewFailed(f"Preview failed: {exc}"))
                return
        elif not on and self._preview is not None:
            self._close_sink(self._preview)
            self._preview = None
        self._set(preview=self._preview is not None)

    # source
    def _open_source(self) -> bool:
        if not self._camera_retry.due():
            return False
        try:
            self._source = self._parts.open_source()
        except SourceError as exc:
            # said once per outage, not at every retry (the tray shows it meanwhile)
            said = self._status.state is EngineState.NO_CAMERA and self._status.message == str(exc)
            log.log(logging.DEBUG if said else logging.WARNING, "cannot open camera: %s", exc)
            self._happen(CameraFailed(), CameraLost(str(exc)))
            return False
        self._happen(CameraOpened())
        return True

    def _close_source(self) -> None:
        if self._source is not None:
            try:
                self._source.close()
            except Exception:
                log.exception("closing the camera failed")
            self._source = None
            self._last_frame_t = None

    # publishing
    def _publish_card(self) -> None:
        """The placeholder card of the current state (with the message when it says what is wrong)."""
        state = self._status.state
        message = self._status.message if state in (EngineState.ERROR, EngineState.NO_CAMERA) else ""
        self._publish(replace(self._parts.placeholders.card(state, message), t=self._clock()))

    def _publish(self, frame: PublishedFrame) -> None:
        if self._output_retry.waiting and self._output_retry.due():
            self._reopen_output()
        sinks = list(self._outputs)
        if self._preview is not None:
            sinks.append(self._preview)
        if self._recorder is not None:
            sinks.append(self._recorder)
        for sink in sinks:
            try:
                sink.send(frame)
            except Exception as exc:
                self._sink_failed(sink, exc)
        self._last_publish = self._clock()
        with self._lock:
            self._status = replace(self._status, frames_published=self._status.frames_published + 1)
        self._maybe_emit_periodic()

    def _sink_failed(self, sink: FrameSink, exc: Exception) -> None:
        name = getattr(sink, "name", type(sink).__name__)
        log.error("%s failed: %s", name, exc)
        self._close_sink(sink)
        if sink is self._recorder:
            self._recorder = None
            self._report(RecordingFailed(f"Recording stopped: {exc}"), recording=False)
        elif sink is self._preview:
            self._preview = None
            self._report(PreviewClosed(f"Preview closed: {exc}"), preview=False)
        else:
            self._outputs = [s for s in self._outputs if s is not sink]
            if self._parts.reopen_output is not None:
                self._schedule_output_retry(OutputLost(f"{name} stopped: {exc}; retrying"))
            else:
                self._report(OutputLost(f"{name} stopped: {exc}"))

    def _schedule_output_retry(self, event: OutputLost) -> None:
        self._output_retry.failed()
        self._report(event)

    def _reopen_output(self) -> None:
        """The virtual camera failed (device busy or removed): open it again, with backoff."""
        assert self._parts.reopen_output is not None
        try:
            sink = self._parts.reopen_output()
        except Exception as exc:  # still unavailable: say why, try later
            log.warning("virtual camera still unavailable: %s", exc)
            self._schedule_output_retry(OutputLost(f"Virtual camera unavailable, retrying: {str(exc).splitlines()[0]}"))
            return
        log.info("virtual camera back: %s", getattr(sink, "name", sink))
        self._outputs.append(sink)
        self._output_retry.reset()
        self._set(message="")

    def _close_sink(self, sink: FrameSink) -> None:
        try:
            sink.close()
        except Exception:
            log.exception("closing %s failed", getattr(sink, "name", sink))

    def _note_frame(self, published: PublishedFrame) -> None:
        if self._last_frame_t is not None:
            dt = published.t - self._last_frame_t
            if dt > 0:
                inst = 1.0 / dt
                self._fps_ema = inst if self._fps_ema == 0 else 0.9 * self._fps_ema + 0.1 * inst
        self._last_frame_t = published.t
        faces = len(published.regions)
        keep = published.keep.state if published.keep is not None else self._status.keep_me
        if published.keep is not None and published.keep.picked:
            self._report(MePicked("Keep me visible: the face in the middle is shown, everyone else stays "
                                  "covered. Not you? Choose \"That's me\" again"))
        if self._status.state is not EngineState.PROTECTING:  # (back) to protecting: old news cleared
            self._happen(FrameProtected(), faces=faces, fps=self._fps_ema, keep_me=keep)
        elif self._status.faces != faces or self._status.keep_me is not keep:  # keep the message
            self._set(faces=faces, keep_me=keep)

    def _sleep_frame(self) -> None:
        due = self._last_publish + 1.0 / self._parts.fps
        delay = due - self._clock()
        if delay > 0:
            self._sleep(min(delay, 0.1))

    # status
    def _report(self, event: EngineEvent, **changes: object) -> None:
        """News for the user: the event, and its message for people."""
        self._set(message=event.message, event=event, **changes)

    def _set(self, **changes: object) -> None:
        """Change the status and tell subscribers. A new message without an event clears the event
        (news comes through ``_report``)."""
        if "message" in changes and "event" not in changes and changes["message"] != self._status.message:
            changes["event"] = None
        with self._lock:
            self._status = replace(self._status, **changes)  # type: ignore[arg-type]
            status, subscribers = self._status, list(self._subscribers)
        self._emit(status, subscribers)

    def _maybe_emit_periodic(self) -> None:
        now = self._clock()
        if now - self._last_status_emit < 1.0:
            return
        changes: dict[str, object] = {"fps": round(self._fps_ema, 1)}
        watch = getattr(self._pipeline, "watch", None)  # audit.watch.LeakWatch, when switched on
        if watch is not None:
            changes.update(leak_watch=watch.summary, leaks_found=watch.found)
        if self._recorder is not None:
            changes["recording_seconds"] = now - self._recording_since
        self._set(**changes)

    def _emit(self, status: EngineStatus, subscribers: list[Callable[[EngineStatus], None]]) -> None:
        self._last_status_emit = self._clock()
        for callback in subscribers:
            try:
                callback(status)
            except Exception:
                log.exception("status subscriber failed")

    def _shutdown(self) -> None:
        self._close_source()
        if self._recorder is not None:
            self._set_recording(False)
        if self._preview is not None:
            self._set_preview(False)
        for sink in self._outputs:
            self._close_sink(sink)
        self._outputs = []
        self._close_pipeline()
        self._set(state=EngineState.STOPPED)
        self._done.set()

    def _close_pipeline(self) -> None:
        if self._pipeline is not None:
            try:
                self._pipeline.close()
            except Exception:
                log.exception("closing the pipeline failed")
            self._pipeline = None
