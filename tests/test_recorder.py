"""Mp4Recorder on real files: codec, pixel format, frame count, timing, content, metadata,
back-pressure, and the clean stops (folder not writable, disk full, no encoder).

Frames are synthetic and small (the properties checked here do not depend on size); every file
is checked with ffprobe and decoded with OpenCV. The end-to-end runs through ``faceblur-cam run``
(real pipeline, fake virtual camera, SIGKILL) are in ``test_recorder_e2e.py``.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import socket
import stat
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import cv2
import numpy as np
import pytest

from faceblur_cam.frames import FrameKind, PublishedFrame
from faceblur_cam.recording.encoders import Encoder, EncoderMissing, encoder_available, find_encoder, find_ffmpeg
from faceblur_cam.recording.files import new_recording_path
from faceblur_cam.recording.recorder import Mp4Recorder
from faceblur_cam.recording.slot_clock import SlotClock
from faceblur_cam.sinks import SinkError

WH = (160, 120)
needs_ffprobe = pytest.mark.skipif(
    shutil.which("ffprobe") is None,
    reason="ffprobe missing: apt-get install ffmpeg (tests/apt-packages.txt)",
)
pytestmark = needs_ffprobe


# ----------------------------------------------------------------------------- helpers
def ffprobe_json(path: Path, *options: str) -> dict:
    """``ffprobe -v error -select_streams v:0 OPTIONS -of json PATH``, parsed."""
    out = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "v:0", *options, "-of", "json", str(path)],
                         capture_output=True, text=True, check=True, timeout=60)
    return json.loads(out.stdout)  # type: ignore[no-any-return]


def probe(path: Path) -> dict:
    """ffprobe's view of the first video stream and the container (frames counted by decoding)."""
    data = ffprobe_json(path, "-count_frames", "-show_format", "-show_streams")
    stream = data["streams"][0]
    return {
        "codec": stream["codec_name"],
        "tag": stream.get("codec_tag_string"),
        "pix_fmt": stream.get("pix_fmt"),
        "frames": int(stream["nb_read_frames"]),
        "duration": float(data["format"]["duration"]),
        "format_tags": data["format"].get("tags", {}),
        "stream_tags": stream.get("tags", {}),
    }


def decode_errors(path: Path) -> str:
    """What ffmpeg complains about when decoding the whole file ("" for a clean file)."""
    return subprocess.run(
        ["ffmpeg", "-v", "error", "-i", str(path), "-f", "null", "-"],
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
    ).stderr.strip()


def keyframe_times(path: Path) -> list[float]:
    frames = ffprobe_json(path, "-show_entries", "frame=key_frame,pts_time")["frames"]
    return [float(f["pts_time"]) for f in frames if f["key_frame"] == 1]


def decode(path: Path) -> list[np.ndarray]:
    cap = cv2.VideoCapture(str(path))
    frames = []
    while True:
        ok, image = cap.read()
        if not ok:
            break
        frames.append(image)
    cap.release()
    return frames


def top_level_boxes(path: Path) -> list[str]:
    """The MP4 box types at the top level, in file order."""
    data, types, pos = path.read_bytes(), [], 0
    while pos + 8 <= len(data):
        size = int.from_bytes(data[pos : pos + 4], "big")
        types.append(data[pos + 4 : pos + 8].decode("latin-1"))
        if size == 1:
            size = int.from_bytes(data[pos + 8 : pos + 16], "big")
        if size < 8:
            break
        pos += size
    return types


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float32) - b.astype(np.float32)) ** 2))
    return 99.0 if mse == 0 else 10 * np.log10(255.0**2 / mse)


def nearest(image: np.ndarray, candidates: list[np.ndarray]) -> tuple[int, float]:
    """Index of the candidate closest to ``image`` and its PSNR."""
    scores = [psnr(image, c) for c in candidates]
    best = int(np.argmax(scores))
    return best, scores[best]


def pattern(k: int, wh: tuple[int, int] = WH) -> np.ndarray:
    """Frame ``k``: a distinct colour and a bright square whose place encodes ``k``."""
    w, h = wh
    image = np.empty((h, w, 3), np.uint8)
    image[:] = ((k * 53) % 200 + 20, (k * 97) % 200 + 20, (k * 31) % 200 + 20)
    x, y = (k * 24) % (w - 32), (k // ((w - 32) // 24 + 1) * 24) % (h - 32)
    image[y : y + 32, x : x + 32] = 255 - image[0, 0]
    return image


def published(k: int, t: float, wh: tuple[int, int] = WH) -> PublishedFrame:
    return PublishedFrame(image=pattern(k, wh), t=t, kind=FrameKind.REDACTED)


def record(
    folder: Path, times: list[float], fps: float = 30.0, encoder: Encoder | None = None
) -> Mp4Recorder:
    """Frames ``pattern(k)`` captured at ``times``, sent as fast as possible: the queue is made
    big enough to hold them all (back-pressure has its own test)."""
    recorder = Mp4Recorder(
        new_recording_path(folder), WH, fps, encoder, queue_frames=len(times) + 1
    )
    for k, t in enumerate(times):
        recorder.send(published(k, t))
    recorder.close()
    return recorder


@contextmanager
def mounted_tmpfs(path: Path, options: str) -> Iterator[Path]:
    path.mkdir(parents=True, exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(path)], check=True)
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def can_mount() -> bool:
    return os.geteuid() == 0 and shutil.which("mount") is not None


# ----------------------------------------------------------------------------- the file
def test_records_h264_yuv420p_fragmented_with_every_frame_in_order(tmp_path: Path) -> None:
    recorder = record(tmp_path, [k / 30 for k in range(45)])

    info = probe(recorder.path)
    assert info["codec"] == "h264" and info["pix_fmt"] == "yuv420p"
    assert info["frames"] == 45 == recorder.frames_written
    assert decode_errors(recorder.path) == ""
    assert info["duration"] == pytest.approx(1.5, rel=0.05)
    boxes = top_level_boxes(recorder.path)
    assert boxes[:2] == ["ftyp", "moov"] and boxes.count("moof") >= 2, boxes  # fragmented
    assert keyframe_times(recorder.path) == pytest.approx([0.0, 1.0])  # a keyframe every second
    decoded = decode(recorder.path)
    sent = [pattern(k) for k in range(45)]
    matches = [nearest(image, sent) for image in decoded]
    assert [index for index, _ in matches] == list(range(45))
    assert min(score for _, score in matches) > 30


def test_timing_comes_from_capture_time_not_the_frame_count(tmp_path: Path) -> None:
    """A pipeline at 24 fps into a 30 fps file: 3 s of frames make a 3 s file, each slot showing
    the newest frame captured by then (repeats fill the slots without a new frame)."""
    times = [k / 24 for k in range(72)]
    recorder = record(tmp_path, times, fps=30)

    info = probe(recorder.path)
    assert info["duration"] == pytest.approx(3.0, rel=0.05)
    assert info["frames"] == 90
    sent = [pattern(k) for k in range(72)]
    shown = [nearest(image, sent)[0] for image in decode(recorder.path)]
    expected = [max(k for k, t in enumerate(times) if round(t * 30) <= slot) for slot in range(90)]
    assert shown == expected


@pytest.mark.parametrize(
    ("times", "slots"),
    [
        ([0.0, 1 / 30, 2 / 30], [0, 1, 2]),  # on time
        (
            [0.0, 0.01, 0.02, 1 / 30],
            [0, 0, 1, 1],
        ),  # faster than the file: the newest in a slot wins
        ([0.0, 0.1], [0, 3]),  # slower: the gap is held
        ([1.0, 0.9, 1.1], [0, 0, 3]),  # a time going backwards never moves a slot back
        ([0.0, 1 / 30, 60.0, 60 + 1 / 30], [0, 1, 2, 3]),  # a minute without frames is cut out
    ],
)
def test_slot_clock(times: list[float], slots: list[int]) -> None:
    clock = SlotClock(30, max_gap_s=5)
    assert [clock.slot(t) for t in times] == slots


def test_no_identifying_metadata(tmp_path: Path) -> None:
    recorder = record(tmp_path, [k / 30 for k in range(10)])

    info = probe(recorder.path)
    assert set(info["format_tags"]) <= {"major_brand", "minor_version", "compatible_brands"}
    assert "creation_time" not in info["stream_tags"]
    assert set(info["stream_tags"]) <= {"language", "handler_name", "vendor_id", "encoder"}
    data = recorder.path.read_bytes()
    hostname = socket.gethostname()
    for secret in {hostname if len(hostname) > 4 else "", str(tmp_path), "Lavf"} - {""}:
        assert secret.encode() not in data, secret


def test_file_names_are_timestamped_and_never_overwrite(tmp_path: Path) -> None:
    from datetime import datetime

    now = datetime(2026, 11, 26, 9, 15, 2)
    first, second = new_recording_path(tmp_path, now), new_recording_path(tmp_path, now)
    assert first.name == "FaceBlur Cam 2026-11-26 09-15-02.mp4"
    assert second.name == "FaceBlur Cam 2026-11-26 09-15-02 (2).mp4"


# ----------------------------------------------------------------------------- never stalls
def test_send_never_waits_for_a_stuck_encoder_and_counts_drops(tmp_path: Path, caplog) -> None:
    """With ffmpeg frozen (SIGSTOP) the pipe and the queue fill up; ``send`` still returns at
    once, drops are counted and logged, and the dropped slots are held so the length is right."""
    caplog.set_level(logging.WARNING, "faceblur_cam.recording.recorder")
    recorder = Mp4Recorder.in_folder(tmp_path, WH, 30)
    os.kill(recorder.pid, signal.SIGSTOP)
    try:
        started = time.monotonic()
        for k in range(150):
            recorder.send(published(k, k / 30))
        sending = time.monotonic() - started
    finally:
        os.kill(recorder.pid, signal.SIGCONT)
    recorder.close()

    assert sending < 5, "send blocked on the encoder"  # blocking would hang until SIGCONT
    assert recorder.dropped > 0
    assert any("frames dropped" in r.getMessage() for r in caplog.records)
    info = probe(recorder.path)
    assert info["frames"] == recorder.frames_written
    assert info["duration"] == pytest.approx(150 / 30, rel=0.05)


# ----------------------------------------------------------------------------- clean stops
@pytest.fixture
def read_only_folder(tmp_path: Path) -> Iterator[Path]:
    if can_mount():
        with mounted_tmpfs(tmp_path / "ro", "ro,size=64k") as folder:
            yield folder
    else:
        folder = tmp_path / "ro"
        folder.mkdir()
        folder.chmod(stat.S_IRUSR | stat.S_IXUSR)
        yield folder
        folder.chmod(stat.S_IRWXU)


def test_unwritable_folder_is_a_clear_error_before_recording(read_only_folder: Path) -> None:
    with pytest.raises(SinkError, match="cannot write recordings to .*choose another folder"):
        Mp4Recorder.in_folder(read_only_folder, WH, 30)
    assert list(read_only_folder.iterdir()) == []


@pytest.mark.skipif(not can_mount(), reason="needs root to mount a small tmpfs")
def test_disk_full_stops_with_a_message_and_leaves_a_playable_file(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    with mounted_tmpfs(tmp_path / "small", "size=2m") as folder:
        recorder = Mp4Recorder.in_folder(folder, WH, 30)
        with pytest.raises(SinkError) as failure:
            for k in range(3000):  # noise does not compress: 2 MB hold a few 1 s fragments
                frame = PublishedFrame(
                    rng.integers(0, 256, (WH[1], WH[0], 3), np.uint8), k / 30, FrameKind.REDACTED
                )
                recorder.send(frame)
                time.sleep(0.002)
        recorder.close()
        assert "disk is full" in str(failure.value) and str(recorder.path) in str(failure.value)
        info = probe(recorder.path)
        assert info["codec"] == "h264" and info["frames"] >= 1
        assert len(decode(recorder.path)) == info["frames"]
        assert decode_errors(recorder.path) == ""  # the unfinished last fragment was cut


def test_encoder_killed_mid_recording_stops_cleanly_and_keeps_whole_fragments(
    tmp_path: Path,
) -> None:
    recorder = Mp4Recorder.in_folder(tmp_path, WH, 30)
    for k in range(75):  # 2.5 s of frames: two whole fragments and part of a third
        recorder.send(published(k, k / 30))
        time.sleep(0.005)
    wait_until = time.monotonic() + 10
    while recorder.path.stat().st_size < 2000 and time.monotonic() < wait_until:
        time.sleep(0.05)
    os.kill(recorder.pid, signal.SIGKILL)
    with pytest.raises(SinkError, match="the video encoder stopped .*saved in"):
        for k in range(75, 1000):
            recorder.send(published(k, k / 30))
            time.sleep(0.005)
    recorder.close()
    info = probe(recorder.path)
    assert info["codec"] == "h264" and info["frames"] >= 30
    assert decode_errors(recorder.path) == ""


def test_no_ffmpeg_is_a_clear_error(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("IMAGEIO_FFMPEG_EXE", str(tmp_path / "no-ffmpeg"))
    monkeypatch.setenv("PATH", str(tmp_path))
    ok, message = encoder_available()
    assert not ok and "ffmpeg" in message and "install" in message
    with pytest.raises(EncoderMissing, match="recording needs ffmpeg"):
        Mp4Recorder.in_folder(tmp_path / "out", WH, 30)
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_without_h264_it_falls_back_to_mp4v_with_a_warning(tmp_path: Path, caplog) -> None:
    real = find_ffmpeg()
    assert real
    wrapper = tmp_path / "ffmpeg-without-h264"
    wrapper.write_text(  # a real ffmpeg that hides its H.264 encoders
        "#!/bin/sh\n"
        f'if [ "$2" = -encoders ]; then \'{real}\' "$@" | grep -v -e libx264 -e openh264; '
        f"else exec '{real}' \"$@\"; fi\n"
    )
    wrapper.chmod(0o755)
    caplog.set_level(logging.WARNING, "faceblur_cam.recording.encoders")

    encoder = find_encoder(str(wrapper))
    assert encoder.codec == "mpeg4" and not encoder.h264
    assert any("no H.264 encoder" in r.getMessage() for r in caplog.records)
    recorder = record(tmp_path / "out", [k / 30 for k in range(30)], encoder=encoder)
    info = probe(recorder.path)
    assert (info["codec"], info["tag"], info["pix_fmt"], info["frames"]) == (
        "mpeg4",
        "mp4v",
        "yuv420p",
        30,
    )


def test_encoder_available_names_h264() -> None:
    ok, message = encoder_available()
    assert ok and message.startswith("H.264 (libx264)")
