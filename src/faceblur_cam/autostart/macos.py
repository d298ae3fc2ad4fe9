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
from xml.parsers.expat import ExpatError

from faceblur_cam.autostart.file_entry import FileEntry
from faceblur_cam.autostart.files import FileStore

log = logging.getLogger(__name__)

LABEL = "io.faceblurcam.agent"


class LaunchAgentAutostart(FileEntry):
    """The LaunchAgent of one user; ``home`` is their home folder, the rest as
    :class:`FileEntry`."""

    def __init__(
        self,
        home: Path | None = None,
        executable: str | None = None,
        files: FileStore | None = None,
    ) -> None:
        path = (home or Path.home()) / "Library" / "LaunchAgents" / f"{LABEL}.plist"
        super().__init__(path, executable, files)

    def render(self, argv: list[str]) -> bytes:
        agent = {
            "Label": LABEL,
            "ProgramArguments": argv,
            "RunAtLoad": True,
            "LimitLoadToSessionType": "Aqua",
            "ProcessType": "Interactive",
        }
        return plistlib.dumps(agent, fmt=plistlib.FMT_XML)

    def read(self, data: bytes) -> tuple[list[str], str]:
        try:
            agent = plistlib.loads(data)
        except ExpatError as exc:  # plistlib's own errors are ValueErrors already
            raise ValueError(str(exc)) from exc
        args = agent.get("ProgramArguments") if isinstance(agent, dict) else None
        if not isinstance(args, list) or not all(isinstance(a, str) for a in args):
            raise ValueError("no usable ProgramArguments")
        off = agent.get("Disabled") is True or agent.get("RunAtLoad") is not True
        return args, "the agent is set not to run at login" if off else ""
