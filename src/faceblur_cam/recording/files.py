"""Recording files on disk: where they go, their names, noticing one deleted, and the tidying of
a fragmented MP4 ffmpeg could not finish (so that every way out leaves a playable file)."""

from __future__ import annotations

import logging
import os
from datetime import datetime
from pathlib import Path

import platformdirs

from faceblur_cam import APP_NAME
from faceblur_cam.sinks import SinkError

log = logging.getLogger(__name__)


def recordings_folder(folder: str = "") -> Path:
    """The configured folder, or ``<the user's Videos folder>/FaceBlur Cam``."""
    if folder:
        return Path(folder).expanduser()
    return Path(platformdirs.user_videos_dir()) / APP_NAME


def new_recording_path(folder: Path, now: datetime | None = None) -> Path:
    """Create ``folder`` and reserve a new ``FaceBlur Cam 2026-11-26 09-15-02.mp4`` in it.

    Raises ``SinkError`` saying why when the folder cannot be created or written.
    """
    stamp = (now or datetime.now()).strftime("%Y-%m-%d %H-%M-%S")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        for n in range(1, 100):
            path = folder / (
                f"{APP_NAME} {stamp}.mp4" if n == 1 else f"{APP_NAME} {stamp} ({n}).mp4"
            )
            try:
                with open(path, "xb"):
                    return path
            except FileExistsError:
                continue
    except OSError as exc:
        raise SinkError(
            f"cannot write recordings to {folder}: {exc.strerror or exc}; "
            "choose another folder in the settings"
        ) from exc
    raise SinkError(f"cannot find a free file name in {folder}")


def trim_to_whole_fragments(path: Path) -> int:
    """Cut an unfinished last fragment (ffmpeg stopped half-way through writing it, e.g. on a
    full disk) so that every player reads the file cleanly to its end. Returns bytes removed."""
    try:
        with open(path, "r+b") as f:
            size = f.seek(0, 2)
            pos = whole = 0
            while pos + 8 <= size:
                f.seek(pos)
                head = f.read(16)
                box_size, kind = int.from_bytes(head[:4], "big"), head[4:8]
                if box_size == 1:  # 64-bit size
                    box_size = int.from_bytes(head[8:16], "big")
                if box_size < 8 or pos + box_size > size:
                    break
                pos += box_size
                if kind != b"moof":  # a fragment is whole once its mdat is
                    whole = pos
            if whole < size:
                f.truncate(whole)
                log.info("recording %s: cut %d bytes of an unfinished fragment", path, size - whole)
            return size - whole
    except OSError as exc:
        log.warning("cannot tidy up %s: %s", path, exc)
        return 0


class DeletionWatch:
    """Tells when the file at ``path`` loses its name (it, or its folder, was deleted).

    ffmpeg does not notice: it writes on into the unlinked file. We hold a read handle and ask
    ``fstat`` how many names it has left. ``close()`` releases the handle; idempotent.
    """

    def __init__(self, path: Path):
        self.path = path
        self._fd = self._open()

    def gone(self, expected: bool) -> bool:
        """True when the file no longer has a name. A file not there yet (the encoder creates it)
        counts as gone only when it is ``expected`` by now."""
        if self._fd is None:
            self._fd = self._open()
            return self._fd is None and expected
        try:
            return os.fstat(self._fd).st_nlink == 0
        except OSError:
            return False

    def close(self) -> None:
        if self._fd is not None:
            fd, self._fd = self._fd, None
            os.close(fd)

    def _open(self) -> int | None:
        try:
            return os.open(self.path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
        except OSError:
            return None
