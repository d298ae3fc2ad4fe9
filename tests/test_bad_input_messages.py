"""Bad input and headless use end in one clear message (exit 2), never a hang, a traceback, or a
screen of OpenCV's own warnings. The real command in a subprocess, with its own user dirs."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest
from processes import after, signal_when
from test_recorder import can_mount, mounted_tmpfs

FAKE_VCAM = "faceblur_cam.sinks.fake_vcam:FakeCameraBackend"
OPENCV_NOISE = ("[ WARN", "[ERROR", "VIDEOIO", "global cap", " @ 0x")


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    """Own user dirs (lock, log), no display."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("XDG_", "OPENCV_")) and k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    for kind in ("RUNTIME_DIR", "STATE_HOME", "CONFIG_HOME", "CACHE_HOME", "DATA_HOME"):
        folder = tmp_path / "xdg" / kind.lower()
        folder.mkdir(parents=True, mode=0o700)
        env[f"XDG_{kind}"] = str(folder)
    return env


def faceblur(env: dict[str, str], *args: str | Path, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "faceblur_cam", *map(str, args)], capture_output=True,
                          text=True, timeout=timeout, env=env)


def small_clip(path: Path, frames: int = 30, wh: tuple[int, int] = (128, 96)) -> Path:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"mp4v"), 30.0, wh)
    rng = np.random.default_rng(0)
    for _ in range(frames):
        writer.write(rng.integers(0, 256, (wh[1], wh[0], 3), dtype=np.uint8))
    writer.release()
    return path


def one_clear_line(result: subprocess.CompletedProcess[str], *words: str) -> None:
    assert result.returncode == 2, (result.returncode, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "unexpected error" not in lines[0] and "Traceback" not in lines[0]
    for word in words:
        assert word in lines[0]


@pytest.fixture
def unreadable(tmp_path: Path) -> Iterator[dict[str, Path]]:
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    text = tmp_path / "notes.mp4"
    text.write_text("not a video\n" * 100)
    folder = tmp_path / "no-images"
    folder.mkdir()
    (folder / "readme.txt").write_text("hello")
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "0001.jpg").write_bytes(b"\xff\xd8 not really a jpeg")
    yield {"zero bytes": empty, "text": text, "empty folder": folder, "broken image": broken}


@pytest.mark.parametrize("kind", ["zero bytes", "text", "empty folder", "broken image"])
def test_run_on_an_unreadable_source_exits_2_with_a_message(env, unreadable, kind: str) -> None:
    source = unreadable[kind]
    result = faceblur(env, "run", "--no-tray", "--source", source, "--vcam-backend", FAKE_VCAM, timeout=120)
    one_clear_line(result, source.name)


def test_opencv_is_quiet_unless_verbose(env, tmp_path: Path) -> None:
    """A camera that is not there: our one message, not OpenCV's dozen lines per retry."""
    def run(*extra: str) -> str:
        proc = subprocess.Popen([sys.executable, "-m", "faceblur_cam", "run", "--no-tray", "--source", "9",
                                 "--vcam-backend", FAKE_VCAM, *extra], env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        return signal_when(proc, after(6), "six seconds of retries")

    quiet = run()
    assert not [line for line in quiet.splitlines() if any(n in line for n in OPENCV_NOISE)], quiet
    loud = run("--verbose")
    assert any(n in loud for n in OPENCV_NOISE), "the test would not see OpenCV's warnings"


def test_process_on_a_damaged_video_prints_no_decoder_noise(env, tmp_path: Path) -> None:
    clip = small_clip(tmp_path / "v.mp4", frames=90)
    data = bytearray(clip.read_bytes())
    middle = len(data) // 2
    data[middle:middle + 3000] = np.random.default_rng(1).integers(0, 256, 3000, dtype=np.uint8).tobytes()
    clip.write_bytes(bytes(data))
    result = faceblur(env, "process", clip, "-o", tmp_path / "out.mp4")
    assert result.returncode == 0, result.stderr
    assert not [line for line in result.stderr.splitlines() if any(n in line for n in OPENCV_NOISE)], \
        result.stderr


def test_preview_as_the_only_output_without_a_display_exits_2(env, tmp_path: Path) -> None:
    clip = small_clip(tmp_path / "v.mp4")
    result = faceblur(env, "run", "--no-tray", "--no-virtual-camera", "--preview", "--source", clip, timeout=120)
    one_clear_line(result, "no display")


@pytest.mark.skipif(not can_mount(), reason="needs root to mount a read-only tmpfs")
def test_png_output_into_a_read_only_folder_is_one_line(env, tmp_path: Path) -> None:
    images = tmp_path / "imgs"
    images.mkdir()
    cv2.imwrite(str(images / "a.png"), np.zeros((64, 64, 3), np.uint8))
    with mounted_tmpfs(tmp_path / "ro", "ro,size=1m") as ro:
        for out in (ro, ro / "sub"):
            result = faceblur(env, "process", images, "-o", out)
            one_clear_line(result, str(ro))


def test_headless_recording_says_where_and_how_to_stop(env, tmp_path: Path) -> None:
    clip = small_clip(tmp_path / "v.mp4")
    folder = tmp_path / "recordings"
    out_file = tmp_path / "stdout.txt"
    with out_file.open("w") as stdout:
        proc = subprocess.Popen([sys.executable, "-m", "faceblur_cam", "run", "--no-tray", "--no-virtual-camera",
                                 "--record", "--record-dir", str(folder), "--source", str(clip)],
                                env=env, stdout=stdout, stderr=subprocess.PIPE, text=True)
        err = signal_when(proc, lambda: "Ctrl+C" in out_file.read_text(), "a word about the recording")
    assert proc.returncode == 0, err
    said = out_file.read_text()
    (recording,) = folder.glob("*.mp4")
    assert f"Recording to {recording}" in said
    assert shutil.which("ffprobe") is None or subprocess.run(
        ["ffprobe", "-v", "error", str(recording)], capture_output=True).returncode == 0
