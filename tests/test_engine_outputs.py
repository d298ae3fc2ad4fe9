"""A virtual camera that fails (device busy, removed) is reopened with backoff; the rest goes on."""

from __future__ import annotations

from fake_engine_parts import Clock
from test_failclosed import WH, PatternSource, face_raw, step_then_quit, stepped
from test_pipeline import FACE, ScriptedDetector

from faceblur_cam.engine import EngineParts
from faceblur_cam.pipeline import ProtectPipeline
from faceblur_cam.placeholders import PlaceholderCards
from faceblur_cam.sinks import SinkError


class FlakySink:
    """Takes ``good`` frames, then fails like a removed device."""

    def __init__(self, good: int):
        self.name = "virtual camera /dev/video10"
        self.good = good
        self.frames: list = []
        self.closed = False

    def send(self, frame):
        if len(self.frames) >= self.good:
            raise SinkError("No such device")
        self.frames.append(frame.image)

    def close(self):
        self.closed = True


def test_failed_virtual_camera_is_reopened_with_backoff():
    first = FlakySink(good=5)
    opened: list[FlakySink] = []
    attempts = []

    def reopen():
        attempts.append(clock())
        if len(attempts) == 1:
            raise SinkError("device busy")
        sink = FlakySink(good=10_000)
        opened.append(sink)
        return sink

    clock = Clock()
    messages = []
    parts = EngineParts(open_source=lambda: PatternSource(clock), placeholders=PlaceholderCards(WH), outputs=[first],
                        build_pipeline=lambda: ProtectPipeline(ScriptedDetector([[FACE]])),
                        reopen_output=reopen, retry_delays=(0.1, 0.2))
    engine = stepped(parts, clock)
    engine.subscribe(lambda s: messages.append(s.message))
    step_then_quit(engine, clock, 1.2)
    assert first.closed and len(first.frames) == 5
    assert len(attempts) == 2 and 0.2 <= attempts[1] - attempts[0] <= 0.2 + 0.03  # backoff grew: 0.1, then 0.2
    assert len(opened) == 1 and len(opened[0].frames) > 10 and opened[0].closed
    assert any("stopped: No such device; retrying" in m for m in messages)
    assert any(m.startswith("Virtual camera unavailable, retrying: device busy") for m in messages)
    assert messages[-1] == ""  # recovered: the message is cleared
    assert not any(face_raw(f) for f in first.frames + opened[0].frames)
