"""Windows: a value in ``HKCU\\Software\\Microsoft\\Windows\\CurrentVersion\\Run``.

The command uses ``pythonw.exe`` next to ``sys.executable`` when there is one, so no console
window opens at login. Task Manager's Startup tab (and Settings > Apps > Startup) switch an entry
off without deleting it, by writing a binary value under ``...\\Explorer\\StartupApproved\\Run``
whose first byte is odd (0x03); status reports that as DISABLED, and ``enable`` deletes that
value so the entry is on again. Everything lives under HKEY_CURRENT_USER: no admin rights.
"""

from __future__ import annotations

import logging
import os
import subprocess

from faceblur_cam import APP_NAME
from faceblur_cam.autostart.model import (
    AutostartError,
    AutostartState,
    AutostartStatus,
    judge,
    launch_command,
)
from faceblur_cam.autostart.registry import Registry, WinRegistry

log = logging.getLogger(__name__)

RUN_KEY = r"Software\Microsoft\Windows\CurrentVersion\Run"
APPROVED_KEY = r"Software\Microsoft\Windows\CurrentVersion\Explorer\StartupApproved\Run"
VALUE_NAME = APP_NAME
TASK_MANAGER_OFF = (
    "it was switched off in Task Manager's Startup tab (or Settings > Apps > Startup)"
)


def windowless_command(executable: str | None = None) -> list[str]:
    """The login command, with ``pythonw.exe`` beside the interpreter when it exists."""
    argv = launch_command(executable)
    pythonw = os.path.join(os.path.dirname(argv[0]), "pythonw.exe")
    if os.path.isfile(pythonw):
        argv[0] = pythonw
    return argv


def split_command_line(line: str) -> list[str]:
    """Split a Windows command line the way the C runtime does; inverse of ``list2cmdline``.

    2n backslashes before a quote give n backslashes and the quote toggles quoting; 2n+1 give n
    backslashes and a literal quote; other backslashes are literal.
    """
    args: list[str] = []
    current: list[str] = []
    in_arg = in_quotes = False
    slashes = 0
    for ch in line:
        if ch == "\\":
            slashes += 1
            in_arg = True
            continue
        if ch == '"':
            current.append("\\" * (slashes // 2))
            if slashes % 2:
                current.append('"')
            else:
                in_quotes = not in_quotes
            slashes, in_arg = 0, True
            continue
        current.append("\\" * slashes)
        slashes = 0
        if ch in " \t" and not in_quotes:
            if in_arg:
                args.append("".join(current))
            current, in_arg = [], False
        else:
            current.append(ch)
            in_arg = True
    current.append("\\" * slashes)
    if in_arg:
        args.append("".join(current))
    return args


def switched_off(approval: object) -> bool:
    """True when a StartupApproved value says "disabled": binary, first byte odd (0x03)."""
    return isinstance(approval, bytes) and len(approval) > 0 and approval[0] % 2 == 1


class RunKeyAutostart:
    """The current user's Run-key entry. ``registry`` defaults to the real one (Windows only)."""

    def __init__(self, registry: Registry | None = None, executable: str | None = None) -> None:
        self._registry = registry if registry is not None else WinRegistry()
        self._executable = executable

    @property
    def location(self) -> str:
        return f'HKEY_CURRENT_USER\\{RUN_KEY} (value "{VALUE_NAME}")'

    def command(self) -> list[str]:
        """The argv that ``enable`` stores."""
        return windowless_command(self._executable)

    def status(self) -> AutostartStatus:
        try:
            value = self._registry.get(RUN_KEY, VALUE_NAME)
            approval = self._registry.get(APPROVED_KEY, VALUE_NAME)
        except OSError as exc:
            reason = f"the registry entry cannot be read ({exc.strerror or exc})"
            return AutostartStatus(AutostartState.STALE, self.location, (), reason)
        if value is None:
            return AutostartStatus(AutostartState.DISABLED, self.location)
        if not isinstance(value, str):
            reason = f"the registry value is not text but {type(value).__name__}"
            return AutostartStatus(AutostartState.STALE, self.location, (), reason)
        stored = split_command_line(value)
        if switched_off(approval):
            return AutostartStatus(
                AutostartState.DISABLED, self.location, tuple(stored), TASK_MANAGER_OFF
            )
        return judge(self.location, stored, self.command())

    def enable(self) -> AutostartStatus:
        line = subprocess.list2cmdline(self.command())
        try:
            self._registry.set_string(RUN_KEY, VALUE_NAME, line)
            self._registry.delete(APPROVED_KEY, VALUE_NAME)  # undo a Task Manager "Disable"
        except OSError as exc:
            raise AutostartError(
                f"cannot write the registry value {self.location}: {exc.strerror or exc}"
            ) from exc
        log.info("autostart enabled: %s = %s", self.location, line)
        return self.status()

    def disable(self) -> AutostartStatus:
        try:
            self._registry.delete(RUN_KEY, VALUE_NAME)
            self._registry.delete(APPROVED_KEY, VALUE_NAME)
        except OSError as exc:
            raise AutostartError(
                f"cannot delete the registry value {self.location}: {exc.strerror or exc}. "
                "Turn FaceBlur Cam off in Task Manager's Startup tab instead."
            ) from exc
        log.info("autostart disabled: deleted %s", self.location)
        return self.status()
