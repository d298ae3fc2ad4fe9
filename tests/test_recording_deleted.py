"""A recording whose file or folder is deleted while it records says so and stops; the live feed
goes on. Before: no message at all, and the log said "recording saved" for a file that no
longer existed (ffmpeg writes on, without an error, into the deleted file).

The real recorder with a real ffmpeg; then the real engine on a real clip, publishing to the
fake virtual camera.
"""

from __future__ import annotations

import logging
import shutil
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from test_recorder import WH, published

from faceblur_cam.config import CameraConfig, Config, RecordingConfig
from faceblur_cam.engine import EngineState, EngineStatus, RecordingFailed
from faceblur_cam.recording.recorder import FILE_CHECK_INTERVAL_S, Mp4Recorder
from faceblur_cam.sinks import SinkError

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="Windows does not let an open file be deleted")


def wait_for(condition: Callable[[], object], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.02)


def test_a_deleted_folder_fails_the_next_check_with_a_message(tmp_path: Path, caplog) -> None:
    folder = tmp_path / "Videos" / "FaceBlur Cam"
    recorder = Mp4Recorder.in_folder(folder, WH, 30)
    caplog.set_level(logging.INFO, logger="faceblur_cam.recording.recorder")
    for k in range(10):
        recorder.send(published(k, k / 30))
    wait_for(lambda: recorder.frames_written > 0, 60, "the first frames to be written")
    shutil.rmtree(folder)
    recorder.send(published(10, 10 / 30))  # within the check interval: not looked at yet
    with pytest.raises(SinkError) as failure:
        recorder.send(published(11, 10 / 30 + FILE_CHECK_INTERVAL_S))
    message = str(failure.value)
    assert f"the folder {folder} was deleted while recording" in message and "start recording again" in message
    with pytest.raises(SinkError, match="was deleted"):
        recorder.send(published(12, 1.0))
    recorder.close()
    assert "recording saved" not in caplog.text
    assert f"recording {recorder.path} was not saved" in caplog.text
    assert not folder.exists()  # nothing re-created behind the user's back


def test_a_deleted_file_found_when_stopping_is_not_called_saved(tmp_path: Path, caplog) -> None:
    recorder = Mp4Recorder.in_folder(tmp_path, WH, 30)
    caplog.set_level(logging.INFO, logger="faceblur_cam.recording.recorder")
    for k in range(5):
        recorder.send(published(k, k / 30))
    wait_for(lambda: recorder.frames_written > 0, 60, "the first frames to be written")
    recorder.path.unlink()
    recorder.close()  # stopped before the next check
    assert "recording saved" not in caplog.text
    assert f"the file {recorder.path} was deleted while recording" in caplog.text


def test_a_recording_left_alone_is_saved_and_checked_all_along(tmp_path: Path, caplog) -> None:
    recorder = Mp4Recorder.in_folder(tmp_path, WH, 30)
    caplog.set_level(logging.INFO, logger="faceblur_cam.recording.recorder")
    for k in range(60):  # 2 s of capture time: four checks
        recorder.send(published(k, k / 30))
    recorder.close()
    assert "recording saved" in caplog.text and recorder.path.stat().st_size > 1000


@pytest.mark.e2e
def test_deleting_the_recordings_folder_stops_the_recording_not_the_call(eval_dir: Path, tmp_path: Path) -> None:
    from faceblur_cam.app import build_engine
    from faceblur_cam.sinks.fake_vcam import FakeCameraBackend, register
    from faceblur_cam.sinks.vcam import VirtualCameraSink

    folder = tmp_path / "recordings"
    config = Config(camera=CameraConfig(source=str(eval_dir / "otb_girl" / "img"), width=128, height=96),
                    recording=RecordingConfig(folder=str(folder)))
    engine = build_engine(config, [VirtualCameraSink((128, 96), 30, backend=register())])
    events: list[EngineStatus] = []
    try:
        engine.start()
        wait_for(lambda: engine.status().state is EngineState.PROTECTING, 60, "protection to start")
        camera = FakeCameraBackend.instances[-1]
        engine.subscribe(events.append)
        engine.start_recording()
        wait_for(lambda: engine.status().recording and any(folder.glob("*.mp4")), 60, "the recording")
        time.sleep(1.0)
        shutil.rmtree(folder)
        wait_for(lambda: not engine.status().recording, 60, "the recording to notice")
        failed = [s for s in events if isinstance(s.event, RecordingFailed)]
        assert failed and "was deleted while recording" in failed[-1].message, [s.message for s in events]
        assert str(folder) in failed[-1].message
        assert engine.status().state is EngineState.PROTECTING
        before = camera.sent
        wait_for(lambda: camera.sent - before >= 10, 60, "the live feed to go on (10 more frames)")
        engine.start_recording()  # a new recording makes the folder again
        wait_for(lambda: engine.status().recording and any(folder.glob("*.mp4")), 60, "a new recording")
    finally:
        engine.quit()
        engine.wait(15)


def test_a_folder_deleted_before_the_encoder_opened_the_file_says_so(tmp_path: Path, caplog) -> None:
    """The same deletion a moment earlier, before ffmpeg has opened the file (a loaded machine):
    ffmpeg stops with "No such file or directory". The message says the folder was deleted, not
    "the video encoder stopped ...; the recording so far is saved in" a file that never existed
    (what a clean-clone run on a busy machine reported)."""
    folder = tmp_path / "Videos" / "FaceBlur Cam"
    recorder = Mp4Recorder.in_folder(folder, WH, 30)
    caplog.set_level(logging.INFO, logger="faceblur_cam.recording.recorder")
    recorder.send(published(0, 0.0))  # the folder is checked: there; ffmpeg is still starting
    shutil.rmtree(folder)
    message = ""
    deadline = time.monotonic() + 120
    k = 1
    while not message:  # frames within the check interval: only the encoder can notice
        assert time.monotonic() < deadline, "the recorder never noticed the deleted folder"
        try:
            recorder.send(published(k, 0.5 * FILE_CHECK_INTERVAL_S * k / (k + 1)))
        except SinkError as exc:
            message = str(exc)
        k += 1
        time.sleep(0.01)
    recorder.close()
    assert f"the folder {folder} was deleted while recording" in message, message
    assert "is saved in" not in message and "recording saved" not in caplog.text
    assert not folder.exists()
