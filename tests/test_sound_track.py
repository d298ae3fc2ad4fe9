"""The recording's sound pipe (``SoundTrackWriter``), without a sound card: a microphone that
delivers nothing (the track is silence filled in) and the pipe read here instead of by ffmpeg."""

from __future__ import annotations

import os
import select
import time

from faceblur_cam.recording.sound_track import AAC_LEAD, SAMPLE_RATE, SoundTrackWriter
from faceblur_cam.sources.microphone import SoundBlock

CAP_S = 60.0  # a loaded 2-core machine takes well under a second


class QuietMicrophone:
    """Stands in for ``Microphone``: nothing captured, never fails."""

    failed: str | None = None
    closed = False

    def take(self) -> list[SoundBlock]:
        return []

    def close(self) -> None:
        self.closed = True


def read_to_end(fd: int, cap_s: float) -> tuple[int, bool]:
    """Bytes read from ``fd`` within ``cap_s``, and whether its end (EOF) came."""
    total, deadline = 0, time.monotonic() + cap_s
    while (left := deadline - time.monotonic()) > 0:
        ready, _, _ = select.select([fd], [], [], left)
        if not ready:
            break
        chunk = os.read(fd, 65536)
        if not chunk:
            return total, True
        total += len(chunk)
    return total, False


def test_the_pipe_ends_by_itself_once_the_track_is_written_to_its_end() -> None:
    """The voice disguise's filter holds the last moment of sound until its input ends, and ffmpeg
    then stops reading video: a pipe left open until ``finish`` (after the last video frame is
    taken) hung every stop of a disguised recording for 30 s. Once the end is set and written up
    to, the reader sees the end of the pipe without ``finish``."""
    microphone = QuietMicrophone()
    origin = time.monotonic() - 10  # the silence is due well past the end at once
    writer = SoundTrackWriter(microphone, origin=lambda: origin)  # type: ignore[arg-type]
    assert writer.read_fd is not None
    reader = os.dup(writer.read_fd)  # start() closes the read end ffmpeg would have inherited
    try:
        writer.end_at(1.0)
        writer.start()
        total, ended = read_to_end(reader, CAP_S)
        assert ended, "the sound pipe stayed open after the track was complete"
        assert total == (SAMPLE_RATE - AAC_LEAD) * 2  # int16: one second, less the encoder's lead
        assert not microphone.closed  # finish() still closes the microphone, not the thread
    finally:
        writer.finish(1.0)
        os.close(reader)
    assert microphone.closed


def test_without_an_end_the_pipe_stays_open_while_the_recording_runs() -> None:
    microphone = QuietMicrophone()
    origin = time.monotonic() - 10
    writer = SoundTrackWriter(microphone, origin=lambda: origin)  # type: ignore[arg-type]
    assert writer.read_fd is not None
    reader = os.dup(writer.read_fd)
    try:
        writer.start()
        total, ended = read_to_end(reader, 1.0)
        assert not ended and total > 0  # the silence up to now, and more to come
        writer.finish(total / 2 / SAMPLE_RATE + 0.5)
        rest, ended = read_to_end(reader, CAP_S)
        assert ended
        assert total + rest == (round((total / 2 / SAMPLE_RATE + 0.5) * SAMPLE_RATE) - AAC_LEAD) * 2
    finally:
        writer.finish(0)
        os.close(reader)
