"""``EncodedVideoFile``: the video file ``faceblur-cam process`` writes, with the input's sound.

The same ffmpeg child process as recordings (an ``FfmpegChild``; codecs from ``encoders``): raw
I420 frames on its stdin,
H.264 yuv420p out (VP9 in .webm, which cannot hold H.264). The input's first audio track is
read by that ffmpeg straight from the input file and copied when the container can hold its
codec, re-encoded otherwise (AAC; MP3 in .avi, Opus in .webm); a voice disguise filter
(``voice``) forces a re-encode and runs inside that ffmpeg, so the undisguised sound never
leaves it. The input's display rotation is kept: frames come upright from the reader, are
turned back to the stored orientation and tagged with the same rotation. No metadata of the
input (title, place, dates, device, chapters) is written.

Thread rules: ``send`` and ``close`` from one thread; ``send`` blocks while ffmpeg is busy
(offline, every frame is written). If we are killed, ffmpeg (in its own session) sees the end of
its input and still finishes the file; an exception between ``send`` and ``close`` reaches
``close`` through the caller (``process`` closes its outputs in a ``finally``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np

from faceblur_cam.frames import PublishedFrame
from faceblur_cam.media_info import AudioTrack
from faceblur_cam.recording.encoders import BT601, NO_FINGERPRINTS, Encoder, find_encoder
from faceblur_cam.recording.ffmpeg_child import FfmpegChild, FfmpegStopped
from faceblur_cam.recording.files import trim_to_whole_fragments
from faceblur_cam.sinks import SinkError

log = logging.getLogger(__name__)

# container (ffmpeg muxer) per file suffix
MUXERS = {".mp4": "mp4", ".m4v": "mp4", ".mov": "mov", ".mkv": "matroska", ".avi": "avi", ".webm": "webm"}
# audio codecs each container holds as they are (None: any)
COPYABLE: dict[str, frozenset[str] | None] = {
    "mp4": frozenset({"aac", "mp3", "alac", "ac3", "eac3", "opus", "flac"}),
    "mov": frozenset({"aac", "mp3", "alac", "ac3", "eac3", "pcm_s16le", "pcm_s24le", "pcm_s16be", "pcm_s24be"}),
    "matroska": None,
    "avi": frozenset({"mp3", "ac3", "pcm_s16le"}),
    "webm": frozenset({"opus", "vorbis"}),
}
REENCODE = {"avi": ["-c:a", "libmp3lame", "-b:a", "192k"], "webm": ["-c:a", "libopus", "-b:a", "128k"]}
AAC = ["-c:a", "aac", "-b:a", "192k"]
# fragmented like recordings, so that whatever is on disk plays (a full disk, a kill: the file
# ends after the last whole fragment, see ``trim_to_whole_fragments``); ``delay_moov`` writes
# the index once the first fragment is known, so it keeps the edit list that hides AAC's priming
# samples (without it the sound came out 21 ms late)
FRAGMENTED = ["-movflags", "+frag_keyframe+delay_moov+default_base_moof"]
# once ffmpeg has every frame: how long it gets for the rest of the sound and the end of the file
FINISH_WAIT_S = 600.0
# frames come upright; the stored picture of a file shown turned by R degrees is the upright one
# turned back by R (display matrices turn counter-clockwise)
UNTURN = {90: cv2.ROTATE_90_CLOCKWISE, 180: cv2.ROTATE_180, 270: cv2.ROTATE_90_COUNTERCLOCKWISE}


@dataclass(frozen=True)
class AudioInput:
    """Where the output's sound comes from: the first audio track of ``path``, maybe filtered."""

    path: Path
    track: AudioTrack
    audio_filter: str | None = None  # an ffmpeg -af chain (voice disguise); forces a re-encode


def audio_codec_args(muxer: str, audio: AudioInput) -> list[str]:
    """Copy when ``muxer`` holds the track's codec and nothing filters it; re-encode otherwise."""
    copyable = COPYABLE.get(muxer, frozenset())
    if audio.audio_filter is None and (copyable is None or audio.track.codec in copyable):
        return ["-c:a", "copy"]
    return REENCODE.get(muxer, AAC)


def rational(fps: float) -> str:
    """``29.97002997`` -> ``30000/1001``: the exact rate, not a rounded one that drifts."""
    return str(Fraction(fps).limit_denominator(1001))


class EncodedVideoFile:
    """A ``FrameSink`` writing ``path`` through ffmpeg; started by the first frame (its size)."""

    name = "video file"

    def __init__(self, path: Path, fps: float, encoder: Encoder, audio: AudioInput | None = None,
                 rotation: int = 0):
        self.path = Path(path)
        self.fps = fps
        self.encoder = encoder
        self.audio = audio
        self.muxer = MUXERS.get(self.path.suffix.lower(), "mp4")
        # AVI cannot say "show this turned": there the frames are stored upright
        self.rotation = 0 if self.muxer == "avi" else rotation % 360
        self.frames_written = 0
        self._wh: tuple[int, int] | None = None
        self._child: FfmpegChild | None = None

    def command(self, wh: tuple[int, int]) -> list[str]:
        """The ffmpeg arguments for stored frames of size ``wh`` (already turned back)."""
        # tag the stored frames with the rotation, and do not let ffmpeg turn them itself
        rotation = ["-noautorotate", "-display_rotation", str(self.rotation)] if self.rotation else []
        video = (["-c:v", "libvpx-vp9", "-crf", "32", "-b:v", "0", "-deadline", "good", "-cpu-used", "4",
                  "-pix_fmt", "yuv420p", *BT601] if self.muxer == "webm"
                 else self.encoder.video_args(wh, self.fps, offline=True))
        # fmt: off
        args = [
            self.encoder.exe, "-hide_banner", "-nostdin", "-nostats", "-loglevel", "error",
            *rotation, "-f", "rawvideo", "-pix_fmt", "yuv420p", "-video_size", f"{wh[0]}x{wh[1]}",
            "-framerate", rational(self.fps), "-i", "pipe:0",
        ]
        if self.audio is not None:
            args += ["-vn", "-sn", "-dn", "-i", str(self.audio.path), "-map", "0:v:0", "-map", "1:a:0"]
            if self.audio.audio_filter:
                args += ["-af", self.audio.audio_filter]
            args += audio_codec_args(self.muxer, self.audio)
        args += [
            *video,
            # no identifying metadata: no tags (file or streams), no chapters, no encoder version,
            # no creation time
            *NO_FINGERPRINTS, "-map_metadata:s", "-1", "-map_chapters", "-1",
            *(FRAGMENTED if self.muxer in ("mp4", "mov") else []),
            "-f", self.muxer, "-y", str(self.path),
        ]
        # fmt: on
        return args

    def send(self, frame: PublishedFrame) -> None:
        image = frame.image
        if self.rotation in UNTURN:
            image = cv2.rotate(image, UNTURN[self.rotation])
        h, w = image.shape[:2]
        if self._child is None:
            self._child = self._start((w, h))
        if (w, h) != self._wh:
            vw, vh = self._wh or (0, 0)
            raise SinkError(f"frame {frame.index} is {w}x{h}, the video is {vw}x{vh}")
        if w % 2 or h % 2:  # I420 needs even sizes: pad with one black column/row
            image = cv2.copyMakeBorder(image, 0, h % 2, 0, w % 2, cv2.BORDER_CONSTANT)
        yuv = cv2.cvtColor(image, cv2.COLOR_BGR2YUV_I420)
        try:
            self._child.write(np.ascontiguousarray(yuv).data)
        except FfmpegStopped as exc:  # ffmpeg is gone: let it say why
            raise SinkError(self._explain(exc.tail)) from exc
        self.frames_written += 1

    def close(self) -> None:
        """Finish the file (ffmpeg writes the rest of the sound and closes it). Idempotent."""
        child, self._child = self._child, None
        if child is None:
            return
        with child:  # killed if waiting is interrupted
            code = child.finish(FINISH_WAIT_S)
        if code != 0:
            self._keep_whole_fragments()
            raise SinkError(self._explain(child.tail))

    def _keep_whole_fragments(self) -> None:
        """After a failure (a full disk): cut the fragment ffmpeg could not finish, so the file plays."""
        if self.muxer in ("mp4", "mov") and self.path.exists():
            trim_to_whole_fragments(self.path)

    def _start(self, wh: tuple[int, int]) -> FfmpegChild:
        self._wh = wh
        even = (wh[0] + wh[0] % 2, wh[1] + wh[1] % 2)
        child = FfmpegChild(self.command(even), str(self.path), thread_name="faceblur-encode")
        log.info("writing %s (%dx%d, %s fps, %s, sound: %s)", self.path, wh[0], wh[1], rational(self.fps),
                 self.encoder.description, "none" if self.audio is None else self.audio.track.codec)
        return child

    def _explain(self, tail: list[str]) -> str:
        text = " ".join(tail)
        if "No space left" in text or "File too large" in text:
            return f"the disk is full: {self.path} ends with the last whole second that fit, and plays"
        if "Permission denied" in text or "Read-only" in text:
            return f"cannot write {self.path} (permission denied)"
        return f"cannot write video {self.path}: {tail[-1] if tail else 'the encoder stopped'}"


def open_video_file(path: Path, fps: float, audio: AudioInput | None, rotation: int, exe: str) -> EncodedVideoFile:
    """An ``EncodedVideoFile`` with the best encoder ``exe`` has; ``EncoderMissing`` says how to get one."""
    return EncodedVideoFile(path, fps, find_encoder(exe), audio, rotation)
