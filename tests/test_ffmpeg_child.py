"""``FfmpegChild`` with the real ffmpeg (imageio-ffmpeg's): a normal finish gives a playable MP4;
ffmpeg dying mid-feed is a clear error carrying what it said; and on every way out (an exception
in the owner's body, a hung ffmpeg, a kill from another thread) no process is left, not even a
zombie: checked by pid in /proc.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from test_recorder import WH, decode, decode_errors, nearest, pattern, probe

from faceblur_cam.recording import ffmpeg_child
from faceblur_cam.recording.encoders import find_encoder
from faceblur_cam.recording.ffmpeg_child import FfmpegChild, FfmpegStopped
from faceblur_cam.sinks import SinkError

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="checks processes through /proc")
THREAD = "test-ffmpeg-child"


def i420(k: int) -> memoryview:
    import cv2

    return np.ascontiguousarray(cv2.cvtColor(pattern(k), cv2.COLOR_BGR2YUV_I420)).data


def command(path: Path) -> list[str]:
    """What recordings run: raw I420 frames of ``WH`` at 30 fps to a fragmented H.264 MP4."""
    return find_encoder().command(WH, 30, path)


def process_left(pid: int) -> str | None:
    """The state of process ``pid`` ("R", "S", "T", "Z" for a zombie...), None when it is gone."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return None


def reader_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith(THREAD)]


def test_a_normal_finish_gives_a_playable_mp4_with_every_frame(tmp_path: Path) -> None:
    path = tmp_path / "out.mp4"
    with FfmpegChild(command(path), str(path), thread_name=THREAD) as child:
        for k in range(45):
            child.write(i420(k))
        code = child.finish(timeout=120)

    assert code == 0 == child.returncode
    assert process_left(child.pid) is None and reader_threads() == []
    info = probe(path)
    assert info["codec"] == "h264" and info["frames"] == 45
    assert decode_errors(path) == ""
    shown = [nearest(image, [pattern(k) for k in range(45)]) for image in decode(path)]
    assert [k for k, _ in shown] == list(range(45)) and min(score for _, score in shown) > 30


def test_ffmpeg_dying_mid_feed_is_a_clear_error_with_what_it_said_and_no_zombie() -> None:
    """/dev/full: ffmpeg takes the first frames, then fails writing ("No space left on device")."""
    child = FfmpegChild(command(Path("/dev/full")), "/dev/full", thread_name=THREAD)
    with child, pytest.raises(FfmpegStopped) as stopped:
        for k in range(3000):  # far more than the pipe holds: a write must fail
            child.write(i420(k))

    error = stopped.value
    assert isinstance(error, SinkError)  # an owner that does not word its own still has a message
    assert error.code == child.returncode and error.code > 0
    assert any("No space left on device" in line for line in error.tail), error.tail
    assert str(error).startswith(f"ffmpeg exited with code {error.code}: ") and error.tail[-1] in str(error)
    assert process_left(child.pid) is None, "ffmpeg was left behind"
    assert reader_threads() == []


def test_an_exception_in_the_owners_body_still_finishes_the_file(tmp_path: Path) -> None:
    path = tmp_path / "out.mp4"
    with pytest.raises(RuntimeError, match="the owner failed"):
        with FfmpegChild(command(path), str(path), thread_name=THREAD) as child:
            for k in range(40):
                child.write(i420(k))
            raise RuntimeError("the owner failed")

    assert process_left(child.pid) is None, "ffmpeg was left behind"
    assert child.returncode == 0  # it was given the end of its input, not killed
    assert probe(path)["frames"] == 40 and decode_errors(path) == ""


def test_a_hung_ffmpeg_is_killed_when_its_cap_runs_out(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ffmpeg_child, "CLOSE_WAIT_S", 1.0)
    path = tmp_path / "out.mp4"
    started = time.monotonic()
    with pytest.raises(RuntimeError, match="the owner failed"):
        with FfmpegChild(command(path), str(path), thread_name=THREAD) as child:
            child.write(i420(0))
            os.kill(child.pid, signal.SIGSTOP)  # frozen: it would never finish
            raise RuntimeError("the owner failed")

    assert child.returncode == -signal.SIGKILL
    assert process_left(child.pid) is None
    assert time.monotonic() - started < 60  # the cap, not a hang (generous: a loaded machine)


def test_kill_from_another_thread_unblocks_a_write_stuck_on_a_full_pipe(tmp_path: Path) -> None:
    """What a recorder's ``close`` does when its encoder stopped taking frames."""
    path = tmp_path / "out.mp4"
    child = FfmpegChild(command(path), str(path), thread_name=THREAD)
    os.kill(child.pid, signal.SIGSTOP)
    outcome: list[BaseException] = []
    written = threading.Event()

    def feed() -> None:
        try:
            for k in range(1000):  # the pipe fills after a few frames, and the write blocks
                child.write(i420(k))
                written.set()
        except FfmpegStopped as exc:
            outcome.append(exc)

    feeder = threading.Thread(target=feed, daemon=True)
    feeder.start()
    assert written.wait(60)
    assert feeder.is_alive()  # nobody reads the pipe: blocked in a write, or about to be
    assert child.kill() == -signal.SIGKILL
    feeder.join(60)
    assert not feeder.is_alive() and len(outcome) == 1, outcome
    assert "killed by signal 9" in str(outcome[0])
    child.close()
    assert process_left(child.pid) is None and reader_threads() == []


def test_an_ffmpeg_that_cannot_start_is_a_sink_error(tmp_path: Path) -> None:
    missing = tmp_path / "no-ffmpeg"
    with pytest.raises(SinkError, match=f"cannot start the video encoder \\({missing}\\)"):
        FfmpegChild([str(missing), "-version"], "nothing", thread_name=THREAD)


def test_a_recorder_failing_part_way_through_starting_leaves_no_ffmpeg_and_no_file(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Its ffmpeg has started when its threads fail to: the recorder's ExitStack kills it."""
    from faceblur_cam.recording.recorder import Mp4Recorder

    pids: list[int] = []

    def no_threads(recorder: Mp4Recorder) -> None:
        pids.append(recorder.pid)
        raise RuntimeError("can't start new thread")

    monkeypatch.setattr(Mp4Recorder, "_start_threads", no_threads)
    with pytest.raises(RuntimeError, match="can't start new thread"):
        Mp4Recorder.in_folder(tmp_path, WH, 30)
    assert len(pids) == 1 and process_left(pids[0]) is None, "ffmpeg was left behind"
    assert list(tmp_path.iterdir()) == []  # the reserved file is removed too
    assert reader_threads() == [] and not [t for t in threading.enumerate() if t.name == "faceblur-rec-log"]
