"""The remote commands are declared once (``faceblur_cam.remote``): the CLI offers exactly those,
the channel answers exactly those, and each reaches the engine as its typed command."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from fake_engine_parts import Rig

from faceblur_cam.cli import build_parser
from faceblur_cam.engine import EngineState, Pause, PickMe, Resume, SetKeepMe, SetPreview
from faceblur_cam.remote import WORDS, RemoteCommand
from faceblur_cam.single_instance import Answer, claim, request_running_instance


def test_each_word_has_its_engine_command_and_help() -> None:
    assert {c.value: c.command for c in RemoteCommand} == {
        "pause": Pause(), "resume": Resume(), "show": SetPreview(True),
        "keep-me-on": SetKeepMe(True), "keep-me-off": SetKeepMe(False), "keep-me-pick": PickMe(),
    }
    assert WORDS == {c.value for c in RemoteCommand} and all(c.help for c in RemoteCommand)


@pytest.mark.parametrize("command", list(RemoteCommand))
def test_the_cli_sends_each_word(command: RemoteCommand, monkeypatch: pytest.MonkeyPatch) -> None:
    sent: list[str] = []
    monkeypatch.setattr("faceblur_cam.single_instance.request_running_instance",
                        lambda word, timeout: sent.append(word) or Answer.OK)
    argv = [w for w in command.cli_words if w is not None]
    args = build_parser().parse_args(argv)
    assert args.func(args) == 0 and sent == [command.value]


def test_the_cli_help_is_unchanged() -> None:
    parser = build_parser()
    sub = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
    helps = {c.dest: c.help for c in sub._choices_actions}  # type: ignore[attr-defined]
    assert helps["pause"] == "pause the running FaceBlur Cam (camera released, the call sees a Paused card)"
    assert helps["show"] == "show the running FaceBlur Cam's preview window"
    assert helps["keep-me"] == ("keep me visible in the running FaceBlur Cam: on (picks the largest face nearest "
                                "the centre), off (every face covered), pick (that's me: pick again)")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Unix sockets")
def test_words_over_the_channel_reach_the_engine_as_commands(tmp_path: Path) -> None:
    folder = tmp_path / "rt"
    folder.mkdir(mode=0o700)
    instance = claim(folder)
    assert instance is not None
    with Rig(threaded=True) as rig:
        instance.serve(lambda word: rig.engine.send(RemoteCommand(word).command))
        try:
            rig.wait_state(EngineState.PROTECTING, timeout=60)
            assert request_running_instance("pause", folder, timeout=30) is Answer.OK
            rig.wait_state(EngineState.PAUSED, timeout=60)
            assert request_running_instance("show", folder, timeout=30) is Answer.OK
            rig.wait_for(lambda s: s.preview, timeout=60)
            assert request_running_instance("unpause", folder, timeout=30) is Answer.UNKNOWN
            assert request_running_instance("resume", folder, timeout=30) is Answer.OK
            rig.wait_state(EngineState.PROTECTING, timeout=60)
        finally:
            instance.release()
