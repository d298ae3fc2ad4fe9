"""Video files and image folders, offline (in order) or standing in for a camera (paced).

``iter_frames(path)`` yields every frame in order (for ``faceblur-cam process``); a video
damaged in the middle is decoded past the damage, and ``ReadReport`` counts what was lost.
``FileSource`` is a ``FrameSource`` that plays the file at its own frame rate, looped or once,
keeping only the newest frame like a camera does.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from faceblur_cam.frames import CapturedFrame
from faceblur_cam.sources import SourceError, SourceExhausted
from faceblur_cam.sources.fit import fit

log = logging.getLogger(__name__)

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff"}
# A failed read is retried this many times in a row before the video counts as ended: OpenCV
# stops at the first damaged packet, ffmpeg's own decoder goes on after it.
MAX_BAD_READS = 30


@dataclass
class ReadReport:
    """What ``iter_frames`` could not read: frames lost to damage (videos) and the count the
    container announced (0 when unknown)."""

    decoded: int = 0
    damaged: int = 0
    announced: int = 0

    @property
    def lost(self) -> int:
        """Frames the file announced or that failed between good ones, but never came out."""
        return max(self.damaged, self.announced - self.decoded if self.announced else 0)


def is_image(path: Path) -> bool:
    return path.suffix.lower() in IMAGE_SUFFIXES


def list_images(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file() and is_image(p))


def read_image(path: Path) -> np.ndarray:
    try:
        image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    except cv2.error as exc:  # OpenCV refuses headers claiming more than a gigapixel
        raise SourceError(f"cannot read image {path}: its header claims a picture too large to open "
                          "(more than 1 gigapixel), or it is damaged") from exc
    if image is None:
        raise SourceError(f"cannot read image {path} (not an image, or damaged)")
    return image


def native_fps(path: Path, default: float = 30.0) -> float:
    if path.is_dir() or is_image(path):
        return default
    cap = cv2.VideoCapture(str(path))
    fps = cap.get(cv2.CAP_PROP_FPS) if cap.isOpened() else 0.0
    cap.release()
    return fps if 1 <= fps <= 240 else default


def check_readable(path: Path) -> None:
    """Raise ``SourceError`` unless ``path`` (a video, an image or a folder of images) yields a frame."""
    path = Path(path)
    if path.is_dir():
        images = list_images(path)
        if not images:
            raise SourceError(f"{path} has no images ({', '.join(sorted(IMAGE_SUFFIXES))})")
        read_image(images[0])
    elif is_image(path):
        read_image(path)
    else:
        cap = cv2.VideoCapture(str(path))
        try:
            if not (cap.isOpened() and cap.read()[0]):
                raise SourceError(f"cannot read {path}: it is empty, not a video, or damaged")
        finally:
            cap.release()


def iter_frames(path: Path, fps: float | None = None, report: ReadReport | None = None) -> Iterator[CapturedFrame]:
    """All frames of a video file, an image, or a folder of images (sorted by name), in order.

    Frame times are ``index / fps`` (the file's own rate, or ``fps`` for images). ``report``,
    if given, is filled in as frames are read.
    """
    report = report if report is not None else ReadReport()
    path = Path(path)
    if not path.exists():
        raise SourceError(f"{path} does not exist")
    rate = fps or native_fps(path)
    if path.is_dir():
        images = list_images(path)
        if not images:
            raise SourceError(f"{path} has no images ({', '.join(sorted(IMAGE_SUFFIXES))})")
        report.announced = len(images)
        for i, p in enumerate(images):
            yield CapturedFrame(read_image(p), i / rate, i, p.name)
            report.decoded += 1
        return
    if is_image(path):
        report.announced = 1
        yield CapturedFrame(read_image(path), 0.0, 0, path.name)
        report.decoded = 1
        return
    yield from _video_frames(path, rate, report)


def _video_frames(path: Path, rate: float, report: ReadReport) -> Iterator[CapturedFrame]:
    cap = cv2.VideoCapture(str(path))
    if not cap.isOpened():
        raise SourceError(f"cannot open video {path} (unsupported or damaged file)")
    report.announced = max(0, int(cap.get(cv2.CAP_PROP_FRAME_COUNT)))
    try:
        bad = 0  # failed reads since the last good frame
        while bad < MAX_BAD_READS:
            ok, image = cap.read()
            if not ok:
                bad += 1
                if report.announced and cap.get(cv2.CAP_PROP_POS_FRAMES) >= report.announced:
                    break  # the real end
                continue
            report.damaged += bad
            bad = 0
            i = report.decoded
            yield CapturedFrame(image, i / rate, i, f"{i:06d}")
            report.decoded += 1
        if report.decoded == 0:
            raise SourceError(f"{path} has no readable video frames")
    finally:
        cap.release()


class FileSource:
    """A file standing in for a camera: real-time paced, newest frame only, looped or once."""

    def __init__(self, path: Path, wh: tuple[int, int] | None = None, loop: bool = True, fps: float | None = None):
        self._path = Path(path)
        self._wh = wh
        self._loop = loop
        self._fps = fps or native_fps(self._path)
        self._frames = iter_frames(self._path, self._fps)
        self._start = time.monotonic()
        self._played = 0  # frames consumed from the file (including skipped ones)
        self._index = 0
        self._pending: CapturedFrame | None = self._next_raw()
        if self._pending is None:
            raise SourceError(f"{path} has no frames")

    def _next_raw(self) -> CapturedFrame | None:
        try:
            return next(self._frames)
        except StopIteration:
            if not self._loop or self._played == 0:
                return None
            self._frames = iter_frames(self._path, self._fps)
            return next(self._frames, None)

    def read(self, timeout: float) -> CapturedFrame | None:
        due = self._start + self._played / self._fps
        now = time.monotonic()
        if due - now > timeout:
            time.sleep(timeout)
            return None
        if due > now:
            time.sleep(due - now)
        # a slow consumer skips frames instead of falling behind, like a camera
        behind = int((time.monotonic() - self._start) * self._fps) - self._played
        frame = self._pending
        for _ in range(max(0, behind)):
            self._played += 1
            nxt = self._next_raw()
            if nxt is None:
                break
            frame = nxt
        if frame is None:
            raise SourceExhausted(f"{self._path} ended")
        self._played += 1
        self._pending = self._next_raw()
        if self._pending is None and not self._loop:
            self._pending = None
        self._index += 1
        image = fit(frame.image, self._wh) if self._wh else frame.image
        return CapturedFrame(image, time.monotonic(), self._index, frame.name)

    def close(self) -> None:
        self._frames = iter(())
