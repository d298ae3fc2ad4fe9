"""The real engine stepped turn by turn on the test's thread, with a clock the test moves: no
worker thread, no sleeps (``Engine.step``)."""

from __future__ import annotations

from fake_engine_parts import WH, Clock, ListSink, MarkingPipeline, contains_raw, raw_pattern

from faceblur_cam.engine import CameraLost, Engine, EngineParts, EngineState, Pause, Resume
from faceblur_cam.frames import CapturedFrame, FrameKind
from faceblur_cam.placeholders import PlaceholderCards
from faceblur_cam.sources import SourceError


class ScriptedCamera:
    """Delivers ``frames`` frames (one per turn, 1/30 s apart), then fails like an unplugged camera."""

    def __init__(self, clock: Clock, log: list[str], frames: int | None) -> None:
        self.clock, self.log, self.frames, self.reads = clock, log, frames, 0
        log.append(f"open@{clock.now - 1000:.2f}")

    def read(self, timeout: float) -> CapturedFrame:
        if self.frames is not None and self.reads >= self.frames:
            raise SourceError("unplugged")
        self.reads += 1
        self.clock.now += 1 / 30
        return CapturedFrame(raw_pattern(), self.clock.now, self.reads)

    def close(self) -> None:
        self.log.append("close")


def stepped_engine(opens: list[int | None | Exception]) -> tuple[Engine, Clock, list[str], ListSink]:
    """An engine whose camera opens follow ``opens``: a frame count, None (endless) or an error."""
    clock, log, sink = Clock(), [], ListSink("vcam")
    script = iter(opens)

    def open_camera() -> ScriptedCamera:
        outcome = next(script)
        if isinstance(outcome, Exception):
            log.append(f"refused@{clock.now - 1000:.2f}")
            raise outcome
        return ScriptedCamera(clock, log, outcome)

    parts = EngineParts(open_source=open_camera, build_pipeline=lambda: MarkingPipeline([]),
                        placeholders=PlaceholderCards(WH), outputs=[sink], fps=30.0, retry_delays=(0.5, 1.0, 2.0))
    return Engine(parts, clock=clock, sleep=clock.sleep), clock, log, sink


def test_an_unplugged_camera_is_retried_on_the_backoff_schedule_then_protects_again() -> None:
    no = SourceError("no such camera")
    engine, clock, log, sink = stepped_engine([3, no, no, None])
    states = []
    for _ in range(200):
        assert engine.step()
        states.append(engine.status().state)
        if len(log) >= 5 and states[-1] is EngineState.PROTECTING:
            break
    # opened at 0; 3 frames (0.1 s), unplugged; retried 0.5, 1.0 and 2.0 s after each failure,
    # on the first turn (one frame time, 1/30 s) after it is due
    assert [entry.split("@")[0] for entry in log] == ["open", "close", "refused", "refused", "open"]
    times = [float(entry.split("@")[1]) for entry in log if "@" in entry]
    due = [0.0, 0.1 + 0.5]
    due += [times[1] + 1.0, times[2] + 2.0]
    assert all(d - 0.01 <= t <= d + 1 / 30 + 0.01 for t, d in zip(times, due, strict=True)), times
    assert states[1] is EngineState.PROTECTING and EngineState.NO_CAMERA in states
    assert engine.status().event is None  # the news is cleared once protecting again
    lost = [s for s in states if s is EngineState.NO_CAMERA]
    assert len(lost) > 10  # the card kept being published while waiting, one per frame time
    engine.quit()
    assert not engine.step() and engine.status().state is EngineState.STOPPED
    assert sink.closed and not any(contains_raw(f.image) for f in sink.frames)


def test_pause_and_resume_turn_by_turn() -> None:
    engine, clock, log, sink = stepped_engine([None, None])
    for _ in range(3):
        engine.step()
    assert engine.status().state is EngineState.PROTECTING
    engine.send(Pause())
    engine.step()
    assert engine.status().state is EngineState.PAUSED and log[-1] == "close"
    n = len(sink.frames)
    engine.step()
    engine.step()
    assert [f.kind for f in sink.frames[n:]] == [FrameKind.PLACEHOLDER] * 2
    engine.send(Resume())
    engine.step()  # resumed: the camera reopens at once (no backoff) and the first frame is protected
    assert log[-1].startswith("open@") and engine.status().state is EngineState.PROTECTING
    engine.quit()
    assert not engine.step()
    assert not any(contains_raw(f.image) for f in sink.frames)


def test_the_news_of_a_lost_camera_is_typed() -> None:
    engine, clock, log, sink = stepped_engine([1, SourceError("gone"), None])
    for _ in range(4):
        engine.step()
    assert engine.status().state is EngineState.NO_CAMERA
    assert isinstance(engine.status().event, CameraLost)
    engine.quit()
    engine.step()
