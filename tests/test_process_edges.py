"""``faceblur-cam process`` at the edges (issue 24): options that would do nothing are refused,
unknown output extensions are refused, bad inputs get a sentence (never "unexpected error"),
a full disk leaves a playable video and whole ``--boxes`` lines, and outputs carry no encoder
fingerprints.

Real files made here with ffmpeg, the real command in a subprocess, outputs checked with
ffprobe and by grepping their bytes.
"""

from __future__ import annotations

import json
import os
import shutil
import struct
import subprocess
import sys
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(shutil.which("ffprobe") is None, reason="ffprobe (apt ffmpeg) missing")

FINGERPRINTS = (b"x264 - core", b"Lavc", b"libx264")


def ffmpeg() -> str:
    import imageio_ffmpeg

    return str(imageio_ffmpeg.get_ffmpeg_exe())


def faceblur(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "faceblur_cam", *map(str, args)], capture_output=True,
                          text=True, timeout=300, cwd=cwd)


def make_video(path: Path, seconds: float = 2.0, size: str = "160x120", noise: bool = False,
               audio: bool = True) -> Path:
    picture = (f"nullsrc=s={size}:r=30:d={seconds},geq=random(1)*255:128:128" if noise
               else f"testsrc=size={size}:rate=30:duration={seconds}")
    cmd = [ffmpeg(), "-v", "error", "-y", "-f", "lavfi", "-i", picture]
    if audio:  # made bitexact: its own bitstream carries no "Lavc" that a copy would keep
        cmd += ["-f", "lavfi", "-i", f"sine=d={seconds}", "-c:a", "aac", "-flags:a", "+bitexact"]
    cmd += ["-c:v", "libx264", "-pix_fmt", "yuv420p", *(["-crf", "0"] if noise else []), str(path)]
    subprocess.run(cmd, check=True, timeout=120)
    return path


def refused(result: subprocess.CompletedProcess[str], *words: str) -> None:
    assert result.returncode == 2, (result.returncode, result.stderr)
    assert "Traceback" not in result.stderr and "unexpected error" not in result.stderr, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    for word in words:
        assert word in result.stderr, result.stderr


def probe(path: Path) -> dict:
    result = subprocess.run(["ffprobe", "-v", "error", "-count_frames", "-show_format", "-show_streams", "-of",
                             "json", str(path)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.fixture(scope="module")
def video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_video(tmp_path_factory.mktemp("in") / "in.mp4")


# ------------------------------------------------------------------ 1: options that do nothing
@pytest.mark.parametrize("flags", [("--voice-pitch", "3"), ("--voice-formant", "-4"),
                                   ("--voice", "keep", "--voice-pitch", "-5")])
def test_voice_shift_without_disguise_is_refused(tmp_path: Path, video: Path, flags: tuple[str, ...]) -> None:
    result = faceblur("process", video, "-o", tmp_path / "o.mp4", *flags)
    refused(result, "--voice disguise", "original voice")
    assert not (tmp_path / "o.mp4").exists()


@pytest.mark.parametrize("flags", [("--voice-pitch", "0", "--voice-formant", "0"), ("--voice-pitch", "0")])
def test_disguise_by_zero_semitones_is_refused(tmp_path: Path, video: Path, flags: tuple[str, ...]) -> None:
    result = faceblur("process", video, "-o", tmp_path / "o.mp4", "--voice", "disguise", *flags)
    refused(result, "no disguise")
    assert not (tmp_path / "o.mp4").exists()


# ------------------------------------------------------------------ 5: unknown output extensions
@pytest.mark.parametrize("name", ["out.gif", "out.MP3", "out.txt"])
def test_unknown_output_extension_is_refused_with_the_known_ones(tmp_path: Path, video: Path, name: str) -> None:
    result = faceblur("process", video, "-o", tmp_path / name)
    refused(result, ".mp4", ".mkv", ".webm", "folder")
    assert not (tmp_path / name).exists()


def test_a_path_without_extension_is_a_png_folder(tmp_path: Path, video: Path) -> None:
    result = faceblur("process", video, "-o", tmp_path / "frames")
    assert result.returncode == 0, result.stderr
    assert len(list((tmp_path / "frames").glob("*.png"))) == 60


# ------------------------------------------------------------------ 4: messages
def _huge_png(path: Path) -> Path:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", 60000, 60000, 8, 2, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 64))
                     + chunk(b"IEND", b""))
    return path


def test_png_claiming_60000_square_is_a_sentence(tmp_path: Path) -> None:
    result = faceblur("process", _huge_png(tmp_path / "huge.png"), "-o", tmp_path / "out")
    refused(result, "huge.png", "too large")


def test_file_name_over_255_bytes_is_a_sentence(tmp_path: Path, video: Path) -> None:
    result = faceblur("process", video, "-o", tmp_path / ("x" * 300 + ".mp4"))
    refused(result, "255")


def test_settings_nested_500_deep_is_a_sentence(tmp_path: Path, video: Path) -> None:
    config = tmp_path / "deep.toml"
    config.write_text("a = " + "[" * 500 + "]" * 500 + "\n")
    result = faceblur("process", video, "-o", tmp_path / "o.mp4", "--config", config)
    refused(result, "deep.toml", "nested too deeply")


def test_text_file_named_mp4_says_so_without_a_word_about_frames_written(tmp_path: Path) -> None:
    fake = tmp_path / "fake.mp4"
    fake.write_text("not a video\n")
    result = faceblur("process", fake, "-o", tmp_path / "o.mp4")
    refused(result, "fake.mp4")
    assert "after 0 frames" not in result.stderr and "written so far" not in result.stderr
    assert ") (" not in result.stderr


def test_audio_only_input_has_no_picture(tmp_path: Path) -> None:
    sound = tmp_path / "talk.m4a"
    subprocess.run([ffmpeg(), "-v", "error", "-y", "-f", "lavfi", "-i", "sine=d=1", str(sound)], check=True,
                   timeout=60)
    result = faceblur("process", sound, "-o", tmp_path / "o.mp4")
    refused(result, "talk.m4a", "no picture")
    assert "unsupported or damaged" not in result.stderr


@pytest.mark.parametrize("name", ["o.mp4", "frames"])
def test_output_in_a_missing_folder_is_refused_the_same_for_video_and_pngs(tmp_path: Path, video: Path,
                                                                            name: str) -> None:
    result = faceblur("process", video, "-o", tmp_path / "missing" / "deeper" / name)
    refused(result, "does not exist", str(tmp_path / "missing" / "deeper"))
    assert not (tmp_path / "missing").exists()


# ------------------------------------------------------------------ 3: a full disk
@contextmanager
def small_disk(path: Path, size: str) -> Iterator[Path]:
    path.mkdir(parents=True, exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)], check=True)
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("mount") is None, reason="needs root to mount a small tmpfs")
def test_full_disk_leaves_a_playable_video_whole_boxes_lines_and_says_so(tmp_path: Path) -> None:
    noise = make_video(tmp_path / "noise.mp4", seconds=12, size="320x240", noise=True)  # does not compress
    with small_disk(tmp_path / "small", "3m") as disk:
        out, boxes = disk / "o.mp4", disk / "b.jsonl"
        result = faceblur("process", noise, "-o", out, "--boxes", boxes)
        refused(result, "the disk is full")
        info = probe(out)  # plays: ffprobe reads it and decodes every frame it announces
        frames = int(next(s for s in info["streams"] if s["codec_type"] == "video")["nb_read_frames"])
        assert frames >= 30
        decoded = subprocess.run([ffmpeg(), "-v", "error", "-i", str(out), "-f", "null", "-"],
                                 capture_output=True, text=True, timeout=120)
        assert decoded.returncode == 0 and decoded.stderr == "", decoded.stderr
        import cv2

        cap = cv2.VideoCapture(str(out))
        assert cap.isOpened() and cap.read()[0]
        cap.release()
        text = boxes.read_text()
        assert text.endswith("\n")
        lines = [json.loads(line) for line in text.splitlines()]
        assert [line["frame"] for line in lines] == list(range(len(lines)))


# ------------------------------------------------------------------ 8: no encoder fingerprints
@pytest.mark.parametrize("suffix", [".mp4", ".mkv", ".mov"])
def test_process_output_has_no_encoder_tag_and_no_x264_options(tmp_path: Path, video: Path, suffix: str) -> None:
    out = tmp_path / f"o{suffix}"
    result = faceblur("process", video, "-o", out)
    assert result.returncode == 0, result.stderr
    info = probe(out)
    for stream in info["streams"]:
        assert "encoder" not in {k.lower() for k in stream.get("tags", {})}, stream.get("tags")
    # Matroska always names its muxing app: bitexact leaves the bare name, no version
    assert info["format"].get("tags", {}).get("encoder", "Lavf") == "Lavf"
    data = out.read_bytes()
    for fingerprint in FINGERPRINTS:
        assert fingerprint not in data, fingerprint
    assert str(os.cpu_count()).encode() + b" lookahead_threads" not in data


def test_recording_has_no_encoder_tag_and_no_x264_options(tmp_path: Path) -> None:
    import numpy as np

    from faceblur_cam.frames import FrameKind, PublishedFrame
    from faceblur_cam.recording.recorder import Mp4Recorder

    recorder = Mp4Recorder.in_folder(tmp_path, (160, 120), 30)
    for k in range(40):
        image = np.full((120, 160, 3), (k * 5) % 256, np.uint8)
        recorder.send(PublishedFrame(image=image, t=k / 30, kind=FrameKind.REDACTED))
    recorder.close()
    info = probe(recorder.path)
    for stream in info["streams"]:
        assert "encoder" not in {k.lower() for k in stream.get("tags", {})}, stream.get("tags")
    data = recorder.path.read_bytes()
    for fingerprint in FINGERPRINTS:
        assert fingerprint not in data, fingerprint
