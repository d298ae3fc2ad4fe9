"""The video encoder behind recordings: an ffmpeg executable, and which codec it can write.

We encode in an ffmpeg child process (the binary bundled with the ``imageio-ffmpeg`` wheel, or
``IMAGEIO_FFMPEG_EXE`` / an ``ffmpeg`` on ``PATH``), fed raw I420 frames on its stdin: see
``ffmpeg_child`` for why, and for the one class that runs it.

Codec preference: H.264 via libx264, then H.264 via OpenH264 (LGPL ffmpeg builds such as
Fedora's ship only that), then MPEG-4 Part 2 ("mp4v", logged as a warning: some players and
upload sites refuse it). The file is a fragmented MP4 with a keyframe and a fragment every
second, so a power cut loses about the last second.
"""

from __future__ import annotations

import functools
import logging
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from faceblur_cam.recording.ffmpeg_child import NO_WINDOW
from faceblur_cam.sinks import SinkError

log = logging.getLogger(__name__)

H264_CODECS = ("libx264", "libopenh264")
# OpenCV's BGR -> I420 uses the BT.601 matrix, limited range: say so, or players assume the
# BT.709 matrix at HD sizes and shift the colours
BT601 = ("-colorspace", "smpte170m", "-color_range", "tv")
FALLBACK_CODEC = "mpeg4"
# No fingerprints of this machine or its software in an output: no file or stream tags (ffmpeg
# tags every stream "encoder=Lavc libx264" unless told to write an empty one), no version
# strings in the bitstreams (bitexact), no creation time.
NO_FINGERPRINTS = ("-map_metadata", "-1", "-fflags", "+bitexact", "-flags:v", "+bitexact", "-flags:a", "+bitexact",
                   "-metadata:s:v", "encoder=", "-metadata:s:a", "encoder=")
# x264 writes its version and every option (the machine's thread count among them) into an SEI
# message of the first frame; nothing a player needs is in x264's SEI (keyframes are IDR), so all
# SEI units go
DROP_SEI = ("-bsf:v", "filter_units=remove_types=6")

INSTALL_HINT = (
    "reinstall faceblur-cam (its imageio-ffmpeg dependency ships ffmpeg) or install "
    "ffmpeg and put it on PATH"
)


class EncoderMissing(SinkError):
    """No ffmpeg could be found or run; the message says how to get one."""


@dataclass(frozen=True)
class Encoder:
    """An ffmpeg executable and the codec we will ask it for."""

    exe: str
    codec: str  # "libx264" | "libopenh264" | "mpeg4"
    version: str = ""

    @property
    def h264(self) -> bool:
        return self.codec in H264_CODECS

    @property
    def description(self) -> str:
        kind = f"H.264 ({self.codec})" if self.h264 else "MPEG-4 Part 2 (mp4v), not H.264"
        return f"{kind} with ffmpeg {self.version or '(unknown version)'} at {self.exe}"

    def command(self, wh: tuple[int, int], fps: float, path: Path, sound_fd: int | None = None,
                sound_filter: str | None = None) -> list[str]:
        """ffmpeg arguments: raw I420 frames (``cv2.COLOR_BGR2YUV_I420``) of size ``wh`` at a
        constant ``fps`` on stdin; with ``sound_fd``, mono s16le 48 kHz sound on that pipe, to AAC
        (through ``sound_filter``, an ffmpeg ``-af`` chain such as the voice disguise, if given)."""
        sound_in = sound_out = []
        if sound_fd is not None:
            sound_in = ["-thread_queue_size", "1024", "-f", "s16le", "-ar", "48000", "-ac", "1",
                        "-i", f"pipe:{sound_fd}"]
            sound_out = ["-map", "0:v:0", "-map", "1:a:0", *(["-af", sound_filter] if sound_filter else []),
                         "-c:a", "aac", "-b:a", "128k"]
        # fmt: off
        return [
            self.exe, "-hide_banner", "-nostats", "-loglevel", "error",
            "-f", "rawvideo", "-pix_fmt", "yuv420p", "-video_size", f"{wh[0]}x{wh[1]}",
            "-framerate", f"{fps:g}", "-i", "pipe:0", *sound_in,
            *self.video_args(wh, fps), *sound_out, *NO_FINGERPRINTS,
            "-f", "mp4", "-movflags", "+frag_keyframe+empty_moov+default_base_moof",
            "-frag_duration", "1000000", "-flush_packets", "1",
            "-y", str(path),
        ]
        # fmt: on

    def video_args(self, wh: tuple[int, int], fps: float, offline: bool = False) -> list[str]:
        """Encoder options for I420 input: codec, a keyframe every second, yuv420p, BT.601.

        ``offline`` (``process``): no deadline, so x264 may look ahead and spend more per frame.
        """
        gop = str(max(1, round(fps)))  # a keyframe, hence a fragment, every second
        codec = self._codec_args(wh, fps, offline)
        return [*codec, "-g", gop, "-keyint_min", gop, "-pix_fmt", "yuv420p", *BT601,
                *(DROP_SEI if self.h264 else ())]

    def _codec_args(self, wh: tuple[int, int], fps: float, offline: bool = False) -> list[str]:
        if self.codec == "libx264" and offline:
            return ["-c:v", "libx264", "-preset", "veryfast", "-crf", "20"]
        if self.codec == "libx264":
            # superfast + zerolatency: ~9-13 ms of a core per 720p frame (bench/bench_recording.py),
            # and no lookahead, so every frame reaches the file within a fragment.
            return ["-c:v", "libx264", "-preset", "superfast", "-tune", "zerolatency",
                    "-crf", "23", "-sc_threshold", "0"]  # fmt: skip
        bitrate = str(int(wh[0] * wh[1] * fps * 0.1))  # ~2.8 Mbit/s at 720p30
        if self.codec == "libopenh264":
            return ["-c:v", "libopenh264", "-b:v", bitrate]
        return ["-c:v", "mpeg4", "-tag:v", "mp4v", "-b:v", bitrate]


def find_ffmpeg() -> str | None:
    """The ffmpeg to use: imageio-ffmpeg's (honours ``IMAGEIO_FFMPEG_EXE``), else one on PATH."""
    try:
        import imageio_ffmpeg

        return str(imageio_ffmpeg.get_ffmpeg_exe())
    except (ImportError, RuntimeError) as exc:
        log.debug("imageio-ffmpeg has no ffmpeg: %s", exc)
    return shutil.which("ffmpeg")


@functools.lru_cache(maxsize=8)
def probe_encoder(exe: str) -> Encoder:
    """Ask ``exe`` which encoders it has and pick the best codec. Cached per executable."""
    def ask(option: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([exe, "-hide_banner", option], capture_output=True, text=True, timeout=20,
                              creationflags=NO_WINDOW, check=False)

    try:
        out, version = ask("-encoders"), ask("-version")
    except (OSError, subprocess.SubprocessError) as exc:
        raise EncoderMissing(f"cannot run ffmpeg ({exe}): {exc}; {INSTALL_HINT}") from exc
    names = {line.split()[1] for line in out.stdout.splitlines() if len(line.split()) > 1}
    words = version.stdout.split()
    found = words[2] if len(words) > 2 and words[:2] == ["ffmpeg", "version"] else ""
    for codec in (*H264_CODECS, FALLBACK_CODEC):
        if codec in names:
            return Encoder(exe, codec, found)
    raise EncoderMissing(f"ffmpeg at {exe} has no usable video encoder; {INSTALL_HINT}")


def find_encoder(exe: str | None = None) -> Encoder:
    """The encoder recordings use; raises ``EncoderMissing`` with a clear message."""
    exe = exe or find_ffmpeg()
    if not exe or not Path(exe).exists() and shutil.which(exe) is None:
        raise EncoderMissing(f"recording needs ffmpeg, which was not found; {INSTALL_HINT}")
    encoder = probe_encoder(exe)
    if not encoder.h264:
        log.warning(
            "no H.264 encoder in %s: recording MPEG-4 Part 2 (mp4v), which some players "
            "and upload sites refuse; install an ffmpeg with libx264 or OpenH264",
            exe,
        )
    return encoder


def encoder_available() -> tuple[bool, str]:
    """For ``faceblur-cam doctor``: can we record, and with what (one line for the user)."""
    try:
        encoder = find_encoder()
    except EncoderMissing as exc:
        return False, str(exc)
    return True, encoder.description
