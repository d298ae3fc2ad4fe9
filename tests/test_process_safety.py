"""``faceblur-cam process`` never destroys data, finishes its file on SIGTERM, says what it lost.

Real files (written here with OpenCV), the real command in a subprocess, outputs checked with
ffprobe.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
from processes import signal_when

pytestmark = pytest.mark.skipif(shutil.which("ffprobe") is None, reason="ffprobe (apt ffmpeg) missing")


def faceblur(*args: str | Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "faceblur_cam", *map(str, args)], capture_output=True,
                          text=True, timeout=timeout)


def frame(i: int, wh: tuple[int, int] = (160, 120)) -> np.ndarray:
    rng = np.random.default_rng(i % 7)
    image = rng.integers(0, 256, (wh[1], wh[0], 3), dtype=np.uint8)
    cv2.putText(image, str(i), (10, wh[1] // 2), cv2.FONT_HERSHEY_SIMPLEX, 1, (255, 255, 255), 2)
    return image


def write_video(path: Path, frames: int, wh: tuple[int, int] = (160, 120)) -> Path:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"mp4v"), 30.0, wh)
    assert writer.isOpened()
    for i in range(frames):
        writer.write(frame(i, wh))
    writer.release()
    return path


def write_images(folder: Path, sizes: list[tuple[int, int]]) -> Path:
    folder.mkdir()
    for i, wh in enumerate(sizes):
        assert cv2.imwrite(str(folder / f"{i:04d}.png"), frame(i, wh))
    return folder


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def frames_in(path: Path) -> int:
    """Frames ffprobe decodes from ``path`` (fails the test if the file is not playable)."""
    result = subprocess.run(["ffprobe", "-v", "error", "-count_frames", "-select_streams", "v:0",
                             "-show_entries", "stream=nb_read_frames", "-of", "csv=p=0", str(path)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and result.stdout.strip().isdigit(), result.stderr
    return int(result.stdout)


def assert_clear_refusal(result: subprocess.CompletedProcess[str], *words: str) -> None:
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr and "unexpected error" not in result.stderr
    for word in words:
        assert word in result.stderr


# ------------------------------------------------------------------------- inputs are never outputs
def test_output_that_is_the_input_video_is_refused(tmp_path: Path) -> None:
    video = write_video(tmp_path / "v.mp4", 20)
    before = digest(video)
    assert_clear_refusal(faceblur("process", video, "-o", video), "is an input")
    link = tmp_path / "link.mp4"
    link.symlink_to(video)
    assert_clear_refusal(faceblur("process", video, "-o", link), "is an input")
    hard = tmp_path / "hard.mp4"
    os.link(video, hard)
    assert_clear_refusal(faceblur("process", hard, "-o", tmp_path / "." / "v.mp4"), "is an input")
    assert digest(video) == before


def test_boxes_file_that_is_the_input_or_the_output_is_refused(tmp_path: Path) -> None:
    video = write_video(tmp_path / "v.mp4", 20)
    before = digest(video)
    assert_clear_refusal(faceblur("process", video, "-o", tmp_path / "o.mp4", "--boxes", video), "--boxes")
    assert digest(video) == before and not (tmp_path / "o.mp4").exists()
    out = tmp_path / "o.mp4"
    assert_clear_refusal(faceblur("process", video, "-o", out, "--boxes", out), "--boxes")


def test_output_folder_that_is_the_input_folder_is_refused(tmp_path: Path) -> None:
    images = write_images(tmp_path / "imgs", [(160, 120)] * 3)
    before = {p.name: digest(p) for p in images.iterdir()}
    assert_clear_refusal(faceblur("process", images, "-o", images), "input folder")
    link = tmp_path / "same"
    link.symlink_to(images)
    assert_clear_refusal(faceblur("process", images, "-o", link), "input folder")
    # one image into its own folder would replace it (a.png -> a.png)
    assert_clear_refusal(faceblur("process", images / "0001.png", "-o", images), "is an input")
    assert {p.name: digest(p) for p in images.iterdir()} == before


def test_output_folder_inside_the_input_folder_is_fine(tmp_path: Path) -> None:
    images = write_images(tmp_path / "imgs", [(160, 120)] * 3)
    before = {p.name: digest(p) for p in images.glob("*.png")}
    result = faceblur("process", images, "-o", images / "protected")
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in (images / "protected").iterdir()) == sorted(before)
    assert {p.name: digest(p) for p in images.glob("*.png")} == before


# ------------------------------------------------------------------------------ every way out
def test_a_signal_while_a_frame_is_handed_over_waits_until_it_is_counted() -> None:
    """SIGTERM (or Ctrl+C) that lands while a frame is being sent to the outputs waits until the
    frame is counted too (CI once: the MP4 held 48 frames, the message said 47); outside such a
    block it interrupts at once, and a second signal inside one does too."""
    import signal

    from faceblur_cam.commands.process import Interrupts

    steps: list[str] = []
    before = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    with Interrupts() as interrupts:
        with pytest.raises(KeyboardInterrupt):
            with interrupts.held():
                os.kill(os.getpid(), signal.SIGTERM)
                steps.append("sent")
                steps.append("counted")
        assert steps == ["sent", "counted"]
        with pytest.raises(KeyboardInterrupt):
            os.kill(os.getpid(), signal.SIGINT)
            steps.append("not reached")
        with pytest.raises(KeyboardInterrupt):
            with interrupts.held():
                os.kill(os.getpid(), signal.SIGTERM)
                os.kill(os.getpid(), signal.SIGTERM)  # a second one: now
                steps.append("not reached")
        with interrupts.held():
            steps.append("quiet")  # nothing pending is left over
    assert steps == ["sent", "counted", "quiet"]
    assert {s: signal.getsignal(s) for s in before} == before  # the handlers are put back


def test_sigterm_finishes_the_mp4(tmp_path: Path) -> None:
    video = write_video(tmp_path / "long.mp4", 3000, wh=(320, 240))
    out = tmp_path / "out.mp4"
    proc = subprocess.Popen([sys.executable, "-m", "faceblur_cam", "process", str(video), "-o", str(out)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    err = signal_when(proc, lambda: out.exists() and out.stat().st_size > 50_000, "output to be written")
    assert proc.returncode == 130, err
    assert "Traceback" not in err and "interrupted" in err
    written = int(err.split("holds the first ")[1].split()[0])
    assert 0 < written < 3000
    assert frames_in(out) == written


# ------------------------------------------------------------------------------ say what was lost
def test_video_damaged_in_the_middle_is_decoded_past_the_damage(tmp_path: Path) -> None:
    video = write_video(tmp_path / "v.mp4", 150)
    data = bytearray(video.read_bytes())
    middle = len(data) // 2
    data[middle:middle + 4000] = np.random.default_rng(1).integers(0, 256, 4000, dtype=np.uint8).tobytes()
    damaged = tmp_path / "damaged.mp4"
    damaged.write_bytes(bytes(data))
    plain_reads = 0  # what OpenCV alone gives: it stops at the damage
    cap = cv2.VideoCapture(str(damaged))
    while cap.read()[0]:
        plain_reads += 1
    cap.release()
    assert plain_reads < 100

    out = tmp_path / "out.mp4"
    result = faceblur("process", damaged, "-o", out)
    assert result.returncode == 0, result.stderr
    count = int(result.stdout.split()[0])
    assert count >= 140 and frames_in(out) == count
    assert "damaged" in result.stderr and f"{150 - count} of 150 frames" in result.stderr


def test_image_folder_of_mixed_sizes_keeps_every_frame(tmp_path: Path) -> None:
    images = write_images(tmp_path / "imgs", [(160, 120), (200, 100)] * 30)
    out = tmp_path / "out.mp4"
    result = faceblur("process", images, "-o", out)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("60 frames")
    assert frames_in(out) == 60
    assert "30 frames of another size" in result.stderr


# ---------------------------------------------------------------------------------- bad arguments
@pytest.mark.parametrize("fps", ["inf", "nan", "-5", "0", "many"])
def test_bad_fps_is_a_clear_message(tmp_path: Path, fps: str) -> None:
    images = write_images(tmp_path / "imgs", [(160, 120)] * 2)
    result = faceblur("process", images, "-o", tmp_path / "o.mp4", f"--fps={fps}", timeout=120)
    assert_clear_refusal(result, "--fps", "frames per second")
    assert not (tmp_path / "o.mp4").exists()


def test_boxes_into_a_missing_folder_is_one_line(tmp_path: Path) -> None:
    images = write_images(tmp_path / "imgs", [(160, 120)] * 2)
    result = faceblur("process", images, "-o", tmp_path / "out", "--boxes", tmp_path / "no" / "boxes.jsonl")
    assert_clear_refusal(result, "boxes.jsonl")
    assert len(result.stderr.strip().splitlines()) == 1


def test_png_output_that_cannot_be_created_is_one_line(tmp_path: Path) -> None:
    images = write_images(tmp_path / "imgs", [(160, 120)] * 2)
    blocker = tmp_path / "file.txt"
    blocker.write_text("not a folder")
    result = faceblur("process", images, "-o", blocker / "out")
    assert_clear_refusal(result, "cannot create")
    assert len(result.stderr.strip().splitlines()) == 1
