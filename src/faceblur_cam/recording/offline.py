"""Offline outputs for ``faceblur-cam process`` besides the video (``video_file``): a folder of PNGs,
and the boxes log."""

from __future__ import annotations

import errno
import json
import logging
import os
import shutil
from pathlib import Path

import cv2

from faceblur_cam.frames import PublishedFrame
from faceblur_cam.sinks import SinkError

log = logging.getLogger(__name__)


class PngFolderSink:
    """One PNG per frame, named like the input (``0001.jpg`` -> ``0001.png``)."""

    name = "png folder"

    def __init__(self, folder: Path):
        self.folder = Path(folder)
        try:
            self.folder.mkdir(exist_ok=True)  # only the last level: see check_output_folder
        except OSError as exc:
            raise SinkError(f"cannot create {self.folder}: {exc}") from exc

    def send(self, frame: PublishedFrame) -> None:
        stem = Path(frame.name).stem if frame.name else f"{frame.index:06d}"
        path = self.folder / f"{stem}.png"
        if not cv2.imwrite(str(path), frame.image):
            try:
                path.unlink(missing_ok=True)  # no half-written picture left behind
            except OSError:
                pass
            if _disk_full(self.folder):
                raise SinkError(f"the disk is full: {path} could not be written; the PNGs before it are whole")
            raise SinkError(f"cannot write {path} (not writable?)")

    def close(self) -> None:
        return None


def _disk_full(folder: Path) -> bool:
    try:
        return shutil.disk_usage(folder).free < 1 << 20
    except OSError:
        return False


class BoxesLog:
    """``--boxes``: one JSON line per frame: frame, file, regions, shape, obscured (and ``kept``,
    the region left visible, with ``--keep-me``).

    Each line reaches the file whole or not at all: a line the disk had no room for is cut
    back off, so the file always ends with a complete line."""

    name = "boxes log"

    def __init__(self, path: Path):
        self.path = Path(path)
        try:
            self._fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_CLOEXEC", 0), 0o644)
        except OSError as exc:
            raise SinkError(f"cannot write {path}: {exc.strerror or exc}") from exc
        self._size = 0  # bytes of whole lines written

    def send(self, frame: PublishedFrame) -> None:
        record = {
            "frame": frame.index,
            "file": frame.name,
            "regions": frame.regions.to_xywh(),
            "shape": frame.shape,
            "obscured": frame.obscured,
        }
        if frame.keep is not None:  # "keep me visible": the region left visible (none or one)
            record["kept"] = frame.kept.to_xywh()
        data = (json.dumps(record) + "\n").encode("utf-8")
        try:
            done = 0
            while done < len(data):
                done += os.write(self._fd, data[done:])
        except OSError as exc:
            self._cut_back()
            if exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
                raise SinkError(f"the disk is full: {self.path} holds the regions of the {frame.index} "
                                "frames before, each on a whole line") from exc
            raise SinkError(f"cannot write {self.path}: {exc.strerror or exc}") from exc
        self._size += len(data)

    def _cut_back(self) -> None:
        try:
            os.ftruncate(self._fd, self._size)
            os.lseek(self._fd, self._size, os.SEEK_SET)
        except OSError as exc:
            log.warning("cannot cut %s back to whole lines: %s", self.path, exc)

    def close(self) -> None:
        if self._fd >= 0:
            fd, self._fd = self._fd, -1
            os.close(fd)
