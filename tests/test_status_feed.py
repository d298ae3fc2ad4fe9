"""The status fan-out: subscribers get every ``EngineStatus`` change; one that raises stops
neither the engine nor the other subscribers."""

from __future__ import annotations

import logging

import pytest
from fake_engine_parts import Clock, Rig

from faceblur_cam.engine import EngineState
from faceblur_cam.status import PERIODIC_S, CameraLost, EngineStatus, StatusFeed


def feed() -> tuple[StatusFeed, Clock]:
    clock = Clock()
    return StatusFeed(EngineStatus(state=EngineState.STARTING, style="blur"), clock), clock


def test_subscribers_hear_every_change_in_order_and_a_raising_one_is_skipped(caplog: pytest.LogCaptureFixture) -> None:
    status_feed, _clock = feed()
    first: list[EngineStatus] = []
    last: list[EngineStatus] = []

    def broken(status: EngineStatus) -> None:
        raise RuntimeError("a tray bug")

    status_feed.subscribe(first.append)
    status_feed.subscribe(broken)
    status_feed.subscribe(last.append)
    with caplog.at_level(logging.ERROR, "faceblur_cam.status"):
        status_feed.set(state=EngineState.PROTECTING, faces=2)
        status_feed.report(CameraLost("Camera disconnected"), state=EngineState.NO_CAMERA)
    assert first == last and [s.state for s in last] == [EngineState.PROTECTING, EngineState.NO_CAMERA]
    assert isinstance(last[-1].event, CameraLost) and last[-1].message == "Camera disconnected"
    assert status_feed.status() == last[-1]
    assert sum("status subscriber failed" in r.getMessage() for r in caplog.records) == 2


def test_a_new_message_without_an_event_clears_the_old_news() -> None:
    status_feed, _clock = feed()
    status_feed.report(CameraLost("gone"))
    status_feed.set(faces=1)  # other changes keep the news
    assert isinstance(status_feed.status().event, CameraLost)
    status_feed.set(message="")
    assert status_feed.status().event is None and status_feed.status().message == ""


def test_frames_are_counted_quietly_and_periodic_news_is_due_after_a_quiet_second() -> None:
    status_feed, clock = feed()
    heard: list[EngineStatus] = []
    status_feed.subscribe(heard.append)
    status_feed.set(faces=1)
    for _ in range(10):
        status_feed.count_frame()
    assert len(heard) == 1 and status_feed.status().frames_published == 10
    clock.sleep(PERIODIC_S / 2)
    assert not status_feed.periodic_due()
    clock.sleep(PERIODIC_S / 2)
    assert status_feed.periodic_due()


def test_a_raising_subscriber_does_not_stop_the_engine(caplog: pytest.LogCaptureFixture) -> None:
    calls = [0]

    def broken(status: EngineStatus) -> None:
        calls[0] += 1
        raise RuntimeError("a tray bug")

    after: list[EngineStatus] = []
    with caplog.at_level(logging.ERROR, "faceblur_cam.status"), Rig() as rig:
        rig.engine.subscribe(broken)
        rig.engine.subscribe(after.append)
        rig.wait_state(EngineState.PROTECTING)
        rig.wait_frames(100)
        rig.engine.pause()
        rig.wait_state(EngineState.PAUSED)
    assert calls[0] >= 3 and rig.engine.exit_code == 0
    assert after[-1].state is EngineState.STOPPED and after == rig.statuses[-len(after):]
    rig.assert_never_raw()
