"""Keep me visible where users meet it: engine commands and status line, tray menu and actions,
notification on pick, control command, ``run --keep-me`` and ``[protect] keep_me``."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from fake_engine_parts import MarkingPipeline, Rig

from faceblur_cam.cli import build_parser
from faceblur_cam.commands.run import config_from_args
from faceblur_cam.config import ConfigError, load_config
from faceblur_cam.engine import EngineState, EngineStatus, MePicked
from faceblur_cam.frames import CapturedFrame, PublishedFrame
from faceblur_cam.keep_me import KeepDecision, KeepState, Why
from faceblur_cam.remote import WORDS
from faceblur_cam.single_instance import Answer
from faceblur_cam.tray.actions import TrayActions
from faceblur_cam.tray.menu import KEEP_ME_TEXT, PICK_ME_TEXT, Action, TrayFlags, build_menu, notification


def status(keep: KeepState, faces: int = 2, state: EngineState = EngineState.PROTECTING) -> EngineStatus:
    return EngineStatus(state=state, style="blur", faces=faces, keep_me=keep)


@pytest.mark.parametrize(("keep", "faces", "line"), [
    (KeepState.VISIBLE, 2, "Protecting: you visible, 2 others covered"),
    (KeepState.VISIBLE, 1, "Protecting: you visible, 1 other covered"),
    (KeepState.COVERED, 3, "Protecting: you covered for now (not sure it is you), 3 faces covered"),
    (KeepState.LOST, 3, "You are covered: FaceBlur Cam lost track of you"),
    (KeepState.WAITING, 0, "Protecting: 0 faces, waiting to see you"),
    (KeepState.OFF, 2, "Protecting: 2 faces"),
])
def test_status_line_says_whether_you_are_visible(keep: KeepState, faces: int, line: str) -> None:
    assert status(keep, faces).summary == line


def test_menu_has_keep_me_check_item_and_thats_me_only_while_on() -> None:
    flags = TrayFlags()
    off = build_menu(status(KeepState.OFF), flags)
    item = next(i for i in off if i.text == KEEP_ME_TEXT)
    assert item.action is Action.KEEP_ME and item.checked is False and item.arg is True
    assert PICK_ME_TEXT not in [i.text for i in off]
    on = build_menu(status(KeepState.VISIBLE), flags)
    item = next(i for i in on if i.text == KEEP_ME_TEXT)
    assert item.checked is True and item.arg is False
    pick = next(i for i in on if i.text == PICK_ME_TEXT)
    assert pick.action is Action.PICK_ME and pick.enabled
    paused = build_menu(status(KeepState.LOST, state=EngineState.PAUSED), flags)
    assert not next(i for i in paused if i.text == PICK_ME_TEXT).enabled


class KeepingPipeline(MarkingPipeline):
    """The marking pipeline plus keep-me commands: the frame after a pick reports a pick."""

    def __init__(self, log: list[str]):
        super().__init__(log)
        self.on = False
        self.pick_next = False
        self.covered: Why | None = None  # set by a test: "me" covered on the next frames, for this reason
        self.face_only = False  # set by a test: only "me"'s face shown (a face beside it may be hidden)

    def set_keep_me(self, on: bool) -> None:
        self.log.append(f"keep:{on}")
        self.on = on
        self.pick_next = on

    def pick_me(self) -> None:
        self.log.append("pick")
        self.on = self.pick_next = True

    def process(self, frame: CapturedFrame) -> PublishedFrame:
        from dataclasses import replace

        out = super().process(frame)
        if not self.on:
            return out
        covered = self.covered
        if self.face_only:
            decision = KeepDecision(KeepState.VISIBLE, 1, False, 2, Why.HIDDEN)
        elif covered is None:
            decision = KeepDecision(KeepState.VISIBLE, 1, self.pick_next, 0)
        else:
            decision = KeepDecision(KeepState.COVERED, None, False, 2, covered)
        self.pick_next = False
        return replace(out, keep=decision)


def test_engine_applies_keep_me_commands_reports_the_pick_and_the_tray_notifies() -> None:
    with Rig(pipeline=KeepingPipeline) as rig:
        rig.wait_state(EngineState.PROTECTING)
        rig.engine.set_keep_me(True)
        picked = rig.wait_for(lambda s: isinstance(s.event, MePicked))
        assert picked.keep_me is KeepState.VISIBLE
        assert picked.summary == "Protecting: you visible, 0 others covered"
        before = next(s for s in rig.statuses if s.state is EngineState.PROTECTING)
        message = notification(before, picked)
        assert message is not None and "That's me" in message
        rig.engine.pick_me()
        rig.wait_for(lambda s: "pick" in rig.log)
        rig.engine.set_keep_me(False)
        off = rig.wait_for(lambda s: s.keep_me is KeepState.OFF)
        assert off.summary.startswith("Protecting:") and "you" not in off.summary
    assert rig.log.index("keep:True") < rig.log.index("pick") < rig.log.index("keep:False")


def test_the_status_line_says_why_the_caller_is_covered_and_forgets_it_when_off() -> None:
    pipelines: list[KeepingPipeline] = []

    def make(log: list[str]) -> KeepingPipeline:
        pipelines.append(KeepingPipeline(log))
        return pipelines[-1]

    with Rig(pipeline=make) as rig:
        rig.wait_state(EngineState.PROTECTING)
        rig.engine.set_keep_me(True)
        rig.wait_for(lambda s: s.keep_me is KeepState.VISIBLE)
        pipelines[-1].covered = Why.NEAR  # someone leans in beside the caller
        near = rig.wait_for(lambda s: s.keep_me is KeepState.COVERED)
        assert near.summary == ("Protecting: you covered for now (someone close enough to be mistaken for you), "
                                f"{near.faces} faces covered")
        pipelines[-1].covered = Why.UNSEEN  # a hand in front of the caller's face
        unseen = rig.wait_for(lambda s: s.keep_why is Why.UNSEEN)
        assert "(not found on this frame)" in unseen.summary
        pipelines[-1].covered, pipelines[-1].face_only = None, True  # someone may be behind the caller
        face = rig.wait_for(lambda s: s.keep_me is KeepState.VISIBLE and s.keep_why is Why.HIDDEN)
        assert face.summary.startswith("Protecting: your face visible (a face beside you may be hidden), ")
        pipelines[-1].face_only = False
        whole = rig.wait_for(lambda s: s.keep_me is KeepState.VISIBLE and s.keep_why is Why.NONE)
        assert whole.summary.startswith("Protecting: you visible, ")
        rig.engine.set_keep_me(False)
        off = rig.wait_for(lambda s: s.keep_me is KeepState.OFF)
        assert off.keep_why is Why.NONE and "you" not in off.summary


class Recorder:
    def __init__(self) -> None:
        self.calls: list[tuple[str, object]] = []

    def set_keep_me(self, on: bool) -> None:
        self.calls.append(("keep", on))

    def pick_me(self) -> None:
        self.calls.append(("pick", None))


def test_tray_actions_send_the_keep_me_commands(tmp_path: Path) -> None:
    engine = Recorder()
    actions = TrayActions(engine, autostart=None, folder=tmp_path, open_folder=lambda _p: None,  # type: ignore[arg-type]
                          notify=lambda _m: None, on_quit=lambda: None)
    menu = build_menu(status(KeepState.OFF), TrayFlags())
    actions.perform(next(i for i in menu if i.action is Action.KEEP_ME))
    menu = build_menu(status(KeepState.VISIBLE), TrayFlags())
    actions.perform(next(i for i in menu if i.action is Action.PICK_ME))
    actions.perform(next(i for i in menu if i.action is Action.KEEP_ME))
    assert engine.calls == [("keep", True), ("pick", None), ("keep", False)]


def test_control_command_keep_me_maps_to_channel_commands(monkeypatch: pytest.MonkeyPatch) -> None:
    sent: list[str] = []
    monkeypatch.setattr("faceblur_cam.single_instance.request_running_instance",
                        lambda c, timeout: sent.append(c) or Answer.OK)
    parser = build_parser()
    for word in ("on", "off", "pick"):
        args = parser.parse_args(["keep-me", word])
        assert args.func(args) == 0
    assert sent == ["keep-me-on", "keep-me-off", "keep-me-pick"]
    assert set(sent) <= WORDS
    with pytest.raises(SystemExit):
        parser.parse_args(["keep-me", "maybe"])


def test_run_keep_me_flag_and_config_key(tmp_path: Path) -> None:
    parser = build_parser()
    args = parser.parse_args(["run", "--keep-me", "--config", str(tmp_path / "none.toml")])
    (tmp_path / "none.toml").write_text("")
    assert config_from_args(args).protect.keep_me is True
    args = parser.parse_args(["run", "--config", str(tmp_path / "none.toml")])
    assert config_from_args(args).protect.keep_me is False
    on = tmp_path / "on.toml"
    on.write_text("[protect]\nkeep_me = true\n")
    assert load_config(on).protect.keep_me is True
    bad = tmp_path / "bad.toml"
    bad.write_text('[protect]\nkeep_me = "yes"\n')
    with pytest.raises(ConfigError, match="protect.keep_me: must be true or false"):
        load_config(bad)


def test_process_keep_me_is_only_on_when_asked(tmp_path: Path) -> None:
    """A config that keeps the caller visible live never keeps anyone in a processed file."""
    from faceblur_cam.app import build_pipeline
    from faceblur_cam.config import Config, ProtectConfig

    config = Config(protect=ProtectConfig(keep_me=True))
    assert not build_pipeline(config, live=False).keep_me.on
    assert build_pipeline(config, live=False, keep_me=True).keep_me.policy == "largest"
    live = build_pipeline(config, live=True)
    try:
        assert live.keep_me.on and live.keep_me.policy == "centre"
    finally:
        live.close()



def test_preview_outline_is_drawn_on_a_copy_never_on_the_published_frame() -> None:
    import numpy as np

    from faceblur_cam.detections import Detections
    from faceblur_cam.frames import FrameKind
    from faceblur_cam.sinks.kept_outline import preview_picture

    image = np.full((120, 160, 3), 90, np.uint8)
    plain = PublishedFrame(image=image, t=0.0, kind=FrameKind.REDACTED)
    assert preview_picture(plain) is image  # nothing kept: the frame as it is
    kept = PublishedFrame(image=image, t=0.0, kind=FrameKind.REDACTED,
                          kept=Detections(np.array([[40, 20, 100, 100]], np.float32), np.ones(1)))
    shown = preview_picture(kept)
    assert (image == 90).all(), "the published picture was drawn on"
    changed = np.any(shown != image, axis=2)
    ys, xs = np.nonzero(changed)
    assert changed.any() and xs.min() >= 38 and xs.max() <= 102 and ys.min() >= 18 and ys.max() <= 102
    assert not changed[55:65, 65:75].any()  # an outline, the face inside left as it is


def test_the_real_tray_adapter_ticks_keep_me_notifies_the_pick_and_offers_thats_me(tmp_path: Path) -> None:
    import pystray
    import test_tray_adapter as ta

    notes: list[str] = []
    with Rig(pipeline=KeepingPipeline, threaded=True) as rig:
        actions = TrayActions(rig.engine, autostart=None, folder=tmp_path, open_folder=lambda _p: None,
                              notify=notes.append, on_quit=lambda: None)
        from faceblur_cam.tray.adapter import TrayIcon

        icon = TrayIcon(ta.BACKEND, rig.engine.status(), actions)
        rig.engine.subscribe(icon.on_status)
        thread = threading.Thread(target=icon.run, daemon=True)
        thread.start()
        recorder = icon._icon

        def items() -> list:  # type: ignore[type-arg]
            return [i for i in recorder.menu.items if i is not pystray.Menu.SEPARATOR]

        rig.wait_state(EngineState.PROTECTING)
        ta_wait = ta.Tray.wait_until
        ta_wait(None, lambda: KEEP_ME_TEXT in [i.text for i in items()], "no Keep me visible item")  # type: ignore[arg-type]
        keep = next(i for i in items() if i.text == KEEP_ME_TEXT)
        assert not keep.checked
        keep(recorder)
        rig.wait_for(lambda s: isinstance(s.event, MePicked))
        ta_wait(None, lambda: PICK_ME_TEXT in [i.text for i in items()], "no That's me item")  # type: ignore[arg-type]
        assert next(i for i in items() if i.text == KEEP_ME_TEXT).checked
        ta_wait(None, lambda: any("Keep me visible" in n for n in recorder.notifications),  # type: ignore[arg-type]
                f"no notification of the pick: {recorder.notifications}")
        from faceblur_cam.tray.adapter import STATUS_TEXT_REFRESH_S

        ta_wait(None, lambda: any(i.text.startswith("Protecting: you visible") for i in items()),  # type: ignore[arg-type]
                "status line", timeout=STATUS_TEXT_REFRESH_S + 60)
        next(i for i in items() if i.text == PICK_ME_TEXT)(recorder)
        rig.wait_for(lambda s: "pick" in rig.log)
        icon.stop()
        thread.join(5)
