"""What the CLI and the tray react to is a typed event on the engine status, never the wording
of its message (messages are for people and may be reworded at any time); what the engine is
told is a typed command."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fake_engine_parts import ListSink, MarkingPipeline, PatternSource, Rig

from faceblur_cam.commands.run import _quit_when_recording_ends
from faceblur_cam.engine import (
    CameraLost,
    DetectorFailed,
    EngineEvent,
    EngineState,
    EngineStatus,
    OutputLost,
    Pause,
    PreviewClosed,
    RecordingFailed,
    Resume,
    SetRecording,
    SetStyle,
    TogglePause,
)
from faceblur_cam.sinks import SinkError
from faceblur_cam.tray.menu import notification


class FailingSink(ListSink):
    """Takes ``good`` frames, then raises like a full disk or a removed device."""

    def __init__(self, name: str, good: int) -> None:
        super().__init__(name)
        self.good = good

    def send(self, frame) -> None:  # type: ignore[no-untyped-def]
        if len(self.frames) >= self.good:
            raise SinkError(f"{self.name} broke")
        super().send(frame)


def rig_with(**overrides: object) -> Rig:
    """The standard rig with some of its engine's parts replaced."""
    return Rig().replace_parts(**overrides)


def first_event(rig: Rig, kind: type[EngineEvent]) -> EngineStatus:
    return rig.wait_for(lambda s: isinstance(s.event, kind))


def test_a_recording_that_stops_on_an_error_is_recording_failed() -> None:
    with rig_with(open_recorder=lambda: FailingSink("recorder", good=3)) as rig:
        rig.wait_state(EngineState.PROTECTING)
        rig.engine.start_recording()
        status = first_event(rig, RecordingFailed)
    assert not status.recording and "recorder broke" in status.message


def test_a_recording_that_cannot_start_is_recording_failed() -> None:
    def cannot() -> ListSink:
        raise SinkError("cannot write recordings to /nowhere")

    with rig_with(open_recorder=cannot) as rig:
        rig.wait_state(EngineState.PROTECTING)
        rig.engine.start_recording()
        status = first_event(rig, RecordingFailed)
    assert "/nowhere" in status.message


def test_a_virtual_camera_that_fails_is_output_lost() -> None:
    with rig_with(outputs=[FailingSink("virtual camera", good=3)]) as rig:
        status = first_event(rig, OutputLost)
    assert status.state is EngineState.PROTECTING


def test_a_closed_preview_is_preview_closed() -> None:
    with rig_with(open_preview=lambda: FailingSink("preview", good=2)) as rig:
        rig.wait_state(EngineState.PROTECTING)
        rig.engine.set_preview(True)
        status = first_event(rig, PreviewClosed)
    assert not status.preview


def test_an_unplugged_camera_is_camera_lost_and_the_news_clears_when_it_is_back() -> None:
    with Rig(source_factory=lambda log: PatternSource(log, fail_after=5)) as rig:
        lost = first_event(rig, CameraLost)
        back = rig.wait_state(EngineState.PROTECTING)  # reopened (and unplugged again, and again)
    assert lost.state is EngineState.NO_CAMERA
    assert back.event is None and back.message == ""


def test_a_detector_that_cannot_load_is_detector_failed() -> None:
    def broken(_log: list[str]) -> MarkingPipeline:
        raise RuntimeError("model file damaged")

    with Rig(pipeline=broken) as rig:
        status = first_event(rig, DetectorFailed)
    assert status.state is EngineState.ERROR and "model file damaged" in status.message


# ----------------------------------------------------------------------------- who reacts
def protecting(event: EngineEvent | None = None) -> EngineStatus:
    return EngineStatus(EngineState.PROTECTING, "blur", faces=1, fps=30,
                        message=event.message if event else "", event=event)


@pytest.mark.parametrize("event, notifies", [
    (RecordingFailed("Die Aufnahme wurde beendet: Datenträger voll"), True),
    (OutputLost("Preview closed: (a misleading wording)"), True),
    (PreviewClosed("Recording failed: (a misleading wording)"), False),
])
def test_the_tray_notifies_by_the_type_of_news_not_its_words(event: EngineEvent, notifies: bool) -> None:
    assert notification(protecting(), protecting(event)) == (event.message if notifies else None)


class FakeEngine:
    def __init__(self) -> None:
        self.exit_code = 0
        self.quits = 0

    def quit(self) -> None:
        self.quits += 1


@pytest.mark.parametrize("event, quits", [
    (RecordingFailed("L'enregistrement s'est arrêté"), True),
    (OutputLost("Recording stopped: (a misleading wording)"), False),
    (None, False),
])
def test_record_only_run_quits_on_recording_failed_whatever_the_wording(
    event: EngineEvent | None, quits: bool, capsys: pytest.CaptureFixture[str]
) -> None:
    engine = FakeEngine()
    callback: Callable[[EngineStatus], None] = _quit_when_recording_ends(engine)  # type: ignore[arg-type]
    callback(protecting(event))
    assert (engine.quits, engine.exit_code) == ((1, 1) if quits else (0, 0))
    if quits:
        assert event is not None and event.message in capsys.readouterr().err


# ----------------------------------------------------------------------------- typed commands
def test_commands_are_typed_values_applied_in_order() -> None:
    with Rig(recorder=True) as rig:
        rig.wait_state(EngineState.PROTECTING)
        for command in (SetStyle("pixelate"), SetRecording(True), TogglePause()):
            rig.engine.send(command)
        paused = rig.wait_state(EngineState.PAUSED)
        rig.engine.send(SetStyle("no-such-style"))  # refused by the pipeline: the style stays
        rig.engine.send(Resume())
        back = rig.wait_state(EngineState.PROTECTING)
    assert paused.style == "pixelate" and paused.recording
    assert back.style == "pixelate"
    assert "style:pixelate" in rig.log and "style:no-such-style" not in rig.log


@pytest.mark.parametrize("bad", [("pause", None), "quit", Pause])
def test_anything_else_is_refused_at_the_door(bad: object) -> None:
    rig = Rig()
    with pytest.raises(TypeError, match="not an engine command"):
        rig.engine.send(bad)  # type: ignore[arg-type]
