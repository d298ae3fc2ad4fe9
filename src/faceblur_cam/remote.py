"""The commands a running FaceBlur Cam takes from outside, declared once.

``faceblur-cam pause`` (a keyboard shortcut), a second launch (``show``), ``faceblur-cam keep-me
on``: each sends one word over the single-instance channel (``faceblur_cam.single_instance``),
which answers only the words declared here; the running app turns the word into the typed engine
command (``lifecycle.Command``) declared beside it. The CLI (``commands.control``) builds its
subcommands and help from the same list.
"""

from __future__ import annotations

import enum

from faceblur_cam.lifecycle import Command, Pause, PickMe, Resume, SetKeepMe, SetPreview


class RemoteCommand(enum.Enum):
    """One word on the channel; ``command`` is what the engine is sent, ``help`` what the CLI says."""

    PAUSE = "pause"
    RESUME = "resume"
    SHOW = "show"
    KEEP_ME_ON = "keep-me-on"
    KEEP_ME_OFF = "keep-me-off"
    KEEP_ME_PICK = "keep-me-pick"

    @property
    def command(self) -> Command:
        return _ENGINE_COMMANDS[self]

    @property
    def help(self) -> str:
        return _HELP[self]

    @property
    def cli_words(self) -> tuple[str, str | None]:
        """How the CLI spells it: ``("pause", None)``: ``faceblur-cam pause``; ``("keep-me", "on")``:
        ``faceblur-cam keep-me on`` (one subcommand per group in ``GROUPS``)."""
        group = next((g for g in GROUPS if self.value.startswith(g + "-")), None)
        return (self.value, None) if group is None else (group, self.value.removeprefix(group + "-"))


R = RemoteCommand
_ENGINE_COMMANDS: dict[RemoteCommand, Command] = {
    R.SHOW: SetPreview(True), R.PAUSE: Pause(), R.RESUME: Resume(),
    R.KEEP_ME_ON: SetKeepMe(True), R.KEEP_ME_OFF: SetKeepMe(False), R.KEEP_ME_PICK: PickMe(),
}
_HELP: dict[RemoteCommand, str] = {
    R.SHOW: "show the running FaceBlur Cam's preview window",
    R.PAUSE: "pause the running FaceBlur Cam (camera released, the call sees a Paused card)",
    R.RESUME: "resume protecting in the running FaceBlur Cam",
    R.KEEP_ME_ON: "picks the largest face nearest the centre",
    R.KEEP_ME_OFF: "every face covered",
    R.KEEP_ME_PICK: "that's me: pick again",
}
GROUPS = {"keep-me": "keep me visible in the running FaceBlur Cam"}  # subcommand -> what it is about
WORDS = frozenset(c.value for c in RemoteCommand)  # what the channel answers "ok" to
