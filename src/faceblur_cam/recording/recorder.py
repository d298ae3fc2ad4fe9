"""``Mp4Recorder``: records exactly what the call sees to an H.264 MP4, off the live path.

Thread rules: ``send`` and ``close`` run on the engine worker. ``send`` only puts the frame in a
bounded queue (dropping, counted and logged, when the encoder falls behind) and never blocks.
A writer thread feeds the queue to an ffmpeg child process (an ``FfmpegChild``, which also reads
ffmpeg's error output). When ffmpeg fails (disk full, folder gone, killed) the next
``send`` raises ``SinkError`` with a message for the user; what was written stays playable.
ffmpeg does not notice its file being deleted (it writes on into the unlinked file), so ``send``
checks it twice a second (``files.DeletionWatch``) and fails with a message.
The queue holds references, not copies: a published image is never modified afterwards (the
pipeline makes a new image per frame; placeholder cards are drawn once and only read).

Timing: the file has a constant frame rate and frames are placed by capture time
(``PublishedFrame.t``): each output frame shows the newest frame captured in its slot, and a
slot without a new frame repeats the previous one. So a recording lasts as long as it ran, even
when the pipeline makes fewer frames per second than the file has. Slots are given out in
``send``, for every frame, the ones dropped for a busy encoder too: a frame the encoder had no
time for keeps its slot (the picture before it is repeated there), so a loaded machine or an
encoder stalled for seconds never shortens the file or moves the sound. Only a pause of the
frames themselves longer than ``MAX_GAP_S`` (e.g. a laptop asleep) is cut out rather than filled
(``slot_clock``).

Sound: with a ``Microphone``, its sound reaches the same ffmpeg on a second pipe as AAC, on the
frames' clock (``sound_track``); a microphone that cannot be opened is said once and the
recording has pictures only.

Ownership: the recorder owns what it opens (the microphone it is given, the file watch, the sound
pipe, ffmpeg, its threads) in one ``ExitStack``: a failure part-way through starting closes what
was opened, and ``close`` finishes them in order (frames, sound, ffmpeg) and then closes the rest.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from contextlib import ExitStack
from pathlib import Path
from typing import cast

import cv2
import numpy as np

from faceblur_cam.frames import PublishedFrame
from faceblur_cam.recording.encoders import Encoder, find_encoder
from faceblur_cam.recording.ffmpeg_child import FfmpegChild, FfmpegStopped
from faceblur_cam.recording.files import DeletionWatch, new_recording_path, trim_to_whole_fragments
from faceblur_cam.recording.slot_clock import MAX_GAP_S, SlotClock
from faceblur_cam.recording.sound_track import SoundTrackWriter, open_microphone
from faceblur_cam.sinks import SinkError
from faceblur_cam.sources.microphone import SAMPLE_RATE, Microphone
from faceblur_cam.voice import VoiceDisguise, has_rubberband

__all__ = ["MAX_GAP_S", "Mp4Recorder"]

log = logging.getLogger(__name__)

DROP_LOG_INTERVAL_S = 5.0
FILE_CHECK_INTERVAL_S = 0.5  # capture time between checks that the file is still there
# how long ``close`` waits for a busy encoder to take the end of the recording (a loaded machine
# catching up on the slots of frames it had no time for) before it is stopped
STOP_WAIT_S = 20.0
# once it has every frame: how long ffmpeg gets to write the end of the file before it is killed
FINISH_WAIT_S = 5.0
_STOP = object()


class Mp4Recorder:
    """A ``FrameSink`` writing an H.264 fragmented MP4 at ``path`` (see the module docstring).

    Takes ownership of ``microphone`` (closed with the recorder, or at once if it cannot start).
    Raises ``SinkError`` when it cannot start.
    """

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
        self.frames_written = 0
        self.dropped = 0  # frames the encoder was too busy for (the slot shows the one before)
        self.superseded = 0  # frames replaced by a newer one captured in the same slot
        # half a second of frames: rides out encoder hiccups without holding much memory
        self._queue: queue.Queue[tuple[object, int]] = queue.Queue(maxsize=queue_frames or max(8, round(fps / 2)))
        self._failure: str | None = None
        self._closed = False
        self._last_drop_log = 0.0
        self._last_slot = 0  # slot of the newest frame sent, dropped or not
        self._last_check: float | None = None
        self._clock = SlotClock(fps)
        self._writer = threading.Thread(target=self._write_loop, name="faceblur-recorder", daemon=True)
        with ExitStack() as opened:  # a failure part-way closes what was opened before it
            if microphone is not None:
                opened.callback(microphone.close)
            self.encoder = encoder or find_encoder()
            self._watch = DeletionWatch(self.path)
            opened.callback(self._watch.close)
            self._sound = self._open_sound(microphone, opened)
            self._child = self._start_encoder(voice, opened)
            self.pid = self._child.pid
            self._start_threads()
            self._opened = opened.pop_all()  # from now on ``close`` closes them
        log.info("recording to %s (%dx%d, %g fps, %s)", self.path, wh[0], wh[1], fps, self.encoder.description)

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
        with ExitStack() as undo:  # a recording that cannot start leaves no file and no microphone
            if microphone is not None:
                undo.callback(microphone.close)
            path = new_recording_path(folder)
            undo.callback(path.unlink, missing_ok=True)
            recorder = cls(path, wh, fps, encoder, microphone=microphone, voice=voice)
            undo.pop_all()
        return recorder

    # ----------------------------------------------------------------- starting, in order
    def _open_sound(self, microphone: Microphone | None, opened: ExitStack) -> SoundTrackWriter | None:
        """The microphone's track, on a pipe ffmpeg will read (None: pictures only)."""
        if microphone is None:
            return None
        sound = SoundTrackWriter(microphone, lambda: self._clock.origin)
        opened.callback(sound.close)
        return sound

    def _start_encoder(self, voice: VoiceDisguise | None, opened: ExitStack) -> FfmpegChild:
        """ffmpeg on this file, reading the sound pipe too; killed if the recorder cannot start."""
        sound_fd = None if self._sound is None else self._sound.read_fd
        # a disguised voice is changed inside ffmpeg: the microphone's own sound is never stored
        sound_filter = None
        if voice is not None and sound_fd is not None:
            sound_filter = voice.audio_filter(SAMPLE_RATE, has_rubberband(self.encoder.exe))
        command = self.encoder.command(self.wh, self.fps, self.path, sound_fd=sound_fd, sound_filter=sound_filter)
        child = FfmpegChild(command, str(self.path), pass_fds=() if sound_fd is None else (sound_fd,),
                            nice=True, flush=True, thread_name="faceblur-rec")
        # ``close`` finishes it first; this is for a failure before that (or during it)
        opened.callback(child.kill)
        return child

    def _start_threads(self) -> None:
        if self._sound is not None:  # ffmpeg has its end of the pipe now
            self._sound.start()
        self._writer.start()

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
        with self._opened:  # on every way out: ffmpeg, the sound, the watch and the microphone closed
            self._stop_writer()
            if self._sound is not None:  # the sound ends with the last frame
                self._sound.finish(self.frames_written / self.fps)
            code = self._child.finish(FINISH_WAIT_S)
            gone = self._file_gone()
        self._conclude(code, gone)

    def _stop_writer(self) -> None:
        """Hand the writer the end of the recording and wait for it to write it."""
        if self._sound is not None:  # the video ends with the last slot given out: so does the sound
            self._sound.end_at((self._last_slot + 1) / self.fps)
        try:
            self._queue.put((_STOP, self._last_slot), timeout=STOP_WAIT_S)  # the writer drains
        except queue.Full:
            log.error("the video encoder is not taking frames; stopping it")
            self._child.kill()  # the writer's blocked write fails and it exits
        self._writer.join(timeout=STOP_WAIT_S + 10)

    def _conclude(self, code: int, gone: bool) -> None:
        """Keep, tidy or remove the file once ffmpeg has exited with ``code``, and say so."""
        if self.frames_written == 0:
            log.info("recording stopped before any frame: %s removed", self.path)
            self.path.unlink(missing_ok=True)
            return
        if gone:
            log.error("recording %s was not saved: %s", self.path, self._failure or self._gone_message())
            return
        if code != 0:
            trim_to_whole_fragments(self.path)
            if self._failure is None:
                self._failure = self._explain(code, self._child.tail)
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
        return self._watch.gone(expected=self.frames_written > 0)  # the encoder has created it by then

    def _gone_message(self) -> str:
        folder = self.path.parent
        what = f"the folder {folder} was deleted" if not folder.is_dir() else f"the file {self.path} was deleted"
        return f"{what} while recording, and the recording with it; start recording again for a new file"

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
                        self._write(yuv)
                if stop:
                    break
                self.superseded += pending is not None and slot == pending_slot
                pending, pending_slot = cast(np.ndarray, item), slot
            self._child.end_input()
        except FfmpegStopped as exc:  # ffmpeg is gone: say why
            self._fail_from_encoder(exc)
        except Exception:  # a bug must not leave a recorder that silently drops everything
            log.exception("the recording writer failed")
            self._child.kill()
            self._failure = f"the recording failed unexpectedly (see the log); {self._saved()}"
        finally:
            self._discard_queue()

    def _write(self, image: np.ndarray) -> None:
        self._child.write(np.ascontiguousarray(image).data)
        self.frames_written += 1

    def _fail_from_encoder(self, stopped: FfmpegStopped) -> None:
        # a folder deleted before ffmpeg opened the file stops it with "No such file or directory":
        # say what happened, not that the encoder stopped and the recording was saved
        gone = not self.path.parent.is_dir()
        self._failure = self._gone_message() if gone else self._explain(stopped.code, stopped.tail)
        log.error(
            "recording %s failed: %s (ffmpeg: %s)",
            self.path,
            self._failure,
            " | ".join(stopped.tail) or f"exit code {stopped.code}",
        )

    def _discard_queue(self) -> None:
        while True:
            try:
                self._queue.get_nowait()
            except queue.Empty:
                return

    def _saved(self) -> str:
        return f"the recording so far is saved in {self.path}"

    def _explain(self, code: int | None, tail: list[str]) -> str:
        """A message for the user from ffmpeg's exit code and error output."""
        text = " ".join(tail).lower()
        saved = self._saved()
        if "no space left" in text:
            return f"the disk is full; {saved}"
        if "file too large" in text or code == -25:  # SIGXFSZ: a file size limit was hit
            return f"the file reached the size limit of the disk or system; {saved}"
        if "permission denied" in text or "read-only" in text:
            return f"cannot write to {self.path.parent} (permission denied)"
        last = tail[-1] if tail else f"exit code {code}"
        return f"the video encoder stopped ({last}); {saved}"
