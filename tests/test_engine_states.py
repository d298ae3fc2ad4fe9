"""The engine's state machine on fakes: pause/resume/record/style/quit, unplug, fail-closed.

The engine is stepped turn by turn on the test's thread with a clock the fakes move (the
``Rig``'s default): no worker thread, no sleeps, the same result on a busy machine.

Every test ends with ``assert_never_raw``: no frame any sink received contains a cell of the
source's synthetic pattern, whatever happened (pausing, resuming, errors, rapid toggling).
"""

from __future__ import annotations

import numpy as np
from fake_engine_parts import WH, MarkingPipeline, PatternSource, Rig, contains_raw, raw_pattern

from faceblur_cam.engine import EngineState
from faceblur_cam.frames import FrameKind
from faceblur_cam.placeholders import PlaceholderCards
from faceblur_cam.sources import SourceError


def test_the_raw_pattern_detector_works() -> None:
    # the check every other test relies on must be able to fail
    assert contains_raw(raw_pattern())
    leaked = np.zeros((WH[1], WH[0], 3), np.uint8)
    leaked[8:12, 8:12] = raw_pattern()[8:12, 8:12]
    assert contains_raw(leaked)
    assert not contains_raw(255 - raw_pattern())
    assert not contains_raw(PlaceholderCards(WH).card(EngineState.PAUSED).image)


def test_starts_with_a_card_then_protects() -> None:
    with Rig() as rig:
        rig.wait_state(EngineState.PROTECTING)
        rig.wait_frames(3)
    frames = rig.sink.snapshot()
    assert frames[0].kind is FrameKind.PLACEHOLDER  # the card comes before the first camera frame
    assert any(f.kind is FrameKind.OBSCURED for f in frames)
    assert rig.engine.status().state is EngineState.STOPPED
    assert rig.log.count("open") == rig.log.count("close") == 1
    assert rig.sink.closed
    rig.assert_never_raw()


def test_pause_releases_the_camera_and_publishes_the_paused_card() -> None:
    with Rig() as rig:
        rig.wait_state(EngineState.PROTECTING)
        rig.engine.pause()
        rig.wait_state(EngineState.PAUSED)
        assert rig.log[-1] == "close"  # released before anything else happened
        n = len(rig.sink.snapshot())
        rig.wait_frames(5)
        paused = rig.sink.snapshot()[n:]
        card = PlaceholderCards(WH).card(EngineState.PAUSED).image
        assert all(f.kind is FrameKind.PLACEHOLDER and np.array_equal(f.image, card) for f in paused)
        assert rig.log[-1] == "close"  # no reopen, no processing while paused
    rig.assert_never_raw()


def test_resume_reopens_the_camera_and_resets_the_pipeline_first() -> None:
    with Rig() as rig:
        rig.wait_state(EngineState.PROTECTING)
        rig.engine.pause()
        rig.wait_state(EngineState.PAUSED)
        mark = len(rig.log)
        rig.engine.resume()
        rig.wait_state(EngineState.PROTECTING)
        after = rig.log[mark:]
        # the tracker/detector state is reset before the camera reopens and the first frame
        assert after[:3] == ["reset", "open", "process"], after[:5]
    rig.assert_never_raw()


def test_rapid_toggling_collapses_and_ends_in_the_last_wanted_state() -> None:
    with Rig() as rig:
        rig.wait_state(EngineState.PROTECTING)
        for _ in range(101):  # odd: ends paused
            rig.engine.toggle_pause()
        rig.wait_state(EngineState.PAUSED)
        rig.step(5)
        assert rig.engine.status().state is EngineState.PAUSED
        assert rig.log.count("open") == rig.log.count("close")  # camera released
        for _ in range(50):
            rig.engine.pause()
            rig.engine.resume()
        rig.wait_state(EngineState.PROTECTING)
        rig.wait_frames(3)
        # the commands were applied in batches, not one camera open per toggle
        assert rig.log.count("open") < 20
    rig.assert_never_raw()


def test_pause_and_resume_under_load_never_leak_a_raw_frame() -> None:
    with Rig() as rig:
        rig.wait_state(EngineState.PROTECTING)
        for i in range(30):
            rig.engine.pause() if i % 2 == 0 else rig.engine.resume()
            rig.step(i % 3)  # commands arrive between turns, several in one turn, or in a row
        rig.engine.resume()
        rig.wait_state(EngineState.PROTECTING)
        rig.wait_frames(3)
    rig.assert_never_raw()


def test_style_changes_reach_the_pipeline_and_bad_styles_are_refused() -> None:
    with Rig() as rig:
        rig.wait_state(EngineState.PROTECTING)
        rig.engine.set_style("pixelate")
        rig.wait_for(lambda s: s.style == "pixelate")
        rig.engine.set_style("sparkles")
        rig.engine.set_style("solid")
        rig.wait_for(lambda s: s.style == "solid")
    assert "style:pixelate" in rig.log and "style:solid" in rig.log
    assert "style:sparkles" not in rig.log
    assert all(s.style != "sparkles" for s in rig.statuses)


def test_recording_gets_the_published_frames_and_stops_cleanly() -> None:
    with Rig(recorder=True) as rig:
        assert rig.engine.can_record
        rig.wait_state(EngineState.PROTECTING)
        rig.engine.start_recording()
        rig.wait_for(lambda s: s.recording)
        rig.wait_frames(5)
        rig.engine.pause()  # the recording shows the paused card too, never the camera
        rig.wait_state(EngineState.PAUSED)
        rig.wait_frames(3)
        rig.engine.stop_recording()
        rig.wait_for(lambda s: not s.recording)
    (recording,) = rig.recordings
    assert recording.closed
    kinds = {f.kind for f in recording.snapshot()}
    assert FrameKind.OBSCURED in kinds and FrameKind.PLACEHOLDER in kinds
    rig.assert_never_raw()


def test_without_a_recorder_recording_is_refused_not_faked() -> None:
    with Rig(recorder=False) as rig:
        assert not rig.engine.can_record
        rig.wait_state(EngineState.PROTECTING)
        rig.engine.start_recording()
        status = rig.wait_for(lambda s: bool(s.message))
    assert not status.recording and "not available" in status.message


def test_quit_while_recording_closes_everything() -> None:
    with Rig(recorder=True) as rig:
        rig.wait_state(EngineState.PROTECTING)
        rig.engine.start_recording()
        rig.wait_for(lambda s: s.recording)
    assert rig.engine.wait(0)
    assert rig.engine.exit_code == 0
    assert rig.recordings[0].closed and rig.sink.closed
    assert rig.log.count("open") == rig.log.count("close")


def test_camera_unplug_shows_the_card_retries_and_recovers() -> None:
    opened: list[float] = []

    def flaky(log: list[str]) -> PatternSource:
        opened.append(rig.clock())
        n = len(opened)
        if n == 1:
            return PatternSource(log, fail_after=5)  # works, then is unplugged
        if n <= 3:
            raise SourceError("no such camera")
        return PatternSource(log)  # plugged back in

    with Rig(source_factory=flaky, retry_delays=(0.1, 0.2, 0.4)) as rig:
        rig.wait_state(EngineState.NO_CAMERA)
        assert "Camera disconnected" in rig.engine.status().message
        rig.wait_state(EngineState.PROTECTING, timeout=5)
    assert len(opened) == 4
    gaps = np.diff(opened[1:])
    # backoff grows: 0.2 then 0.4 s between the failed tries (each due on the first turn after it)
    assert 0.2 <= gaps[0] <= 0.2 + 0.03 and 0.4 <= gaps[1] <= 0.4 + 0.03, gaps
    states = [s.state for s in rig.statuses]
    assert EngineState.NO_CAMERA in states
    after_unplug = states[states.index(EngineState.NO_CAMERA):]
    assert EngineState.PROTECTING in after_unplug
    cards = [f for f in rig.sink.snapshot() if f.kind is FrameKind.PLACEHOLDER]
    no_camera = PlaceholderCards(WH)
    assert any(np.array_equal(f.image, no_camera.card(EngineState.NO_CAMERA, "no such camera").image)
               for f in cards)
    rig.assert_never_raw()


def test_a_pipeline_bug_stops_the_engine_without_publishing_raw() -> None:
    rig = Rig(pipeline=lambda log: MarkingPipeline(log, fail_on=3))
    rig.run_to_end()
    assert rig.engine.exit_code == 1
    assert rig.engine.status().state is EngineState.STOPPED
    assert rig.sink.closed and rig.log.count("open") == rig.log.count("close")
    rig.assert_never_raw()


def test_a_detector_that_cannot_load_publishes_the_error_card_only() -> None:
    def broken(_log: list[str]) -> MarkingPipeline:
        raise RuntimeError("model file damaged")

    with Rig(pipeline=broken) as rig:
        status = rig.wait_state(EngineState.ERROR)
        rig.wait_frames(3)
        rig.engine.resume()  # commands do not bring the camera back without a pipeline
        rig.wait_frames(3)
    assert "model file damaged" in status.message
    assert "open" not in rig.log  # the camera was never opened
    assert all(f.kind is FrameKind.PLACEHOLDER for f in rig.sink.snapshot())
    rig.assert_never_raw()
