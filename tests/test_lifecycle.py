"""The engine's life cycle, stepped as a table (no thread, no sleeps), and the retry schedule on a
clock the test moves."""

from __future__ import annotations

import pytest

from faceblur_cam.backoff import Backoff
from faceblur_cam.lifecycle import (
    TABLE,
    CameraFailed,
    CameraOpened,
    Effect,
    EngineState,
    FrameProtected,
    Happening,
    Pause,
    PipelineFailed,
    Quit,
    Resume,
    SourceEnded,
    TogglePause,
    transition,
)

S, E = EngineState, Effect


def run(state: EngineState, *happenings: Happening) -> tuple[list[EngineState], list[Effect]]:
    states, effects = [], []
    for happening in happenings:
        state, done = transition(state, happening)
        states.append(state)
        effects.extend(done)
    return states, effects


def test_start_up_then_a_first_protected_frame() -> None:
    states, effects = run(S.STARTING, CameraOpened(), FrameProtected(), FrameProtected())
    assert states == [S.STARTING, S.PROTECTING, S.PROTECTING]
    assert effects == [E.RETRY_CAMERA_NOW]


def test_a_model_that_cannot_load_is_an_error_nothing_gets_out_of() -> None:
    states, effects = run(S.STARTING, PipelineFailed(), Pause(), Resume(), TogglePause(), CameraOpened())
    assert states == [S.ERROR] * 5 and effects == []
    assert transition(S.ERROR, Quit()) == (S.ERROR, (E.STOP,))


def test_pause_releases_the_camera_and_resume_protects_like_start_up() -> None:
    states, effects = run(S.PROTECTING, Pause(), FrameProtected(), Resume())
    assert states == [S.PAUSED, S.PAUSED, S.STARTING]  # a late frame report changes nothing
    assert effects == [E.CLOSE_CAMERA, E.RESET_PIPELINE, E.RETRY_CAMERA_NOW]


@pytest.mark.parametrize("state", [S.STARTING, S.PROTECTING, S.NO_CAMERA])
def test_pause_works_from_every_live_state(state: EngineState) -> None:
    assert transition(state, Pause()) == (S.PAUSED, (E.CLOSE_CAMERA,))
    assert transition(state, TogglePause()) == (S.PAUSED, (E.CLOSE_CAMERA,))


def test_toggling_an_odd_number_of_times_ends_paused() -> None:
    states, _ = run(S.PROTECTING, *[TogglePause()] * 101)
    assert states[-1] is S.PAUSED
    states, _ = run(S.PROTECTING, *[TogglePause()] * 100)
    assert states[-1] is S.STARTING


def test_an_unplugged_camera_is_retried_until_it_is_back() -> None:
    states, effects = run(S.PROTECTING, CameraFailed(), CameraFailed(), CameraOpened(), FrameProtected())
    assert states == [S.NO_CAMERA, S.NO_CAMERA, S.STARTING, S.PROTECTING]
    retry = [E.CLOSE_CAMERA, E.RESET_PIPELINE, E.RETRY_CAMERA_LATER]
    assert effects == retry + retry + [E.RETRY_CAMERA_NOW]


def test_a_paused_engine_ignores_camera_reports_and_the_end_of_a_file() -> None:
    states, effects = run(S.PAUSED, CameraFailed(), CameraOpened(), SourceEnded(), Pause())
    assert states == [S.PAUSED] * 4 and effects == []


def test_the_end_of_a_file_closes_it_whatever_the_live_state() -> None:
    for state in (S.STARTING, S.PROTECTING):
        assert transition(state, SourceEnded()) == (state, (E.CLOSE_CAMERA,))


@pytest.mark.parametrize("state", list(EngineState))
def test_quit_stops_from_every_state(state: EngineState) -> None:
    assert transition(state, Quit()) == (state, (E.STOP,))


def test_the_table_never_leads_to_stopped() -> None:
    """STOPPED is what the worker says once it has closed everything, not a table entry."""
    assert all(next_state is not S.STOPPED for (state, _), (next_state, _) in TABLE.items() if state is not S.STOPPED)


# ----------------------------------------------------------------------------- the retry schedule
class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_backoff_grows_then_repeats_its_last_delay_and_resets_on_success() -> None:
    clock = Clock()
    retry = Backoff((0.5, 1.0, 2.0), clock)
    assert retry.due() and not retry.waiting
    waits = []
    for _ in range(4):
        retry.failed()
        assert retry.next_at is not None
        waits.append(retry.next_at - clock.now)
        clock.now += 0.4
        assert not retry.due()
        clock.now = retry.next_at
        assert retry.due()
    assert waits == [0.5, 1.0, 2.0, 2.0]
    retry.reset()
    retry.failed()
    assert retry.next_at == clock.now + 0.5


@pytest.mark.parametrize("delays", [(), (-1.0,)])
def test_backoff_refuses_nonsense_delays(delays: tuple[float, ...]) -> None:
    with pytest.raises(ValueError, match="retry delays"):
        Backoff(delays, Clock())
