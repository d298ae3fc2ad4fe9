"""What every platform's autostart shares: the status value, the contract, the stored command.

The stored command is ``[sys.executable, "-m", "faceblur_cam", "run", "--at-login"]`` with
``sys.executable`` taken as is: absolute but *unresolved*, because a virtualenv's ``python`` is a
symlink to a base interpreter that does not have the package installed.
"""

from __future__ import annotations

import enum
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from faceblur_cam.errors import UserError

AT_LOGIN_ARGS = ("-m", "faceblur_cam", "run", "--at-login")


class AutostartError(UserError):
    """Autostart could not be changed; the message names the place and what to do."""


class AutostartState(enum.Enum):
    ENABLED = "enabled"
    DISABLED = "disabled"
    STALE = "stale"  # an entry exists but would not start this installation


@dataclass(frozen=True)
class AutostartStatus:
    """The truth about the login entry.

    ``state`` is ENABLED only when an entry exists, is not switched off by the desktop, and its
    command is exactly the one this installation would write with a present interpreter.
    ``command`` is the stored command (empty when there is no readable entry), ``reason`` says
    in one sentence why the state is DISABLED-with-an-entry or STALE (empty otherwise), and
    ``location`` is where the entry lives (a file path or a registry value).
    """

    state: AutostartState
    location: str
    command: tuple[str, ...] = ()
    reason: str = ""

    @property
    def enabled(self) -> bool:
        """True when the app will start at the next login: what a "Start at login" box shows."""
        return self.state is AutostartState.ENABLED


class Autostart(Protocol):
    """One platform's login entry. Calls do small blocking I/O; use from any one thread.

    ``enable`` writes (or repairs) the entry and ``disable`` removes it; both are idempotent,
    return the status read back afterwards, touch only the current user's own files or registry
    keys, and raise :class:`AutostartError` with an actionable message when they cannot.
    ``status`` reports unreadable entries as STALE; it raises AutostartError only when this
    Python's own path is unknown (``sys.executable`` empty), as ``enable`` would.
    """

    @property
    def location(self) -> str: ...

    def status(self) -> AutostartStatus: ...

    def enable(self) -> AutostartStatus: ...

    def disable(self) -> AutostartStatus: ...


def launch_command(executable: str | None = None) -> list[str]:
    """The argv that starts this installation quietly at login.

    Raises AutostartError when the interpreter path is unknown (some embedded Pythons).
    """
    exe = sys.executable if executable is None else executable
    if not exe or not os.path.isabs(exe):
        raise AutostartError(
            "cannot tell which Python runs FaceBlur Cam (sys.executable is "
            f"{exe!r}); start 'faceblur-cam' from a normal Python installation and try again"
        )
    return [exe, *AT_LOGIN_ARGS]


def judge(location: str, stored: Sequence[str], expected: Sequence[str]) -> AutostartStatus:
    """Status of an existing, switched-on entry whose stored command is ``stored``.

    STALE when the stored interpreter is missing or the command differs from ``expected``;
    the interpreter counts as the same when :func:`same_interpreter` says so.
    """
    command = tuple(stored)
    if not command:
        return AutostartStatus(AutostartState.STALE, location, command, "the entry has no command")
    if not os.path.isfile(command[0]):
        reason = f"the Python it starts, {command[0]}, no longer exists"
        return AutostartStatus(AutostartState.STALE, location, command, reason)
    if command[1:] != tuple(expected[1:]) or not same_interpreter(command[0], expected[0]):
        reason = f"it starts {format_argv(command)} instead of {format_argv(expected)}"
        return AutostartStatus(AutostartState.STALE, location, command, reason)
    return AutostartStatus(AutostartState.ENABLED, location, command)


def same_interpreter(stored: str, current: str) -> bool:
    """True when both paths run the same Python environment: equal, or two names in one folder
    for one file (a venv's ``python`` and ``python3``; the console script uses the latter).

    The folder must match as written: two venvs' ``python`` links resolve to the same base
    interpreter but are different installations.
    """
    if stored == current:
        return True
    same_folder = os.path.dirname(stored) == os.path.dirname(current)
    return same_folder and os.path.realpath(stored) == os.path.realpath(current)


def format_argv(argv: Sequence[str]) -> str:
    """A readable one-line rendering of ``argv`` for messages (quotes args with spaces)."""
    return " ".join(f'"{a}"' if (" " in a or not a) else a for a in argv)
