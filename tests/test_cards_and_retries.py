"""What the call sees and the log says while the camera is gone (issue 24): the "No camera" card
names no path (it is published into the call and recorded), and the camera warning is said once
per outage, not at every retry."""

from __future__ import annotations

import logging

import numpy as np
from fake_engine_parts import WH, PatternSource, Rig

from faceblur_cam.engine import EngineState
from faceblur_cam.frames import FrameKind
from faceblur_cam.placeholders import ACCENTS, TITLES, render_card
from faceblur_cam.sources import SourceError

SECRET = "/home/alice/Videos/witness-interview.mp4"


def never_opens(log: list[str]) -> PatternSource:
    raise SourceError(f"camera {SECRET!r} cannot be opened (unplugged, or used by another app?)")


def test_no_camera_card_shows_no_path() -> None:
    with Rig(source_factory=never_opens, retry_delays=(0.1, 0.2)) as rig:
        rig.wait_state(EngineState.NO_CAMERA)
        rig.wait_frames(3)
        assert SECRET in rig.engine.status().message  # the tray (local) still says why
    cards = [f.image for f in rig.sink.snapshot() if f.kind is FrameKind.PLACEHOLDER]
    state = EngineState.NO_CAMERA
    with_path = render_card(WH, TITLES[state], rig.engine.status().message or SECRET, ACCENTS[state])
    plain = render_card(WH, TITLES[state], "Camera disconnected, retrying", ACCENTS[state])
    assert not np.array_equal(with_path, plain)  # the path would show
    assert any(np.array_equal(c, plain) for c in cards)
    assert not any(np.array_equal(c, with_path) for c in cards)
    for card in cards:
        assert any(np.array_equal(card, allowed) for allowed in
                   (plain, render_card(WH, TITLES[EngineState.STARTING], "", (200, 170, 90))))


def test_camera_warning_is_said_once_per_outage(caplog) -> None:
    caplog.set_level(logging.DEBUG, "faceblur_cam.engine")
    with Rig(source_factory=never_opens, retry_delays=(0.1, 0.2)) as rig:
        rig.wait_state(EngineState.NO_CAMERA)
        start = rig.clock()
        rig.wait_for(lambda s: rig.clock() - start >= 3.0, timeout=10)  # ~15 retries, 0.2 s apart
    tries = [r for r in caplog.records if "cannot open camera" in r.getMessage()]
    assert len(tries) >= 5
    assert [r.levelno for r in tries].count(logging.WARNING) == 1
