"""Start FaceBlur Cam at login: one small API over each desktop's own mechanism.

    from faceblur_cam.autostart import get_autostart
    autostart = get_autostart()
    autostart.status().enabled      # what a "Start at login" checkbox shows
    autostart.enable()              # writes or repairs the entry; harmless when already on
    autostart.disable()             # removes it; harmless when already off

Each call returns an :class:`AutostartStatus` (ENABLED / DISABLED / STALE, the stored command,
a reason and the entry's location) and raises :class:`AutostartError` (a ``UserError``) with an
actionable message when the entry cannot be changed. The stored command is the unresolved
``sys.executable -m faceblur_cam run --at-login``. Platform code lives in ``linux`` (XDG,
also used on other freedesktop systems), ``windows`` (HKCU Run key) and ``macos`` (LaunchAgent);
:func:`get_autostart` is the only place that picks one.
"""

from __future__ import annotations

import sys

from faceblur_cam.autostart.model import (
    Autostart,
    AutostartError,
    AutostartState,
    AutostartStatus,
    launch_command,
)

__all__ = [
    "Autostart",
    "AutostartError",
    "AutostartState",
    "AutostartStatus",
    "get_autostart",
    "launch_command",
]


def get_autostart(platform: str | None = None) -> Autostart:
    """The current user's autostart entry on ``platform`` (default ``sys.platform``).

    Reads the environment (``XDG_CONFIG_HOME``, home folder) now, not at import.
    """
    platform = sys.platform if platform is None else platform
    if platform == "win32":
        from faceblur_cam.autostart.windows import RunKeyAutostart

        return RunKeyAutostart()
    if platform == "darwin":
        from faceblur_cam.autostart.macos import LaunchAgentAutostart

        return LaunchAgentAutostart()
    from faceblur_cam.autostart import linux

    return linux.from_environment()
