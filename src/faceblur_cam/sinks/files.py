"""Offline outputs for ``faceblur-cam process``: a folder of PNGs, a video file, a boxes log."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import IO

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
            self.folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise SinkError(f"cannot create {self.folder}: {exc}") from exc

    def send(self, frame: PublishedFrame) -> None:
        stem = Path(frame.name).stem if frame.name else f"{frame.index:06d}"
        path = self.folder / f"{stem}.png"
        if not cv2.imwrite(str(path), frame.image):
            raise SinkError(f"cannot write {path} (disk full or not writable?)")

    def close(self) -> None:
        return None


class VideoFileSink:
    """A video file through OpenCV (mp4v in .mp4, MJPG in .avi)."""

    name = "video file"

    def __init__(self, path: Path, fps: float):
        self.path = Path(path)
        self._fps = fps
        self._writer: cv2.VideoWriter | None = None
        self._wh = (0, 0)

    def send(self, frame: PublishedFrame) -> None:
        if self._writer is None:
            h, w = frame.image.shape[:2]
            fourcc = cv2.VideoWriter.fourcc(*("MJPG" if self.path.suffix.lower() == ".avi" else "mp4v"))
            self._writer = cv2.VideoWriter(str(self.path), fourcc, self._fps, (w, h))
            if not self._writer.isOpened():
                raise SinkError(f"cannot write video {self.path} (unsupported extension or folder not writable)")
            self._wh = (w, h)
        if frame.image.shape[1::-1] != self._wh:  # OpenCV would drop it without a word
            raise SinkError(f"frame {frame.index} is {frame.image.shape[1]}x{frame.image.shape[0]}, "
                            f"the video is {self._wh[0]}x{self._wh[1]}")
        self._writer.write(frame.image)

    def close(self) -> None:
        if self._writer is not None:
            self._writer.release()
            self._writer = None


class BoxesLog:
    """``--boxes``: one JSON line per frame: frame, file, regions, shape, obscured (and ``kept``,
    the region left visible, with ``--keep-me``)."""

    name = "boxes log"

    def __init__(self, path: Path):
        try:
            self._file: IO[str] = open(path, "w", encoding="utf-8")
        except OSError as exc:
            raise SinkError(f"cannot write {path}: {exc}") from exc

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
        self._file.write(json.dumps(record) + "\n")

    def close(self) -> None:
        self._file.close()
