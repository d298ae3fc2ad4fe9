"""The live engine never publishes a raw frame: start-up, detector errors and stalls, camera
failure. Frames are received by pyvirtualcam's real ``Camera`` with our test backend.

The engine is stepped on the test's thread with a clock the camera moves (no sleeps); only the
stalled detector's budget is real time, because it is the detector's own thread that stalls."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import textured_frame
from fake_engine_parts import Clock
from test_pipeline import FACE, ScriptedDetector, SlowDetector

from faceblur_cam.detect import detect_fn
from faceblur_cam.detect.worker import TimedDetector
from faceblur_cam.engine import Engine, EngineParts, EngineState
from faceblur_cam.frames import CapturedFrame
from faceblur_cam.pipeline import ProtectPipeline
from faceblur_cam.placeholders import PlaceholderCards
from faceblur_cam.sinks import fake_vcam
from faceblur_cam.sinks.vcam import VirtualCameraSink
from faceblur_cam.sources import SourceError

WH = (320, 240)
RAW = [textured_frame(WH, seed) for seed in range(4)]


class PatternSource:
    """A camera that delivers known raw frames at 100 fps of ``clock`` time; can be told to fail."""

    def __init__(self, clock: Clock, fail_after: int | None = None):
        self.clock = clock
        self.fail_after = fail_after
        self.count = 0
        self.closed = False

    def read(self, timeout):
        self.clock.sleep(0.01)
        if self.fail_after is not None and self.count >= self.fail_after:
            raise SourceError("unplugged")
        self.count += 1
        return CapturedFrame(RAW[self.count % len(RAW)].copy(), self.clock(), self.count)

    def close(self):
        self.closed = True


def is_raw(image):
    return any(np.mean(np.all(image == raw, axis=2)) > 0.5 for raw in RAW)


def face_raw(image):
    x1, y1, x2, y2 = FACE
    return any(np.mean(np.all(image[y1:y2, x1:x2] == raw[y1:y2, x1:x2], axis=2)) > 0.02 for raw in RAW)


@pytest.fixture
def vcam():
    name = fake_vcam.register()
    sink = VirtualCameraSink(WH, 30, backend=name)
    yield sink, fake_vcam.FakeCameraBackend.instances[-1]


def stepped(parts, clock):
    return Engine(parts, clock=clock, sleep=clock.sleep)


def step_then_quit(engine, clock, seconds):
    """Step ``engine`` through ``seconds`` of its clock on this thread, then quit it; the engine."""
    end = clock() + seconds
    while clock() < end:
        assert engine.step()
    engine.quit()
    assert not engine.step()
    return engine


def run_engine(parts, clock, seconds):
    return step_then_quit(stepped(parts, clock), clock, seconds)


def test_placeholder_is_published_before_the_model_has_loaded(vcam):
    sink, backend = vcam
    clock = Clock()
    seen_while_loading = []

    def slow_build():  # the model loads: what has the virtual camera shown meanwhile?
        seen_while_loading.extend(backend.frames)
        return ProtectPipeline(ScriptedDetector([[FACE]]))

    parts = EngineParts(open_source=lambda: PatternSource(clock), build_pipeline=slow_build,
                        placeholders=PlaceholderCards(WH), outputs=[sink])
    run_engine(parts, clock, 0.5)
    assert len(seen_while_loading) == 1
    assert np.array_equal(seen_while_loading[0], PlaceholderCards(WH).card(EngineState.STARTING).image)
    assert backend.sent > 5
    assert not any(face_raw(f) for f in backend.frames)
    assert backend.closed


def test_detector_errors_and_stalls_never_publish_raw(vcam):
    sink, backend = vcam
    clock = Clock()
    script = [[FACE], RuntimeError("boom"), [FACE], RuntimeError("boom"), [FACE]]
    parts = EngineParts(open_source=lambda: PatternSource(clock), placeholders=PlaceholderCards(WH), outputs=[sink],
                        build_pipeline=lambda: ProtectPipeline(ScriptedDetector(script * 50)))
    run_engine(parts, clock, 1.0)
    assert backend.sent > 20
    assert not any(face_raw(f) for f in backend.frames)

    stall = SlowDetector(0.3)  # the detector's own thread stalls in real time, past its budget
    parts.build_pipeline = lambda: ProtectPipeline(TimedDetector(detect_fn(stall), budget_s=0.05))
    sink2 = VirtualCameraSink(WH, 30, backend=fake_vcam.NAME)
    backend2 = fake_vcam.FakeCameraBackend.instances[-1]
    parts.outputs = [sink2]
    run_engine(parts, clock, 0.4)
    assert backend2.sent > 10
    assert not any(face_raw(f) for f in backend2.frames)


def test_camera_failure_shows_a_card_retries_and_recovers(vcam):
    sink, backend = vcam
    opened: list[PatternSource] = []

    clock = Clock()

    def open_source():
        if len(opened) == 1:  # the first re-open attempt fails too (still unplugged)
            opened.append(None)  # type: ignore[arg-type]
            raise SourceError("no such device")
        src = PatternSource(clock, fail_after=10 if not opened else None)
        opened.append(src)
        return src

    states = []
    parts = EngineParts(open_source=open_source, placeholders=PlaceholderCards(WH), outputs=[sink],
                        build_pipeline=lambda: ProtectPipeline(ScriptedDetector([[FACE]])),
                        retry_delays=(0.1, 0.2))
    engine = stepped(parts, clock)
    engine.subscribe(lambda s: states.append(s.state))
    step_then_quit(engine, clock, 1.5)
    assert EngineState.NO_CAMERA in states
    assert states.index(EngineState.NO_CAMERA) < len(states) - 1 - states[::-1].index(EngineState.PROTECTING)
    assert len(opened) == 3 and opened[0].closed
    no_camera_card = PlaceholderCards(WH).card(EngineState.NO_CAMERA, "Camera disconnected, retrying (unplugged)").image
    assert any(np.array_equal(f, no_camera_card) for f in backend.frames)
    assert not any(face_raw(f) for f in backend.frames)


def test_model_failure_is_an_error_card_not_raw_video(vcam):
    sink, backend = vcam

    def broken():
        raise RuntimeError("model file damaged")

    clock = Clock()
    parts = EngineParts(open_source=lambda: PatternSource(clock), build_pipeline=broken,
                        placeholders=PlaceholderCards(WH), outputs=[sink])
    engine = run_engine(parts, clock, 0.5)
    assert engine.exit_code == 2
    assert backend.sent >= 2
    cards = PlaceholderCards(WH)
    allowed = [cards.card(EngineState.STARTING).image,
               cards.card(EngineState.ERROR, "face detector failed to load: model file damaged").image]
    assert all(any(np.array_equal(f, c) for c in allowed) for f in backend.frames)
    assert np.array_equal(backend.frames[-1], allowed[1])
