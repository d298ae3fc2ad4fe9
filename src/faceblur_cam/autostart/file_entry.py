"""An autostart entry that is one file (Linux ``.desktop``, macOS LaunchAgent plist).

Subclasses say how the file looks (:meth:`FileEntry.render`) and how to read the command back
(:meth:`FileEntry.read`); this class does status, enable and disable the same way for both.
"""

from __future__ import annotations

import abc
import logging
from pathlib import Path

from faceblur_cam.autostart.files import FileStore, LocalFiles
from faceblur_cam.autostart.model import (
    AutostartError,
    AutostartState,
    AutostartStatus,
    judge,
    launch_command,
)

log = logging.getLogger(__name__)


class FileEntry(abc.ABC):
    """The login entry at ``path``; ``executable`` is the Python to store (default
    ``sys.executable``), ``files`` the filesystem (a fake in tests)."""

    def __init__(self, path: Path, executable: str | None, files: FileStore | None) -> None:
        self.path = path
        self._executable = executable
        self._files = files or LocalFiles()

    @property
    def location(self) -> str:
        return str(self.path)

    def command(self) -> list[str]:
        """The argv that ``enable`` stores."""
        return launch_command(self._executable)

    @abc.abstractmethod
    def render(self, argv: list[str]) -> bytes:
        """The file's content for ``argv``. May raise AutostartError (nothing written yet)."""

    @abc.abstractmethod
    def read(self, data: bytes) -> tuple[list[str], str]:
        """``(stored argv, why it is switched off or "")``; ValueError when ``data`` is damaged."""

    def companions(self) -> dict[Path, bytes]:
        """Other files written with the entry and removed with it (e.g. icons)."""
        return {}

    def status(self) -> AutostartStatus:
        try:
            data = self._files.read_bytes(self.path)
            if data is None:
                return AutostartStatus(AutostartState.DISABLED, self.location)
            stored, off_reason = self.read(data)
        except (OSError, ValueError) as exc:  # UnicodeDecodeError is a ValueError
            problem = "cannot be read" if isinstance(exc, OSError) else "is damaged"
            reason = f"the file {problem} ({exc})"
            return AutostartStatus(AutostartState.STALE, self.location, (), reason)
        if off_reason:
            return AutostartStatus(
                AutostartState.DISABLED, self.location, tuple(stored), off_reason
            )
        return judge(self.location, stored, self.command())

    def enable(self) -> AutostartStatus:
        content = self.render(self.command())
        try:
            for path, data in self.companions().items():
                if self._files.read_bytes(path) != data:
                    self._files.write_bytes(path, data)
            self._files.write_bytes(self.path, content)
        except OSError as exc:
            where = exc.filename or self.path
            raise AutostartError(
                f"cannot write {where}: {exc.strerror or exc}. "
                f"Check that {Path(where).parent} is yours and writable, then try again."
            ) from exc
        log.info("autostart enabled: %s", self.path)
        return self.status()

    def disable(self) -> AutostartStatus:
        try:
            for path in [self.path, *self.companions()]:
                self._files.remove(path)
        except OSError as exc:
            raise AutostartError(
                f"cannot remove {exc.filename or self.path}: {exc.strerror or exc}. "
                f"Delete {self.path} by hand to stop FaceBlur Cam starting at login."
            ) from exc
        log.info("autostart disabled: removed %s", self.path)
        return self.status()
