"""``faceblur-cam process`` keeps the sound, writes H.264 yuv420p, keeps rate and rotation, drops
metadata, and can disguise the voice without the original sound touching the disk.

Real files made here with ffmpeg (imageio-ffmpeg's, the one the app uses: the apt one is too old
for ``-display_rotation``), the real command in a subprocess, outputs checked with ffprobe and by
decoding the sound.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytestmark = pytest.mark.skipif(shutil.which("ffprobe") is None, reason="ffprobe (apt ffmpeg) missing")

RATE = 48000
SECRET = "SECRETWITNESS"


def ffmpeg() -> str:
    import imageio_ffmpeg

    return str(imageio_ffmpeg.get_ffmpeg_exe())


def faceblur(*args: str | Path, env: dict[str, str] | None = None,
             prefix: tuple[str, ...] = ()) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*prefix, sys.executable, "-m", "faceblur_cam", *map(str, args)], capture_output=True,
                          text=True, timeout=180, env=env)


def make_video(path: Path, audio: str | None = "chirp", seconds: float = 3.0, rate: str = "30",
               audio_codec: str = "aac", rotation: int = 0) -> Path:
    """A test-pattern video with a sound track, identifying metadata and maybe a rotation."""
    sounds = {
        # a rising tone: its cross-correlation has one clear peak (a pure tone's repeats)
        "chirp": f"aevalsrc='0.5*sin(2*PI*(200*t+150*t*t))':s={RATE}:d={seconds}",
        "tone": f"sine=frequency=220:sample_rate={RATE}:duration={seconds}",
        # harmonics of 150 Hz, loudest around a 1.2 kHz resonance: a vowel, roughly
        "vowel": "aevalsrc='" + "+".join(f"{0.015 + 0.15 * np.exp(-((150 * k - 1200) / 250) ** 2):.4f}"
                                         f"*sin(2*PI*{150 * k}*t)" for k in range(1, 20)) + f"':s={RATE}:d={seconds}",
    }
    cmd = [ffmpeg(), "-v", "error", "-y", "-f", "lavfi", "-i", f"testsrc=size=160x120:rate={rate}:duration={seconds}"]
    if audio:
        cmd += ["-f", "lavfi", "-i", sounds[audio], "-c:a", audio_codec]
    cmd += ["-c:v", "libx264", "-pix_fmt", "yuv420p", "-metadata", f"title={SECRET}",
            "-metadata", "location=+48.8566+002.3522/", "-metadata", "creation_time=2024-05-01T10:00:00Z",
            "-metadata:s:a", f"handler_name={SECRET}mic", str(path)]
    subprocess.run(cmd, check=True, timeout=60)
    if rotation:
        plain = path.with_name("plain" + path.suffix)
        path.rename(plain)
        subprocess.run([ffmpeg(), "-v", "error", "-y", "-display_rotation", str(rotation), "-i", str(plain),
                        "-c", "copy", str(path)], check=True, timeout=60)
        plain.unlink()
    return path


def probe(path: Path) -> dict:
    result = subprocess.run(["ffprobe", "-v", "error", "-show_format", "-show_streams", "-of", "json", str(path)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def stream(info: dict, kind: str) -> dict | None:
    return next((s for s in info["streams"] if s["codec_type"] == kind), None)


def sound(path: Path) -> np.ndarray:
    """The first audio track of ``path``, decoded to mono float at 48 kHz."""
    out = subprocess.run([ffmpeg(), "-v", "error", "-i", str(path), "-map", "0:a:0", "-f", "f32le", "-ac", "1",
                          "-ar", str(RATE), "-"], capture_output=True, timeout=60, check=True).stdout
    return np.frombuffer(out, np.float32)


def first_frame(path: Path) -> np.ndarray:
    """The first frame as shown (rotation applied), RGB."""
    info = stream(probe(path), "video")
    assert info is not None
    out = subprocess.run([ffmpeg(), "-v", "error", "-i", str(path), "-frames:v", "1", "-f", "rawvideo",
                          "-pix_fmt", "rgb24", "-"], capture_output=True, timeout=60, check=True).stdout
    turned = abs(rotation_of(info)) in (90, 270)
    w, h = (info["height"], info["width"]) if turned else (info["width"], info["height"])
    return np.frombuffer(out, np.uint8).reshape(h, w, 3)


def rotation_of(video: dict) -> int:
    for side in video.get("side_data_list", []):
        if "rotation" in side:
            return int(side["rotation"])
    return 0


def lag_and_similarity(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """Delay of ``b`` against ``a`` in seconds, and the normalised peak of their cross-correlation."""
    n = min(len(a), len(b))
    a, b = a[:n] - a[:n].mean(), b[:n] - b[:n].mean()
    size = 1 << (2 * n - 1).bit_length()
    corr = np.fft.irfft(np.fft.rfft(b, size) * np.conj(np.fft.rfft(a, size)), size)
    peak = int(np.argmax(np.abs(corr)))
    lag = peak if peak < size // 2 else peak - size
    return lag / RATE, float(np.abs(corr[peak]) / np.sqrt((a * a).sum() * (b * b).sum()))


def dominant_hz(signal: np.ndarray, start: float = 1.0, seconds: float = 1.0) -> float:
    part = signal[int(start * RATE):int((start + seconds) * RATE)]
    spectrum = np.abs(np.fft.rfft(part * np.hanning(len(part)), 8 * len(part)))
    return float(np.argmax(spectrum) * RATE / (8 * len(part)))


def assert_no_identifying_metadata(out: Path, info: dict) -> None:
    tags = [info["format"].get("tags", {})] + [s.get("tags", {}) for s in info["streams"]]
    text = json.dumps(tags)
    assert SECRET not in text and "location" not in text and "creation_time" not in text, text
    assert SECRET.encode() not in out.read_bytes()


# ----------------------------------------------------------------------------- sound kept, H.264
@pytest.mark.parametrize(("audio_codec", "suffix", "kept_as"), [
    ("aac", ".mp4", "aac"),  # copied as it is
    ("pcm_s16le", ".mov", "aac"),  # the .mp4 output cannot hold PCM: re-encoded
    ("libopus", ".mkv", "opus"),  # copied into Matroska
])
def test_output_is_h264_with_the_inputs_sound(tmp_path: Path, audio_codec: str, suffix: str, kept_as: str) -> None:
    video = make_video(tmp_path / f"interview{suffix}", audio_codec=audio_codec)
    out = tmp_path / ("protected.mkv" if suffix == ".mkv" else "protected.mp4")
    result = faceblur("process", video, "-o", out)
    assert result.returncode == 0, result.stderr
    info = probe(out)
    v, a = stream(info, "video"), stream(info, "audio")
    assert v is not None and a is not None, info
    assert (v["codec_name"], v["pix_fmt"], v["r_frame_rate"]) == ("h264", "yuv420p", "30/1")
    assert a["codec_name"] == kept_as
    original, kept = sound(video), sound(out)
    assert abs(len(kept) - len(original)) / RATE <= 0.1, (len(original), len(kept))
    lag, similarity = lag_and_similarity(original, kept)
    assert abs(lag) <= 0.005 and similarity > 0.9, (lag, similarity)
    assert_no_identifying_metadata(out, info)


def test_no_audio_drops_the_sound_and_keeps_the_frame_rate(tmp_path: Path) -> None:
    video = make_video(tmp_path / "v.mp4", rate="30000/1001")
    out = tmp_path / "out.mp4"
    result = faceblur("process", video, "-o", out, "--no-audio")
    assert result.returncode == 0, result.stderr
    info = probe(out)
    assert stream(info, "audio") is None
    v = stream(info, "video")
    assert v is not None and v["codec_name"] == "h264" and v["r_frame_rate"] == "30000/1001"


def test_video_without_sound_and_image_folders_still_work(tmp_path: Path) -> None:
    video = make_video(tmp_path / "silent.mp4", audio=None)
    out = tmp_path / "out.mp4"
    assert faceblur("process", video, "-o", out).returncode == 0
    info = probe(out)
    assert stream(info, "audio") is None and stream(info, "video")["codec_name"] == "h264"  # type: ignore[index]
    assert int(stream(info, "video")["nb_frames"] if "nb_frames" in stream(info, "video") else 90) > 0  # type: ignore

    folder = tmp_path / "frames"
    folder.mkdir()
    subprocess.run([ffmpeg(), "-v", "error", "-i", str(video), "-frames:v", "5", str(folder / "%03d.png")],
                   check=True, timeout=60)
    out2 = tmp_path / "from_images.mp4"
    result = faceblur("process", folder, "-o", out2, "--fps", "10")
    assert result.returncode == 0, result.stderr
    v = stream(probe(out2), "video")
    assert v is not None and (v["codec_name"], v["r_frame_rate"]) == ("h264", "10/1")


@pytest.mark.parametrize(("rotation", "suffix"), [(90, ".mp4"), (270, ".mp4"), (90, ".mkv"), (90, ".avi")])
def test_phone_rotation_is_kept(tmp_path: Path, rotation: int, suffix: str) -> None:
    video = make_video(tmp_path / "phone.mp4", rotation=rotation, seconds=1.0)
    out = tmp_path / f"out{suffix}"
    result = faceblur("process", video, "-o", out)
    assert result.returncode == 0, result.stderr
    before, after = stream(probe(video), "video"), stream(probe(out), "video")
    assert before is not None and after is not None
    if suffix == ".avi":  # no rotation field in AVI: stored upright instead
        assert rotation_of(after) == 0 and (after["width"], after["height"]) == (120, 160)
    else:
        assert rotation_of(after) == rotation_of(before) != 0
        assert (after["width"], after["height"]) == (before["width"], before["height"]) == (160, 120)
    shown_before, shown_after = first_frame(video), first_frame(out)
    assert shown_before.shape == shown_after.shape == (160, 120, 3)
    assert np.abs(shown_before.astype(int) - shown_after).mean() < 6  # the same picture, same way up


# ------------------------------------------------------------------------------- voice disguise
def written_paths(trace: Path) -> set[str]:
    """Files the traced processes opened for writing or created (strace -f -e trace=%file)."""
    paths = set()
    for line in trace.read_text(errors="replace").splitlines():
        call = re.search(r'(openat|open|creat)\((?:[^,]+, )?"([^"]+)", ([A-Z_|]+)', line)
        if call and any(flag in call.group(3) for flag in ("O_WRONLY", "O_RDWR", "O_CREAT")) and "= -1" not in line:
            paths.add(call.group(2))
        moved = re.search(r'(rename|renameat2?|link|linkat|symlink)\(.*"([^"]+)"[^"]*\) = 0', line)
        if moved:
            paths.add(moved.group(2))
    return paths


@pytest.mark.skipif(shutil.which("strace") is None, reason="strace (apt) missing")
def test_voice_disguise_moves_the_pitch_and_the_original_never_touches_the_disk(tmp_path: Path) -> None:
    video = make_video(tmp_path / "interview.mp4", audio="tone", seconds=3.0)
    out = tmp_path / "disguised.mp4"
    home, tmp = tmp_path / "home", tmp_path / "tmp"
    home.mkdir()
    tmp.mkdir()
    env = {**os.environ, "HOME": str(home), "TMPDIR": str(tmp), "XDG_CACHE_HOME": str(home / ".cache")}
    trace = tmp_path / "strace.txt"
    result = faceblur("process", video, "-o", out, "--voice", "disguise", env=env,
                      prefix=("strace", "-f", "-qq", "-e", "trace=%file", "-o", str(trace)))
    assert result.returncode == 0, result.stderr

    original, disguised = sound(video), sound(out)
    assert abs(len(disguised) - len(original)) / RATE <= 0.1
    f0_before, f0_after = dominant_hz(original), dominant_hz(disguised)
    assert f0_before == pytest.approx(220, abs=1)
    assert f0_after == pytest.approx(220 * 2 ** (-5 / 12), rel=0.01), f0_after  # default -5: 164.8 Hz
    a = stream(probe(out), "audio")
    assert a is not None and a["codec_name"] == "aac"

    written = {p for p in written_paths(trace) if not p.startswith(("/dev/", "/proc/", "/sys/"))}
    allowed = {str(out)}
    assert allowed <= written  # the trace does see files being written
    others = {p for p in written - allowed if not p.endswith(".log") and "__pycache__" not in p}
    assert not others, f"files written besides the output: {sorted(others)}"
    assert not any(tmp.iterdir())


def harmonics(signal: np.ndarray, f0: float) -> tuple[np.ndarray, np.ndarray]:
    """Frequencies and amplitudes of the harmonics of ``f0`` below 3 kHz (0.5-1.5 s)."""
    part = signal[int(0.5 * RATE):int(1.5 * RATE)]
    spectrum = np.abs(np.fft.rfft(part * np.hanning(len(part))))  # 1 Hz bins
    hz = np.arange(1, int(3000 / f0)) * f0
    return hz, np.array([spectrum[int(f) - 3:int(f) + 4].max() for f in hz])


def resonance_hz(signal: np.ndarray, f0: float) -> float:
    """Where the harmonics are loudest: the energy-weighted mean harmonic frequency."""
    hz, amplitude = harmonics(signal, f0)
    return float((hz * amplitude**2).sum() / (amplitude**2).sum())


def fundamental_hz(signal: np.ndarray) -> float:
    part = signal[int(0.5 * RATE):int(1.5 * RATE)]
    spectrum = np.abs(np.fft.rfft(part * np.hanning(len(part)), 8 * len(part)))
    low = slice(80 * 8, 200 * 8)  # 80-200 Hz in 1/8 Hz bins
    return (low.start + int(np.argmax(spectrum[low]))) / 8


@pytest.mark.parametrize(("flags", "pitch", "formant_at_least"), [
    ((), -5, -5),  # the default: pitch and formants together, exactly
    (("--voice-pitch", "0", "--voice-formant", "-6"), 0, -2.5),  # formants alone (Rubber Band: in part)
])
def test_voice_disguise_moves_pitch_and_formants(tmp_path: Path, flags: tuple[str, ...], pitch: float,
                                                  formant_at_least: float) -> None:
    """A buzz at 150 Hz with a resonance at 1.2 kHz (a vowel, roughly)."""
    video = make_video(tmp_path / "vowel.mp4", audio="vowel", seconds=2.0)
    out = tmp_path / "out.mp4"
    result = faceblur("process", video, "-o", out, "--voice", "disguise", *flags)
    assert result.returncode == 0, result.stderr
    before, after = sound(video), sound(out)
    assert fundamental_hz(before) == pytest.approx(150, abs=1)
    assert fundamental_hz(after) == pytest.approx(150 * 2 ** (pitch / 12), rel=0.015)
    moved = 12 * np.log2(resonance_hz(after, fundamental_hz(after)) / resonance_hz(before, 150))
    if formant_at_least == pitch:
        assert moved == pytest.approx(pitch, abs=0.5), moved
    else:
        assert moved <= formant_at_least, moved


@pytest.mark.parametrize("value", ["13", "-20", "nan", "low"])
def test_bad_voice_shift_is_one_line(tmp_path: Path, value: str) -> None:
    video = tmp_path / "missing.mp4"
    result = faceblur("process", video, "-o", tmp_path / "o.mp4", "--voice", "disguise", f"--voice-pitch={value}")
    assert result.returncode == 2 and "semitones" in result.stderr and "Traceback" not in result.stderr


# ------------------------------------------------------------------------------------- progress
SUMMARY = re.compile(r"^(\d+) frames -> \S+ \((\d+) faces covered, (\d+) frames fully obscured, "
                     r"[\d.]+ s, [\d.]+ fps\)$")


def test_progress_bar_on_a_terminal_only(tmp_path: Path) -> None:
    import fcntl
    import pty
    import struct
    import termios

    video = make_video(tmp_path / "v.mp4", seconds=3.0)
    # not a terminal: no bar, no carriage returns; the summary on stdout
    result = faceblur("process", video, "-o", tmp_path / "a.mp4")
    assert result.returncode == 0, result.stderr
    assert "frame/s" not in result.stderr and "\r" not in result.stderr and "%" not in result.stderr
    assert SUMMARY.match(result.stdout.strip()) and result.stdout.startswith("90 frames"), result.stdout

    # stderr on a terminal (a pty): tqdm draws frames done of the total, a rate and the time left
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))  # 100 columns
    proc = subprocess.Popen([sys.executable, "-m", "faceblur_cam", "process", str(video), "-o",
                             str(tmp_path / "b.mp4")], stdout=subprocess.PIPE, stderr=follower, text=True)
    os.close(follower)
    drawn = b""
    while True:
        try:
            chunk = os.read(leader, 4096)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        drawn += chunk
    out, _ = proc.communicate(timeout=120)
    os.close(leader)
    assert proc.returncode == 0, drawn
    text = drawn.decode("utf-8", "replace")
    assert "/90 " in text and "frame/s" in text and "<" in text, text  # 12/90 [00:01<00:05, 9.9 frame/s]
    assert re.search(r"\d+%\|", text) and text.endswith("\r"), text  # percentages; the bar is cleared at the end
    assert SUMMARY.match(out.strip()), out
