"""What a video file holds besides its frames: its first audio track and its display rotation.

Read from what ``ffmpeg -i FILE`` prints (the ffmpeg we encode with; ffprobe is not bundled
with imageio-ffmpeg). Frames themselves are read elsewhere (``sources.files``).
"""

from __future__ import annotations

import logging
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

NO_WINDOW = getattr(subprocess, "CREATE_NO_WINDOW", 0)
_STREAM = re.compile(r"^\s*Stream #0:\d+\S*: (Video|Audio): (\w+)(.*)$")
_ROTATION = re.compile(r"rotation of (-?\d+(?:\.\d+)?) degrees", re.IGNORECASE)
_RATE = re.compile(r"(\d+) Hz, ([\w.() ]+?)(?:,|$)")


@dataclass(frozen=True)
class AudioTrack:
    """The first audio stream of a file: codec name as ffmpeg calls it, sample rate, layout."""

    codec: str
    sample_rate: int = 0
    layout: str = ""  # "mono", "stereo", "5.1(side)"...


@dataclass(frozen=True)
class MediaInfo:
    audio: AudioTrack | None
    rotation: int  # display rotation of the first video stream, degrees counter-clockwise: 0/90/180/270
    has_video: bool = True  # False: ffmpeg listed streams and none was a picture (e.g. a sound file)


def probe_media(exe: str, path: Path) -> MediaInfo:
    """Ask ``exe`` (ffmpeg) about ``path``; a file it cannot read is reported as no audio, no rotation."""
    try:
        result = subprocess.run([exe, "-hide_banner", "-nostdin", "-i", str(path)], capture_output=True,
                                timeout=60, creationflags=NO_WINDOW, check=False)
    except (OSError, subprocess.SubprocessError) as exc:
        log.debug("cannot probe %s: %s", path, exc)
        return MediaInfo(None, 0)
    return parse_media_info(result.stderr.decode("utf-8", "replace"))


def parse_media_info(text: str) -> MediaInfo:
    """``MediaInfo`` from the stream listing ``ffmpeg -i`` prints (first input only)."""
    audio: AudioTrack | None = None
    rotation: int | None = None
    in_video = seen_video = seen_stream = False
    for line in text.splitlines():
        if line.startswith("Input #") and not line.startswith("Input #0"):
            break
        stream = _STREAM.match(line)
        if stream:
            kind, codec, rest = stream.groups()
            seen_stream = True
            in_video = kind == "Video" and not seen_video
            seen_video = seen_video or in_video
            if kind == "Audio" and audio is None:
                rate = _RATE.search(rest)
                audio = AudioTrack(codec, int(rate.group(1)) if rate else 0, rate.group(2).strip() if rate else "")
            continue
        if in_video and line.startswith("      "):
            turned = _ROTATION.search(line)
            if turned:
                rotation = round(float(turned.group(1)) / 90) * 90 % 360
        elif line.startswith("  ") and not line.startswith("    "):
            in_video = False
    return MediaInfo(audio, rotation or 0, seen_video or not seen_stream)
