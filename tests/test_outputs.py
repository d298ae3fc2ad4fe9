"""``Outputs`` on fake sinks: a failing virtual camera is reopened with backoff (and a missing one
waited for with that same backoff), a sink that keeps failing never holds up the others, every
sink is closed on every way out, and the sinks get only the published frames handed in.

The clock is a ``Clock`` the test moves; nothing sleeps.
"""

from __future__ import annotations

import numpy as np
import pytest
from fake_engine_parts import Clock

from faceblur_cam.backoff import Backoff
from faceblur_cam.engine import EngineState
from faceblur_cam.frames import CapturedFrame, FrameKind, PublishedFrame
from faceblur_cam.outputs import OutputParts, Outputs
from faceblur_cam.sinks import SinkError
from faceblur_cam.status import (
    EngineEvent,
    EngineStatus,
    OutputLost,
    PreviewClosed,
    RecordingFailed,
    StatusFeed,
)

DELAYS = (0.1, 0.2, 0.4)
FPS = 50


class FakeSink:
    """Keeps what it is sent. ``good``: frames it takes before failing like a removed device
    (None: never fails). ``close_fails``: its ``close`` raises (after marking it closed)."""

    def __init__(self, name: str, events: list[str], good: int | None = None, close_fails: bool = False):
        self.name = name
        self.events = events
        self.good = good
        self.close_fails = close_fails
        self.frames: list[PublishedFrame] = []
        self.closed = False

    def send(self, frame: PublishedFrame) -> None:
        assert not self.closed, f"{self.name}: send after close"
        if self.good is not None and len(self.frames) >= self.good:
            raise SinkError("No such device")
        self.frames.append(frame)

    def close(self) -> None:
        self.events.append(f"close {self.name}")
        self.closed = True
        if self.close_fails:
            raise OSError("disk gone")


class Harness:
    """``Outputs`` with a moved clock, its status feed and what the feed reported."""

    def __init__(self, parts: OutputParts):
        self.clock = Clock()
        self.feed = StatusFeed(EngineStatus(state=EngineState.PROTECTING, style="blur"), self.clock)
        self.statuses: list[EngineStatus] = []
        self.feed.subscribe(self.statuses.append)
        self.outputs = Outputs(parts, Backoff(DELAYS, self.clock), self.feed, self.clock)
        self.sent: list[PublishedFrame] = []

    def publish_for(self, seconds: float) -> None:
        """Publish a frame every 1/FPS s for ``seconds`` of clock time."""
        for _ in range(round(seconds * FPS)):
            frame = PublishedFrame(np.full((4, 4, 3), len(self.sent) % 256, np.uint8), self.clock(),
                                   FrameKind.REDACTED, index=len(self.sent))
            self.sent.append(frame)
            self.outputs.publish(frame)
            self.clock.sleep(1 / FPS)

    def events(self, kind: type[EngineEvent] = EngineEvent) -> list[str]:
        seen: list[str] = []
        for status in self.statuses:
            if isinstance(status.event, kind) and (not seen or seen[-1] != status.event.message):
                seen.append(status.event.message)
        return seen


def spacing(times: list[float]) -> list[float]:
    return [round(b - a, 3) for a, b in zip(times, times[1:])]


# ----------------------------------------------------------------------------- retry with backoff
def test_a_failed_virtual_camera_is_reopened_with_growing_backoff_while_the_others_go_on() -> None:
    log: list[str] = []
    first = FakeSink("virtual camera /dev/video10", log, good=5)
    preview = FakeSink("preview", log)
    tries: list[float] = []
    reopened: list[FakeSink] = []

    def reopen() -> FakeSink:
        tries.append(h.clock())
        if len(tries) <= 2:
            raise SinkError("device busy\nsecond line")
        reopened.append(FakeSink("virtual camera /dev/video10", log))
        return reopened[-1]

    h = Harness(OutputParts([first], open_preview=lambda: preview, reopen_virtual_camera=reopen))
    h.outputs.set_preview(True)
    h.publish_for(2.0)

    assert first.closed and len(first.frames) == 5
    failed_at = h.sent[5].t  # the sixth frame failed: the first wait is 0.1 s, then they grow
    assert tries[0] - failed_at == pytest.approx(0.1, abs=1.5 / FPS)
    assert spacing(tries) == pytest.approx([0.2, 0.4], abs=1.5 / FPS)
    assert len(reopened) == 1 and reopened[0].frames == h.sent[len(h.sent) - len(reopened[0].frames):]
    assert preview.frames == h.sent  # never held up
    lost = h.events(OutputLost)
    assert lost == ["virtual camera /dev/video10 stopped: No such device; retrying",
                    "Virtual camera unavailable, retrying: device busy"]
    assert h.feed.status().message == "" and h.feed.status().event is None  # back: the news is cleared


def test_a_virtual_camera_that_never_comes_back_is_tried_with_backoff_not_every_frame() -> None:
    log: list[str] = []
    tries: list[float] = []

    def never() -> FakeSink:
        tries.append(h.clock())
        raise SinkError("No such device")

    recorder = FakeSink("recorder", log)
    preview = FakeSink("preview", log)
    h = Harness(OutputParts([FakeSink("vcam", log, good=0)], open_recorder=lambda: recorder,
                            open_preview=lambda: preview, reopen_virtual_camera=never))
    h.outputs.set_recording(True)
    h.outputs.set_preview(True)
    h.publish_for(3.0)

    assert recorder.frames == h.sent and preview.frames == h.sent
    assert 6 <= len(tries) <= 9  # 0.1, 0.2, then every 0.4 s in 3 s; 150 frames
    assert spacing(tries)[2:] == pytest.approx([0.4] * (len(tries) - 3), abs=1.5 / FPS)


def test_without_a_way_to_reopen_a_lost_virtual_camera_is_reported_once_and_dropped() -> None:
    log: list[str] = []
    vcam = FakeSink("vcam", log, good=3)
    other = FakeSink("second vcam", log)
    h = Harness(OutputParts([vcam, other]))
    h.publish_for(1.0)
    assert h.events(OutputLost) == ["vcam stopped: No such device"]
    assert len(vcam.frames) == 3 and vcam.closed and other.frames == h.sent


def test_a_failing_recording_or_preview_is_closed_reported_and_the_rest_goes_on() -> None:
    log: list[str] = []
    vcam = FakeSink("vcam", log)
    recorder = FakeSink("recorder", log, good=10)
    preview = FakeSink("preview", log, good=20)
    h = Harness(OutputParts([vcam], open_recorder=lambda: recorder, open_preview=lambda: preview))
    h.outputs.set_recording(True)
    h.outputs.set_preview(True)
    assert h.feed.status().recording and h.feed.status().preview
    h.publish_for(1.0)

    assert vcam.frames == h.sent
    assert recorder.closed and recorder.frames == h.sent[:10]
    assert preview.closed and preview.frames == h.sent[:20]
    assert h.events(RecordingFailed) == ["Recording stopped: No such device"]
    assert h.events(PreviewClosed) == ["Preview closed: No such device"]
    status = h.feed.status()
    assert not status.recording and not status.preview and h.outputs.recording_seconds() is None


def test_recording_that_cannot_start_says_why() -> None:
    def broken() -> FakeSink:
        raise SinkError("no space left on device")

    h = Harness(OutputParts(open_recorder=broken))
    h.outputs.set_recording(True)
    assert h.events(RecordingFailed) == ["Recording failed: no space left on device"]
    assert not h.feed.status().recording
    h2 = Harness(OutputParts())
    h2.outputs.set_recording(True)
    assert h2.events(RecordingFailed) == ["Recording is not available"] and not h2.outputs.can_record


# ----------------------------------------------------------------------------- a missing virtual camera
def test_a_missing_virtual_camera_is_waited_for_with_the_same_backoff_quietly_then_published_to() -> None:
    log: list[str] = []
    there = [False]
    tries: list[float] = []
    opened: list[FakeSink] = []

    def open_real() -> FakeSink:
        tries.append(h.clock())
        if not there[0]:
            raise SinkError('No virtual camera named "FaceBlur Cam" was found.\nCreate it with:')
        opened.append(FakeSink("virtual camera /dev/video9", log))
        return opened[-1]

    preview = FakeSink("preview", log)
    h = Harness(OutputParts(open_preview=lambda: preview, reopen_virtual_camera=open_real,
                            virtual_camera_missing=True))
    h.outputs.set_preview(True)
    h.publish_for(1.5)
    assert tries[0] == pytest.approx(1000.0) and spacing(tries) == pytest.approx([0.1, 0.2, 0.4, 0.4],
                                                                                  abs=1.5 / FPS)
    assert opened == [] and preview.frames == h.sent
    assert h.events() == []  # quiet: the tray says the device is missing and offers to set it up
    there[0] = True  # setup created it
    before = len(h.sent)
    h.publish_for(1.0)
    assert len(tries) == 6 and tries[5] - tries[4] == pytest.approx(0.4, abs=1.5 / FPS)  # the wait under way
    since = [f for f in h.sent[before:] if f.t >= tries[5]]  # every frame from the moment it opened
    [real] = opened
    assert len(real.frames) == len(since) and all(a is b for a, b in zip(real.frames, since))
    assert h.events() == []
    # from now on it is an ordinary virtual camera: a failure is news, and it is reopened
    real.good = len(real.frames)
    h.publish_for(0.5)
    assert real.closed and h.events(OutputLost) == ["virtual camera /dev/video9 stopped: No such device; retrying"]
    assert len(opened) == 2 and opened[1].frames == h.sent[-len(opened[1].frames):]


def test_a_missing_virtual_camera_needs_a_way_to_open_it() -> None:
    clock = Clock()
    feed = StatusFeed(EngineStatus(state=EngineState.STARTING, style="blur"), clock)
    with pytest.raises(ValueError, match="reopen_virtual_camera"):
        Outputs(OutputParts(virtual_camera_missing=True), Backoff(DELAYS, clock), feed, clock)


# ----------------------------------------------------------------------------- closing
def test_close_closes_recording_then_preview_then_virtual_cameras_even_when_one_fails() -> None:
    log: list[str] = []
    vcams = [FakeSink("vcam", log, close_fails=True), FakeSink("vcam 2", log)]
    h = Harness(OutputParts(vcams, open_recorder=lambda: FakeSink("recorder", log, close_fails=True),
                            open_preview=lambda: FakeSink("preview", log, close_fails=True)))
    h.outputs.set_recording(True)
    h.outputs.set_preview(True)
    h.publish_for(0.2)
    h.outputs.close()
    assert log == ["close recorder", "close preview", "close vcam", "close vcam 2"]
    status = h.feed.status()
    assert not status.recording and not status.preview
    h.outputs.close()  # idempotent: nothing is closed twice
    h.publish_for(0.1)  # a frame after close reaches no sink (FakeSink asserts)
    assert log == ["close recorder", "close preview", "close vcam", "close vcam 2"]


def test_close_while_a_missing_virtual_camera_is_waited_for_stops_waiting() -> None:
    tries: list[float] = []

    def never() -> FakeSink:
        tries.append(0.0)
        raise SinkError("missing")

    h = Harness(OutputParts(reopen_virtual_camera=never, virtual_camera_missing=True))
    h.publish_for(0.1)
    h.outputs.close()
    h.clock.sleep(60)
    h.publish_for(0.1)
    assert len(tries) == 1


# ----------------------------------------------------------------------------- fail closed
def test_only_published_frames_are_taken_and_sinks_get_exactly_those() -> None:
    log: list[str] = []
    vcam = FakeSink("vcam", log)
    h = Harness(OutputParts([vcam]))
    raw = CapturedFrame(np.full((4, 4, 3), 200, np.uint8), 0.0, 0)
    with pytest.raises(TypeError, match="published"):
        h.outputs.publish(raw)  # type: ignore[arg-type]
    assert vcam.frames == []
    h.publish_for(0.2)
    assert len(vcam.frames) == len(h.sent) and all(a is b for a, b in zip(vcam.frames, h.sent))


def test_an_engine_crash_still_closes_the_recording_the_preview_and_the_virtual_camera() -> None:
    from fake_engine_parts import ListSink, MarkingPipeline, Rig

    previews: list[ListSink] = []

    def open_preview() -> ListSink:
        previews.append(ListSink("preview"))
        return previews[-1]

    rig = Rig(recorder=True, pipeline=lambda log: MarkingPipeline(log, fail_on=20)).replace_parts(
        open_preview=open_preview)
    rig.engine.start_recording()
    rig.engine.set_preview(True)
    rig.run_to_end()
    assert rig.engine.exit_code == 1  # the pipeline bug
    [recording], [preview] = rig.recordings, previews
    assert recording.closed and preview.closed and rig.sink.closed
    assert recording.frames and preview.frames
    status = rig.engine.status()
    assert status.state is EngineState.STOPPED and not status.recording and not status.preview
    rig.assert_never_raw()
