"""macOS: a LaunchAgent ``~/Library/LaunchAgents/io.faceblurcam.agent.plist``.

launchd reads the user's LaunchAgents at login; ``RunAtLoad`` starts the agent then, in the GUI
(Aqua) session only. Nothing is loaded into launchd now: the entry takes effect at the next
login. The camera permission is granted by macOS to the Python in ``ProgramArguments`` (not to
Terminal), so the first login start may ask for it.
"""

from __future__ import annotations

import logging
import plistlib
from pathlib import Path
from typing import Any
from xml.parsers.expat import ExpatError

from faceblur_cam.autostart.files import FileStore, LocalFiles
from faceblur_cam.autostart.model import (
    AutostartError,
    AutostartState,
    AutostartStatus,
    judge,
    launch_command,
)

log = logging.getLogger(__name__)

LABEL = "io.faceblurcam.agent"


class LaunchAgentAutostart:
    """The LaunchAgent of one user; ``home`` is their home folder, ``files`` the filesystem."""

    def __init__(
        self,
        home: Path | None = None,
        executable: str | None = None,
        files: FileStore | None = None,
    ) -> None:
        self.plist_path = (home or Path.home()) / "Library" / "LaunchAgents" / f"{LABEL}.plist"
        self._executable = executable
        self._files = files or LocalFiles()

    @property
    def location(self) -> str:
        return str(self.plist_path)

    def agent(self) -> dict[str, Any]:
        """The property list that ``enable`` writes."""
        return {
            "Label": LABEL,
            "ProgramArguments": launch_command(self._executable),
            "RunAtLoad": True,
            "LimitLoadToSessionType": "Aqua",
            "ProcessType": "Interactive",
        }

    def status(self) -> AutostartStatus:
        try:
            data = self._files.read_bytes(self.plist_path)
        except OSError as exc:
            reason = f"the agent file cannot be read ({exc.strerror or exc})"
            return AutostartStatus(AutostartState.STALE, self.location, (), reason)
        if data is None:
            return AutostartStatus(AutostartState.DISABLED, self.location)
        try:
            agent = plistlib.loads(data)
        except (ValueError, ExpatError) as exc:  # InvalidFileException is a ValueError
            reason = f"the agent file is damaged ({exc})"
            return AutostartStatus(AutostartState.STALE, self.location, (), reason)
        args = agent.get("ProgramArguments") if isinstance(agent, dict) else None
        if not isinstance(args, list) or not all(isinstance(a, str) for a in args):
            reason = "the agent file has no usable ProgramArguments"
            return AutostartStatus(AutostartState.STALE, self.location, (), reason)
        if agent.get("Disabled") is True or agent.get("RunAtLoad") is not True:
            reason = "the agent file is set not to run at login"
            return AutostartStatus(AutostartState.STALE, self.location, tuple(args), reason)
        return judge(self.location, args, launch_command(self._executable))

    def enable(self) -> AutostartStatus:
        data = plistlib.dumps(self.agent(), fmt=plistlib.FMT_XML)
        try:
            self._files.write_bytes(self.plist_path, data)
        except OSError as exc:
            raise AutostartError(
                f"cannot write {self.plist_path}: {exc.strerror or exc}. "
                "Check that ~/Library/LaunchAgents is yours and writable, then try again."
            ) from exc
        log.info("autostart enabled: %s", self.plist_path)
        return self.status()

    def disable(self) -> AutostartStatus:
        try:
            self._files.remove(self.plist_path)
        except OSError as exc:
            raise AutostartError(
                f"cannot remove {self.plist_path}: {exc.strerror or exc}. "
                "Delete that file by hand to stop FaceBlur Cam starting at login."
            ) from exc
        log.info("autostart disabled: removed %s", self.plist_path)
        return self.status()
