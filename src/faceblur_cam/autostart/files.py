"""A tiny filesystem adapter, so entry writers can be tested without touching real folders.

``LocalFiles`` is the real one; ``MemoryFiles`` is a fake of the same shape for tests.
Paths are absolute ``pathlib.Path`` objects; errors are ``OSError`` (callers turn them into
actionable messages).
"""

from __future__ import annotations

import logging
import os
import tempfile
from pathlib import Path
from typing import Protocol

log = logging.getLogger(__name__)


class FileStore(Protocol):
    def read_bytes(self, path: Path) -> bytes | None:
        """The file's content, or None when it does not exist."""
        ...

    def write_bytes(self, path: Path, data: bytes) -> None:
        """Replace ``path`` atomically with ``data``, creating parent folders."""
        ...

    def remove(self, path: Path) -> None:
        """Delete ``path``; a missing file is not an error."""
        ...


class LocalFiles:
    """The real filesystem. Writes go to a temp file in the same folder, then ``os.replace``."""

    def read_bytes(self, path: Path) -> bytes | None:
        try:
            return path.read_bytes()
        except FileNotFoundError:
            return None

    def write_bytes(self, path: Path, data: bytes) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            os.chmod(tmp, 0o644)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        log.debug("wrote %s (%d bytes)", path, len(data))

    def remove(self, path: Path) -> None:
        path.unlink(missing_ok=True)
        log.debug("removed %s", path)


class MemoryFiles:
    """In-memory fake: ``files`` maps paths to contents."""

    def __init__(self) -> None:
        self.files: dict[Path, bytes] = {}

    def read_bytes(self, path: Path) -> bytes | None:
        return self.files.get(path)

    def write_bytes(self, path: Path, data: bytes) -> None:
        self.files[path] = bytes(data)

    def remove(self, path: Path) -> None:
        self.files.pop(path, None)
