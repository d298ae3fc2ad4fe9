"""``SoundTrackWriter``: the microphone's sound as one continuous track on the recording's clock.

Sample ``n`` of the track written to a pipe (raw s16le mono 48 kHz, read by the recorder's
ffmpeg from ``read_fd``) is the sound captured at ``origin + (n + lead) / SAMPLE_RATE``, where ``origin`` is the
capture time of the recording's first frame (the recorder's ``SlotClock``) and ``lead`` the
priming samples the AAC encoder puts in front (a fragmented MP4 has no edit list to hide them:
players play them, so the track starts that much later on the clock). Measured with a flash
and a beep through PulseAudio: sound within 15 ms of the picture (the test allows 45).

Blocks that arrive late or overlap are trimmed, gaps (a dropout, a microphone that stopped) are
filled with silence, so the track always keeps up with the clock: ffmpeg never waits for sound
to interleave, and fragments reach the disk every second.

Ownership: from its construction the writer owns the microphone and both ends of the pipe; after
``finish`` or ``close`` (on every way out) all three are closed, and its thread has ended.

Thread rules: one thread of its own; ``start``, ``finish`` and ``close`` from the recorder's owner
thread.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable

import numpy as np

from faceblur_cam.sources.microphone import (
    SAMPLE_RATE,
    SOUND_SUPPORTED,
    Microphone,
    MicrophoneUnavailable,
    SoundBlock,
)

log = logging.getLogger(__name__)

AAC_LEAD = 1024  # samples of encoder delay (priming) AAC puts before the sound
TOLERANCE = SAMPLE_RATE // 50  # 20 ms of timing jitter accepted before trimming or filling
# how long a late block is waited for before silence takes its place: on a loaded machine the
# microphone's blocks arrived more than 0.3 s late and whole words became silence; a killed
# recording loses at most this much more sound at its end
HOLD_S = 0.8
TICK_S = 0.02


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


class SoundTrackWriter:
    """``microphone``'s sound on a pipe; ffmpeg inherits ``read_fd`` (POSIX ``pass_fds``).

    ``origin``: the capture time of the recording's first frame, None before it."""

    def __init__(self, microphone: Microphone, origin: Callable[[], float | None],
                 clock: Callable[[], float] = time.monotonic, lead: int = AAC_LEAD):
        self.microphone = microphone
        self.written = 0  # samples
        self.silence = 0  # samples of silence filled in
        try:
            self.read_fd: int | None
            self.read_fd, self._fd = os.pipe()
        except OSError:
            microphone.close()
            raise
        self._origin = origin
        self._clock = clock
        self._lead = lead
        self._end: int | None = None  # samples to stop at, set by finish()
        self._stop = threading.Event()
        self._broken = False
        self._said_lost = False
        self._thread = threading.Thread(target=self._run, name="faceblur-sound", daemon=True)

    def start(self) -> None:
        """Start writing; call once ffmpeg has its copy of ``read_fd`` (ours is closed here)."""
        self._close_read_end()
        self._thread.start()

    def end_at(self, seconds: float) -> None:
        """The track ends at ``seconds`` (the video's length, known when the recording stops):
        nothing after it is written, however long the encoder then takes to finish, and the pipe
        closes once it is written up to there (``HOLD_S`` later at most)."""
        self._end = round(seconds * SAMPLE_RATE)

    def finish(self, seconds: float) -> None:
        """End the track at ``seconds`` (the video's length), close the pipe, wait for the thread."""
        self._end = round(seconds * SAMPLE_RATE)
        self.close()

    def close(self) -> None:
        """Stop the thread (it writes up to the end set, if any, and closes our end of the pipe),
        close the read end if ffmpeg never took it, and the microphone. Idempotent."""
        self._stop.set()
        try:
            if self._thread.ident is not None:
                self._thread.join(timeout=10)
            else:  # never started: the pipe is still all ours
                self._close_fd()
            self._close_read_end()
        finally:
            self.microphone.close()

    # ------------------------------------------------------------------------- own thread
    def _run(self) -> None:
        waiting: list[SoundBlock] = []
        try:
            while not self._stop.is_set():
                origin = self._origin()
                if origin is None:  # no frame yet: keep the last moment of sound only
                    waiting = (waiting + self.microphone.take())[-50:]
                    self._stop.wait(TICK_S)
                    continue
                for block in waiting + self.microphone.take():
                    self._place(block, origin)
                waiting = []
                due = round((self._clock() - origin - HOLD_S) * SAMPLE_RATE) - self._lead
                self._fill_to(due)
                self._note_lost()
                if self._complete():  # ffmpeg gets the end of the sound now, not at finish()
                    break
                self._stop.wait(TICK_S)
            origin = self._origin()
            if origin is not None and self._end is not None:
                for block in waiting + self.microphone.take():
                    self._place(block, origin)
                self._fill_to(self._end - self._lead)
        except OSError as exc:  # ffmpeg is gone; the recorder reports why
            log.debug("sound track pipe closed: %s", exc)
        finally:
            self._close_fd()

    def _complete(self) -> bool:
        """The track has all it will get (the end is set and written up to). Its pipe must close
        then: an audio filter that looks ahead (the voice disguise's ``atempo``) holds the last
        moment of sound until the end of its input, and ffmpeg stops reading the last video frames
        until that sound comes, so the recorder waiting for them would wait for ever."""
        return self._end is not None and self.written >= self._end - self._lead

    def _close_fd(self) -> None:
        fd, self._fd = self._fd, -1
        if fd >= 0:
            try:
                os.close(fd)
            except OSError:
                pass

    def _close_read_end(self) -> None:
        fd, self.read_fd = self.read_fd, None
        if fd is not None:
            os.close(fd)

    def _place(self, block: SoundBlock, origin: float) -> None:
        at = round((block.t - origin) * SAMPLE_RATE) - self._lead
        pcm = block.pcm
        if at > self.written + TOLERANCE:  # a gap: silence until the block
            self._fill_to(at)
        elif at < self.written - TOLERANCE:  # late or overlapping: what is already written wins
            pcm = pcm[self.written - at:]
        self._write(pcm)

    def _fill_to(self, sample: int) -> None:
        if self._end is not None:
            sample = min(sample, self._end - self._lead)
        if sample > self.written:
            self.silence += sample - self.written
            self._write(np.zeros(sample - self.written, np.int16))

    def _write(self, pcm: np.ndarray) -> None:
        if self._end is not None:
            pcm = pcm[:max(0, self._end - self._lead - self.written)]
        data = np.ascontiguousarray(pcm, dtype=np.int16).data.cast("B")
        while data:
            done = os.write(self._fd, data)
            data = data[done:]
        self.written += len(pcm)

    def _note_lost(self) -> None:
        if self.microphone.failed and not self._said_lost:
            self._said_lost = True
            log.warning("%s: the recording goes on without sound", self.microphone.failed)
