"""``Mp4Recorder``: records exactly what the call sees to an H.264 MP4, off the live path.

Thread rules: ``send`` and ``close`` run on the engine worker. ``send`` only puts the frame in a
bounded queue (dropping, counted and logged, when the encoder falls behind) and never blocks.
A writer thread feeds the queue to an ffmpeg child process (see ``encoders``); a second thread
drains ffmpeg's error output. When ffmpeg fails (disk full, folder gone, killed) the next
``send`` raises ``SinkError`` with a message for the user; what was written stays playable.
ffmpeg does not notice its file being deleted (it writes on into the unlinked file), so ``send``
checks it twice a second (``fstat`` of a handle we hold: no links left) and fails with a message.
The queue holds references, not copies: a published image is never modified afterwards (the
pipeline makes a new image per frame; placeholder cards are drawn once and only read).

Timing: the file has a constant frame rate and frames are placed by capture time
(``PublishedFrame.t``): each output frame shows the newest frame captured in its slot, and a
slot without a new frame repeats the previous one. So a recording lasts as long as it ran, even
when the pipeline makes fewer frames per second than the file has. Slots are given out in
``send``, for every frame, the ones dropped for a busy encoder too: a frame the encoder had no
time for keeps its slot (the picture before it is repeated there), so a loaded machine or an
encoder stalled for seconds never shortens the file or moves the sound. Only a pause of the
frames themselves longer than ``MAX_GAP_S`` (e.g. a laptop asleep) is cut out rather than filled.

Sound: with a ``Microphone``, its sound reaches the same ffmpeg on a second pipe as AAC, on the
frames' clock (``sound_track``); a microphone that cannot be opened is said once and the
recording has pictures only.
"""

from __future__ import annotations

import collections
import logging
import os
import queue
import subprocess
import threading
import time
from datetime import datetime
from pathlib import Path
from typing import IO, cast

import cv2
import numpy as np
import platformdirs

from faceblur_cam import APP_NAME
from faceblur_cam.frames import PublishedFrame
from faceblur_cam.recording.encoders import (
    BELOW_NORMAL,
    NO_WINDOW,
    Encoder,
    encoder_available,
    find_encoder,
    lower_priority,
)
from faceblur_cam.recording.sound_track import SoundTrackWriter
from faceblur_cam.sinks import SinkError
from faceblur_cam.sources.microphone import SAMPLE_RATE, SOUND_SUPPORTED, Microphone, MicrophoneUnavailable
from faceblur_cam.voice import VoiceDisguise, has_rubberband

__all__ = [
    "Mp4Recorder",
    "SlotClock",
    "encoder_available",
    "new_recording_path",
    "recordings_folder",
    "trim_to_whole_fragments",
]

log = logging.getLogger(__name__)

MAX_GAP_S = 5.0
DROP_LOG_INTERVAL_S = 5.0
FILE_CHECK_INTERVAL_S = 0.5  # capture time between checks that the file is still there
# how long ``close`` waits for a busy encoder to take the end of the recording (a loaded machine
# catching up on the slots of frames it had no time for) before it is stopped
STOP_WAIT_S = 20.0
_STOP = object()


def open_microphone(audio: str) -> Microphone | None:
    """The microphone for a recording, or None (``"off"``, unsupported, or it cannot be opened:
    then a warning says so and the recording has pictures only)."""
    if audio == "off":
        return None
    if not SOUND_SUPPORTED:
        log.warning("recording sound is not supported on this system yet: recording pictures only")
        return None
    try:
        return Microphone(audio)
    except MicrophoneUnavailable as exc:
        log.warning("%s: recording pictures only, without sound", exc)
        return None


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


def _watch_handle(path: Path) -> int | None:
    """A read handle on ``path`` that tells, through ``fstat``, when it was deleted; None if
    the file does not exist (yet)."""
    try:
        return os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
    except OSError:
        return None


class SlotClock:
    """Capture time -> frame slot of a constant-rate file (slot 0 = the first frame)."""

    def __init__(self, fps: float, max_gap_s: float = MAX_GAP_S):
        self.fps = fps
        self._max_gap = max(1, round(max_gap_s * fps))
        self._t0: float | None = None
        self._last = 0

    def slot(self, t: float) -> int:
        if self._t0 is None:
            self._t0 = t
        slot = round((t - self._t0) * self.fps)
        if slot - self._last > self._max_gap:
            log.info("recording: %.1f s without frames left out", (slot - self._last) / self.fps)
            self._t0 = t - (self._last + 1) / self.fps
            slot = self._last + 1
        self._last = max(self._last, slot)
        return self._last

    @property
    def origin(self) -> float | None:
        """The capture time slot 0 stands for (moves on when a gap is cut); None before a frame."""
        return self._t0


class Mp4Recorder:
    """A ``FrameSink`` writing an H.264 fragmented MP4 at ``path`` (see the module docstring)."""

    name = "recording"

    def __init__(
        self,
        path: Path,
        wh: tuple[int, int],
        fps: float,
        encoder: Encoder | None = None,
        queue_frames: int | None = None,
        microphone: Microphone | None = None,
        voice: VoiceDisguise | None = None,
    ):
        self.path = Path(path)
        self.wh = wh
        self.fps = fps
        self.encoder = encoder or find_encoder()
        self.frames_written = 0
        self.dropped = 0  # frames the encoder was too busy for (the slot shows the one before)
        self.superseded = 0  # frames replaced by a newer one captured in the same slot
        # half a second of frames: rides out encoder hiccups without holding much memory
        size = queue_frames or max(8, round(fps / 2))
        self._queue: queue.Queue[tuple[object, int]] = queue.Queue(maxsize=size)
        self._failure: str | None = None
        self._closed = False
        self._last_drop_log = 0.0
        self._last_slot = 0  # slot of the newest frame sent, dropped or not
        self._stderr: collections.deque[str] = collections.deque(maxlen=20)
        self._watch = _watch_handle(self.path)
        self._last_check: float | None = None
        self._clock = SlotClock(fps)
        # the microphone's sound reaches ffmpeg on a second pipe (POSIX: an inherited descriptor)
        sound_r, sound_w = os.pipe() if microphone is not None else (None, None)
        # a disguised voice is changed inside ffmpeg: the microphone's own sound is never stored
        sound_filter = None
        if voice is not None and microphone is not None:
            sound_filter = voice.audio_filter(SAMPLE_RATE, has_rubberband(self.encoder.exe))
        try:
            self._proc = subprocess.Popen(
                self.encoder.command(wh, fps, self.path, sound_fd=sound_r, sound_filter=sound_filter),
                pass_fds=() if sound_r is None else (sound_r,),
                stdin=subprocess.PIPE,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                creationflags=NO_WINDOW | BELOW_NORMAL,
                # own session: a Ctrl-C in the terminal reaches us, and we close the file cleanly
                start_new_session=True,
            )
        except OSError as exc:
            self._close_watch()
            for fd in (sound_r, sound_w):
                if fd is not None:
                    os.close(fd)
            if microphone is not None:
                microphone.close()
            raise SinkError(f"cannot start the video encoder ({self.encoder.exe}): {exc}") from exc
        self._sound: SoundTrackWriter | None = None
        if microphone is not None and sound_r is not None and sound_w is not None:
            os.close(sound_r)
            self._sound = SoundTrackWriter(microphone, sound_w, lambda: self._clock.origin)
            self._sound.start()
        self.pid = self._proc.pid
        lower_priority(self.pid)
        self._drain = threading.Thread(
            target=self._read_errors, name="faceblur-rec-log", daemon=True
        )
        self._drain.start()
        self._writer = threading.Thread(
            target=self._write_loop, name="faceblur-recorder", daemon=True
        )
        self._writer.start()
        log.info(
            "recording to %s (%dx%d, %g fps, %s)",
            self.path,
            wh[0],
            wh[1],
            fps,
            self.encoder.description,
        )

    @classmethod
    def in_folder(cls, folder: Path, wh: tuple[int, int], fps: float, audio: str = "off",
                  voice: VoiceDisguise | None = None) -> Mp4Recorder:
        """A recorder on a new timestamped file in ``folder``; ``SinkError`` if it cannot start.

        ``audio``: ``"off"``, ``"default"`` or an input device's name or number. A microphone
        that cannot be opened is said once (a warning) and the recording has pictures only.
        ``voice``: disguise the voice (see ``faceblur_cam.voice``).
        """
        encoder = find_encoder()
        microphone = open_microphone(audio)  # first: the file appears when the recording starts
        try:
            path = new_recording_path(folder)
        except SinkError:
            if microphone is not None:
                microphone.close()
            raise
        try:
            return cls(path, wh, fps, encoder, microphone=microphone, voice=voice)
        except SinkError:
            path.unlink(missing_ok=True)
            raise

    # ----------------------------------------------------------------- engine worker
    def send(self, frame: PublishedFrame) -> None:
        if self._failure is not None:
            raise SinkError(self._failure)
        if self._closed:
            raise SinkError("the recording is closed")
        image = frame.image
        if image.shape != (self.wh[1], self.wh[0], 3) or image.dtype != np.uint8:
            raise SinkError(
                f"frame of shape {image.shape} does not fit a {self.wh[0]}x{self.wh[1]} recording"
            )
        self._check_file(frame.t)
        # the slot is given here, where every frame passes: one the encoder has no time for
        # still moves the clock on, so the picture before it fills its slot
        self._last_slot = self._clock.slot(frame.t)
        try:
            self._queue.put_nowait((image, self._last_slot))
        except queue.Full:
            self._note_drop()

    def close(self) -> None:
        """Finish the file: write what is queued, let ffmpeg close it. Idempotent.

        Takes about the time to encode the queued frames (a fraction of a second); an encoder
        that hangs is killed after a few seconds (the fragments written so far stay playable).
        """
        if self._closed:
            return
        self._closed = True
        if self._sound is not None:  # the video ends with the last slot given out: so does the sound
            self._sound.end_at((self._last_slot + 1) / self.fps)
        try:
            self._queue.put((_STOP, self._last_slot), timeout=STOP_WAIT_S)  # the writer drains
        except queue.Full:
            log.error("the video encoder is not taking frames; stopping it")
            self._proc.kill()  # the writer's blocked write fails and it exits
        self._writer.join(timeout=STOP_WAIT_S + 10)
        if self._sound is not None:  # the sound ends with the last frame
            self._sound.finish(self.frames_written / self.fps)
        try:
            self._proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            log.error("the video encoder did not finish %s in time; stopping it", self.path)
            self._proc.kill()
            self._proc.wait()
        self._drain.join(timeout=2)
        gone = self._file_gone()
        self._close_watch()
        if self.frames_written == 0:
            log.info("recording stopped before any frame: %s removed", self.path)
            self.path.unlink(missing_ok=True)
            return
        if gone:
            log.error("recording %s was not saved: %s", self.path, self._failure or self._gone_message())
            return
        if self._proc.returncode != 0:
            trim_to_whole_fragments(self.path)
        if self._failure is None and self._proc.returncode != 0:
            self._failure = self._explain(self._proc.returncode)
        if self._failure:
            log.error("recording %s ended with an error: %s", self.path, self._failure)
        log.info(
            "recording saved: %s (%d frames, %.1f s, %d dropped, %d superseded)",
            self.path,
            self.frames_written,
            self.frames_written / self.fps,
            self.dropped,
            self.superseded,
        )

    def _check_file(self, t: float) -> None:
        """Every ``FILE_CHECK_INTERVAL_S`` of capture time: fail if the file was deleted."""
        if self._last_check is not None and 0 <= t - self._last_check < FILE_CHECK_INTERVAL_S:
            return
        self._last_check = t
        if self._file_gone():
            self._failure = self._gone_message()
            log.error("recording %s: %s", self.path, self._failure)
            raise SinkError(self._failure)

    def _file_gone(self) -> bool:
        """True when the file we record to no longer has a name (deleted, or its folder was)."""
        if self._watch is None:
            self._watch = _watch_handle(self.path)  # the encoder has created it by now
            return self._watch is None and self.frames_written > 0
        try:
            return os.fstat(self._watch).st_nlink == 0
        except OSError:
            return False

    def _gone_message(self) -> str:
        folder = self.path.parent
        what = f"the folder {folder} was deleted" if not folder.is_dir() else f"the file {self.path} was deleted"
        return f"{what} while recording, and the recording with it; start recording again for a new file"

    def _close_watch(self) -> None:
        if self._watch is not None:
            os.close(self._watch)
            self._watch = None

    def _note_drop(self) -> None:
        self.dropped += 1
        now = time.monotonic()
        if now - self._last_drop_log >= DROP_LOG_INTERVAL_S:
            self._last_drop_log = now
            log.warning(
                "recording: the encoder is behind, %d frames dropped so far (the live "
                "feed is not affected)",
                self.dropped,
            )

    # ----------------------------------------------------------------- writer thread
    def _write_loop(self) -> None:
        pending: np.ndarray | None = None
        pending_slot = 0
        stdin = self._proc.stdin
        assert stdin is not None
        try:
            while True:
                item, slot = self._queue.get()
                stop = item is _STOP
                if pending is not None and slot - pending_slot + stop > 0:
                    # hold the frame until the next one; at the end, until the last frame sent.
                    # Converted here, once per frame written: half the bytes of BGR through the
                    # pipe, and a better conversion than ffmpeg's default (bench notes).
                    yuv = cv2.cvtColor(pending, cv2.COLOR_BGR2YUV_I420)
                    for _ in range(slot - pending_slot + stop):
                        self._write(stdin, yuv)
                if stop:
                    break
                self.superseded += pending is not None and slot == pending_slot
                pending, pending_slot = cast(np.ndarray, item), slot
            stdin.close()
        except (OSError, ValueError):  # ffmpeg is gone: the pipe broke, or was closed
            self._fail_from_encoder()
        except Exception:  # a bug must not leave a recorder that silently drops everything
            log.exception("the recording writer failed")
            self._proc.kill()
            self._failure = f"the recording failed unexpectedly (see the log); {self._saved()}"
        finally:
            self._discard_queue()

    def _write(self, stdin: IO[bytes], image: np.ndarray) -> None:
        stdin.write(np.ascontiguousarray(image).data)
        stdin.flush()
        self.frames_written += 1

    def _fail_from_encoder(self) -> None:
        try:
            code = self._proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            code = self._proc.wait()
        self._drain.join(timeout=2)
        self._failure = self._explain(code)
        log.error(
            "recording %s failed: %s (ffmpeg: %s)",
            self.path,
            self._failure,
            " | ".join(self._stderr) or f"exit code {code}",
        )

    def _discard_queue(self) -> None:
        while True:
            try:
                self._queue.get_nowait()
            except queue.Empty:
                return

    def _read_errors(self) -> None:
        assert self._proc.stderr is not None
        for raw in self._proc.stderr:
            line = raw.decode("utf-8", "replace").strip()
            if line:
                self._stderr.append(line)

    def _saved(self) -> str:
        return f"the recording so far is saved in {self.path}"

    def _explain(self, code: int | None) -> str:
        """A message for the user from ffmpeg's exit code and error output."""
        text = " ".join(self._stderr).lower()
        saved = self._saved()
        if "no space left" in text:
            return f"the disk is full; {saved}"
        if "file too large" in text or code == -25:  # SIGXFSZ: a file size limit was hit
            return f"the file reached the size limit of the disk or system; {saved}"
        if "permission denied" in text or "read-only" in text:
            return f"cannot write to {self.path.parent} (permission denied)"
        last = self._stderr[-1] if self._stderr else f"exit code {code}"
        return f"the video encoder stopped ({last}); {saved}"
