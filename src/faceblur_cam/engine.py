"""The engine: runs capture -> protect -> outputs on a worker thread, under commands.

Thread rules:

- ``start()``, ``send(command)`` and the methods wrapping it (``pause``, ``resume``,
  ``set_style``, ``start_recording``, ``stop_recording``, ``set_preview``, ``quit``),
  ``status()``, ``subscribe()`` and ``wait()`` may be called from any thread. Commands are typed
  values (``Pause``, ``SetStyle(style)``, ...), queued and applied by the worker, in order.
- Everything else (source, pipeline, outputs) is touched only by the worker thread.
- Subscribers are called on the worker thread; a UI must marshal to its own thread.

The engine is the life cycle and the frame loop; it wires two parts:

- ``faceblur_cam.outputs.Outputs``: the virtual camera, the recording and the preview (open,
  send, fail, reopen with backoff, close);
- ``faceblur_cam.status.StatusFeed``: the current ``EngineStatus`` and its subscribers.

Privacy rules the loop keeps:

- A placeholder card is published before anything else (before the model loads), so the
  virtual camera exists at once and never shows a raw frame while starting.
- Raw camera frames reach outputs only through ``pipeline.process``, which fails closed.
- Pause closes the camera and publishes the "paused" card; resume resets the pipeline so the
  first frames are protected like start-up.

The life cycle (starting, protecting, paused, no camera, error) is a table:
``faceblur_cam.lifecycle.transition(state, happening) -> (state, effects)``. The worker feeds it
the commands and what its devices report, carries out the effects and publishes the state;
camera and virtual-camera retries follow one schedule (``faceblur_cam.backoff``). What the CLI
and the tray react to is the typed ``EngineStatus.event``, never the message text.

On every way out (quit, source ended, crash) the worker closes, in order: the camera, the
outputs (the recording is finished, then the preview and the virtual camera), and the pipeline
(its detector thread is joined).
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
from faceblur_cam.keep_me import KeepState, Why
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
from faceblur_cam.outputs import OutputParts, Outputs
from faceblur_cam.sinks import FrameSink
from faceblur_cam.sources import FrameSource, SourceError, SourceExhausted
from faceblur_cam.status import (
    CameraLost,
    DetectorFailed,
    EngineEvent,
    EngineStatus,
    MePicked,
    OutputLost,
    PreviewClosed,
    PreviewFailed,
    RecordingFailed,
    StatusFeed,
)

__all__ = [  # the life cycle's values and the status are part of the engine's interface
    "CameraLost", "Command", "DetectorFailed", "EngineEvent", "EngineState", "EngineStatus", "MePicked",
    "OutputLost", "Pause", "PickMe", "PreviewClosed", "PreviewFailed", "Quit", "RecordingFailed", "Resume",
    "SetKeepMe", "SetPreview", "SetRecording", "SetStyle", "TogglePause",
]

log = logging.getLogger(__name__)


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
    virtual_camera_missing: bool = False  # not set up yet: ``reopen_output`` opens it when it appears
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
        self._feed = StatusFeed(EngineStatus(state=EngineState.STARTING, style=style), clock)
        self._thread: threading.Thread | None = None
        self._done = threading.Event()
        # worker-only state (the life-cycle state is ``self._feed.status().state``: see ``lifecycle``)
        self._quit = False
        self._pipeline: Pipeline | None = None
        self._source: FrameSource | None = None
        self._outputs = Outputs(
            OutputParts(parts.outputs, parts.open_recorder, parts.open_preview, parts.reopen_output,
                        parts.virtual_camera_missing),
            Backoff(parts.retry_delays, clock), self._feed, clock)
        self._camera_retry = Backoff(parts.retry_delays, clock)
        self._last_publish = 0.0
        self._fps_ema = 0.0
        self._last_frame_t: float | None = None
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
        return self._outputs.can_record

    @property
    def can_preview(self) -> bool:
        """True when a preview window can be opened."""
        return self._outputs.can_preview

    def status(self) -> EngineStatus:
        return self._feed.status()

    def subscribe(self, callback: Callable[[EngineStatus], None]) -> None:
        """``callback(status)`` runs on the worker thread on every change and about once a second."""
        self._feed.subscribe(callback)

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
            self._pipeline.set_style(self._feed.status().style)
        except Exception as exc:  # model missing/corrupt: cannot protect, show error card
            log.exception("cannot start the face detector")
            self.exit_code = 2
            self._happen(PipelineFailed(), DetectorFailed(f"face detector failed to load: {exc}"))

    def _step(self) -> None:
        """One turn of the worker: a card (paused, error, waiting for the camera) or one frame."""
        if self._feed.status().state in (EngineState.PAUSED, EngineState.ERROR) or self._pipeline is None:
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
        if camera != self._feed.status().camera:
            self._feed.set(camera=camera)
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
                    self._outputs.set_recording(on)
                case SetPreview(on):
                    self._outputs.set_preview(on)
                case SetKeepMe(on):
                    self._keep_me(lambda pipeline: pipeline.set_keep_me(on),
                                  KeepState.WAITING if on else KeepState.OFF)
                case PickMe():
                    self._keep_me(lambda pipeline: pipeline.pick_me(), KeepState.WAITING)

    # the life cycle
    def _happen(self, happening: Happening, event: EngineEvent | None = None, **changes: object) -> None:
        """Feed ``happening`` to the table (``lifecycle.transition``), carry out its effects in
        order, then publish the new state (with ``event`` as the news, if any)."""
        before = self._feed.status().state
        state, effects = transition(before, happening)
        for effect in effects:
            self._carry_out(effect)
        if state is EngineState.PAUSED and before is not EngineState.PAUSED:
            log.info("paused: camera released")
        if state in (EngineState.PAUSED, EngineState.NO_CAMERA):
            changes.update(faces=0, fps=0.0)
        if event is not None:
            self._feed.report(event, state=state, **changes)
        elif state is not before:
            self._feed.set(state=state, message="", **changes)  # a new state: old news cleared
        elif changes:
            self._feed.set(**changes)

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
        self._feed.set(style=style)

    def _keep_me(self, apply: Callable[[Pipeline], None], state: KeepState) -> None:
        if self._pipeline is None:
            return
        try:
            apply(self._pipeline)
        except AttributeError:
            log.warning("this pipeline cannot keep anyone visible")
            return
        self._feed.set(keep_me=state, keep_why=Why.NONE)

    # source
    def _open_source(self) -> bool:
        if not self._camera_retry.due():
            return False
        try:
            self._source = self._parts.open_source()
        except SourceError as exc:
            # said once per outage, not at every retry (the tray shows it meanwhile)
            status = self._feed.status()
            said = status.state is EngineState.NO_CAMERA and status.message == str(exc)
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

    # publishing and pacing
    def _publish_card(self) -> None:
        """The placeholder card of the current state (with the message when it says what is wrong)."""
        status = self._feed.status()
        message = status.message if status.state in (EngineState.ERROR, EngineState.NO_CAMERA) else ""
        self._publish(replace(self._parts.placeholders.card(status.state, message), t=self._clock()))

    def _publish(self, frame: PublishedFrame) -> None:
        self._outputs.publish(frame)
        self._last_publish = self._clock()
        self._feed.count_frame()
        if self._feed.periodic_due():
            self._emit_periodic()

    def _note_frame(self, published: PublishedFrame) -> None:
        if self._last_frame_t is not None:
            dt = published.t - self._last_frame_t
            if dt > 0:
                inst = 1.0 / dt
                self._fps_ema = inst if self._fps_ema == 0 else 0.9 * self._fps_ema + 0.1 * inst
        self._last_frame_t = published.t
        faces = len(published.regions)
        status = self._feed.status()
        keep = published.keep.state if published.keep is not None else status.keep_me
        why = published.keep.why if published.keep is not None else status.keep_why
        if published.keep is not None and published.keep.picked:
            self._feed.report(MePicked("Keep me visible: the face in the middle is shown, everyone else stays "
                                       "covered. Not you? Choose \"That's me\" again"))
        if status.state is not EngineState.PROTECTING:  # (back) to protecting: old news cleared
            self._happen(FrameProtected(), faces=faces, fps=self._fps_ema, keep_me=keep, keep_why=why)
        elif status.faces != faces or status.keep_me is not keep or status.keep_why is not why:  # keep the message
            self._feed.set(faces=faces, keep_me=keep, keep_why=why)

    def _sleep_frame(self) -> None:
        due = self._last_publish + 1.0 / self._parts.fps
        delay = due - self._clock()
        if delay > 0:
            self._sleep(min(delay, 0.1))

    def _emit_periodic(self) -> None:
        changes: dict[str, object] = {"fps": round(self._fps_ema, 1)}
        watch = getattr(self._pipeline, "watch", None)  # audit.watch.LeakWatch, when switched on
        if watch is not None:
            changes.update(leak_watch=watch.summary, leaks_found=watch.found)
        seconds = self._outputs.recording_seconds()
        if seconds is not None:
            changes["recording_seconds"] = seconds
        self._feed.set(**changes)

    # the way out
    def _shutdown(self) -> None:
        self._close_source()
        try:
            self._outputs.close()
        finally:
            self._close_pipeline()
            self._feed.set(state=EngineState.STOPPED)
            self._done.set()

    def _close_pipeline(self) -> None:
        if self._pipeline is not None:
            try:
                self._pipeline.close()
            except Exception:
                log.exception("closing the pipeline failed")
            self._pipeline = None
