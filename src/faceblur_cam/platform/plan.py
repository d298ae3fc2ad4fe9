"""What ``faceblur-cam setup`` shows and, with ``--apply``, runs: a list of steps.

A plan is plain data built by the platform module from what it observed; showing and
running it is the command's job. ``shell_line`` renders a step the way a person would type
it (``card_label="FaceBlur Cam"``), and is what the user copies.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field

_KEY_VALUE = re.compile(r"^([A-Za-z_][\w.-]*)=(.*)$", re.S)


@dataclass(frozen=True)
class Step:
    """One command. ``stdin`` is fed to it (used with ``tee FILE`` to write a file)."""

    why: str
    argv: tuple[str, ...]
    stdin: str | None = None
    root: bool = True  # needs administrator rights


@dataclass
class SetupPlan:
    """``steps`` make the virtual camera exist now and after a reboot. ``warnings`` must be
    shown before running them; ``notes`` are for the user (e.g. instructions on Windows,
    where nothing can be run for them). ``ready`` = the device already exists now."""

    steps: list[Step] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    ready: bool = False


def quote_arg(arg: str) -> str:
    """Shell-quote ``arg`` the way people write it: ``"two words"``, ``key="two words"``."""
    if shlex.quote(arg) == arg or re.search(r'["$`\\!\n]', arg):
        return shlex.quote(arg)
    match = _KEY_VALUE.match(arg)
    if match:
        return f'{match.group(1)}="{match.group(2)}"'
    return f'"{arg}"'


def shell_line(step: Step, sudo: str = "sudo") -> str:
    """``step`` as one line a user can paste into a shell."""
    prefix = f"{sudo} " if step.root and sudo else ""
    command = prefix + " ".join(quote_arg(a) for a in step.argv)
    if step.stdin is None:
        return command
    text = step.stdin
    if text.endswith("\n") and "\n" not in text[:-1]:
        return f"echo {quote_arg(text[:-1])} | {command} >/dev/null"
    return f"printf '%s' {shlex.quote(text)} | {command} >/dev/null"
