"""Recording end to end: the real pipeline on a real clip (OTB "Girl", 128x96) standing in for
the camera, the fake virtual camera standing in for the call.

- ``faceblur-cam run --record``: the recording holds the frames the call got, redacted, and lasts
  as long as it ran;
- SIGKILL of our process (ffmpeg finishes the file) and of both processes (a power cut: only
  the last fragment, about a second, is lost);
- in-process engine: disk full and an unwritable folder stop only the recording, with a clear
  status message, while the virtual camera keeps getting frames.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from test_recorder import can_mount, decode, decode_errors, mounted_tmpfs, probe, psnr

from faceblur_cam.config import CameraConfig, Config, RecordingConfig
from faceblur_cam.engine import Engine, EngineState
from faceblur_cam.sources.files import read_image

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="uses /proc and signals"),
]

FAKE_BACKEND = "faceblur_cam.sinks.fake_vcam:FakeCameraBackend"
WH = (128, 96)  # OTB Girl's own size: no scaling, so recorded frames compare with the source


@pytest.fixture(scope="module")
def girl(eval_dir: Path) -> Path:
    return eval_dir / "otb_girl" / "img"


def wait_for(condition: Callable[[], object], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.02)


def start_run(
    tmp_path: Path, source: Path, *extra: str, env: dict[str, str] | None = None
) -> tuple[subprocess.Popen[bytes], Path]:
    """``faceblur-cam run --record`` headless on ``source``; returns the process and the folder."""
    config = tmp_path / "config.toml"
    config.write_text(f"[camera]\nwidth = {WH[0]}\nheight = {WH[1]}\n")
    folder = tmp_path / "recordings"
    cmd = [
        sys.executable,
        "-m",
        "faceblur_cam",
        "run",
        "--no-tray",
        "--record",
        "--record-dir",
        str(folder),
        "--source",
        str(source),
        "--config",
        str(config),
        *extra,
    ]
    # its own user dirs: the single-instance lock and the log file stay out of the user's way
    xdg = {
        f"XDG_{kind}": str(tmp_path / "xdg" / kind.lower())
        for kind in ("RUNTIME_DIR", "STATE_HOME", "CACHE_HOME", "CONFIG_HOME", "DATA_HOME")
    }
    proc = subprocess.Popen(cmd, env={**os.environ, **xdg, **(env or {})}, stderr=subprocess.PIPE)
    return proc, folder


def recording_started(folder: Path) -> Path:
    """Wait until the recording's file is created (the engine started recording); its path."""
    found: list[Path] = []

    def started() -> bool:
        found[:] = list(folder.glob("*.mp4")) if folder.is_dir() else []
        return bool(found)

    wait_for(started, 60, "the recording to start")
    return found[0]


def encoder_of(proc: subprocess.Popen[bytes]) -> int:
    """The pid of the ffmpeg child of ``proc`` (started just after the file is created)."""
    found: list[int] = []

    def started() -> bool:
        found[:] = children(proc.pid)
        return len(found) == 1

    wait_for(started, 60, "one ffmpeg child")
    return found[0]


def children(pid: int) -> list[int]:
    kids = []
    for stat_file in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat_file.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            kids.append(int(stat_file.parent.name))
    return kids


def has_exited(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] in "ZX"
    except OSError:
        return True


# ----------------------------------------------------------------------------- what the call sees
def test_recording_holds_the_redacted_frames_the_call_got(
    tmp_path: Path, girl: Path, eval_dir: Path
) -> None:
    vcam = tmp_path / "vcam"
    proc, folder = start_run(
        tmp_path,
        girl,
        "--vcam-backend",
        FAKE_BACKEND,
        env={"FACEBLUR_FAKE_VCAM_DIR": str(vcam), "FACEBLUR_FAKE_VCAM_FPS": "1000"},
    )
    path = recording_started(folder)
    started = time.monotonic()
    time.sleep(8)  # long enough that the pipeline's latency jitter (< 0.25 s) is within 5 %
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    exited = time.monotonic()
    assert proc.returncode == 0, err.decode()

    info = probe(path)
    assert (info["codec"], info["pix_fmt"]) == ("h264", "yuv420p")
    assert info["frames"] == pytest.approx(info["duration"] * 30, abs=1)

    # every recorded picture is one the call got, in the same order, and none is missing but
    # those the recorder counted (too busy: dropped; two in one 1/30 s slot: superseded)
    written, dropped, superseded = recorder_counts(tmp_path)
    assert written == info["frames"]
    pngs = sorted(vcam.glob("frame_*.png"))
    sent = [read_image(p) for p in pngs]
    recorded = decode(path)
    distinct = [f for i, f in enumerate(recorded) if i == 0 or psnr(f, recorded[i - 1]) < 50]
    matches = [max(range(len(sent)), key=lambda j: psnr(frame, sent[j])) for frame in distinct]
    scores = [psnr(frame, sent[j]) for frame, j in zip(distinct, matches, strict=True)]
    assert min(scores) > 27 and float(np.median(scores)) > 32  # H.264 at 128x96: ~28-45 dB
    assert matches == sorted(matches)
    shown = set(matches)
    span = range(matches[0], len(pngs))  # from the first recorded frame to the last one sent
    assert len(shown) + dropped + superseded >= 0.95 * len(span), "frames are missing"
    assert len(shown) >= 0.5 * len(span)

    # it lasts as long as the call saw it: from its first frame to the last reaching the virtual
    # camera (the PNGs' write times), plus the last frame's own 1/30 s. (The file is timed by
    # capture time, the PNGs by publishing time: they differ by the pipeline's latency.)
    seen = (pngs[-1].stat().st_mtime_ns - pngs[matches[0]].stat().st_mtime_ns) / 1e9
    assert info["duration"] == pytest.approx(seen + 1 / 30, rel=0.05)
    assert 7.5 < info["duration"] < exited - started

    # and they are redacted: where the source frame has a face, the recording does not
    assert_redacted(recorded, eval_dir)


def recorder_counts(tmp_path: Path) -> tuple[int, int, int]:
    """(frames written, dropped, superseded) from the run's log file."""
    (log_file,) = (tmp_path / "xdg").rglob("faceblur-cam.log")
    pattern = r"recording saved: .* \((\d+) frames, [\d.]+ s, (\d+) dropped, (\d+) superseded\)"
    found = re.findall(pattern, log_file.read_text())
    assert len(found) == 1, log_file.read_text()
    written, dropped, superseded = (int(n) for n in found[0])
    return written, dropped, superseded


def assert_redacted(recorded: list[np.ndarray], eval_dir: Path) -> None:
    """Find each recorded frame's source frame (by the picture around the head, which redaction
    leaves alone) and check that inside the ground-truth head box it is not the source.

    Not every frame: the ground truth boxes the head also when the girl turns away (nothing to
    redact then; whether the detector finds every face is the pipeline's tests' business). Here
    the point is that the recording holds the redacted pictures, not the camera's."""
    seq = json.loads((eval_dir / "otb_girl" / "gt.json").read_text())["sequences"][0]
    frames = [f for f in seq["frames"] if f["face_visible"] and f["boxes"]]
    raw = np.stack([read_image(eval_dir / "otb_girl" / f["file"]) for f in frames]).astype(
        np.float32
    )
    redacted = []
    for image in recorded[::5]:
        diff = (raw - image.astype(np.float32)) ** 2
        masks = np.ones(raw.shape[:3], bool)
        for i, f in enumerate(frames):
            x, y, w, h = (int(v) for v in f["boxes"][0]["xywh"])
            masks[i, max(0, y - h // 2) : y + h + h // 2, max(0, x - w // 2) : x + w + w // 2] = (
                False
            )
        outside = np.array([d[m].mean() for d, m in zip(diff, masks, strict=True)])
        best = int(np.argmin(outside))
        if 10 * np.log10(255**2 / max(outside[best], 1e-6)) < 28:
            continue  # a placeholder card, or a source frame without a visible face
        x, y, w, h = (int(v) for v in frames[best]["boxes"][0]["xywh"])
        inside = diff[best, y : y + h, x : x + w].mean()
        redacted.append(10 * np.log10(255**2 / inside) < 24)
    assert len(redacted) >= 10
    assert sum(redacted) >= 0.8 * len(redacted), "the recording holds unredacted camera pictures"


# ----------------------------------------------------------------------------- crash safety
def test_sigkill_of_our_process_loses_nothing_ffmpeg_finishes_the_file(
    tmp_path: Path, girl: Path
) -> None:
    proc, folder = start_run(tmp_path, girl, "--no-virtual-camera")  # recording is the only output
    path = recording_started(folder)
    started = time.monotonic()
    encoder = encoder_of(proc)
    time.sleep(3)
    proc.kill()
    killed = time.monotonic()
    proc.wait(timeout=10)
    wait_for(lambda: has_exited(encoder), 60, "ffmpeg to finish the file")

    info = probe(path)
    assert info["codec"] == "h264" and info["frames"] == len(decode(path))
    assert info["duration"] >= killed - started - 0.5


def test_sigkill_of_both_processes_loses_at_most_the_last_second(
    tmp_path: Path, girl: Path
) -> None:
    """A power cut: ffmpeg is killed too, so only fragments already written count."""
    proc, folder = start_run(tmp_path, girl, "--no-virtual-camera")
    path = recording_started(folder)
    started = time.monotonic()
    encoder = encoder_of(proc)
    time.sleep(3.5)
    os.kill(encoder, signal.SIGKILL)
    proc.kill()
    killed = time.monotonic()
    proc.wait(timeout=10)
    wait_for(lambda: has_exited(encoder), 60, "ffmpeg to die")

    info = probe(path)
    assert info["codec"] == "h264" and len(decode(path)) >= info["frames"] - 1
    assert info["duration"] >= killed - started - 1.25


@pytest.mark.skipif(not can_mount(), reason="needs root to mount a read-only tmpfs")
def test_record_only_run_says_why_and_exits_when_it_cannot_record(
    tmp_path: Path, girl: Path
) -> None:
    with mounted_tmpfs(tmp_path / "recordings", "ro,size=64k"):
        proc, _ = start_run(tmp_path, girl, "--no-virtual-camera")
        _, err = proc.communicate(timeout=120)
    assert proc.returncode == 1
    lines = [line for line in err.decode().splitlines() if line.startswith("faceblur-cam:")]
    assert lines == [
        f"faceblur-cam: Recording failed: cannot write recordings to {tmp_path / 'recordings'}: "
        "Read-only file system; choose another folder in the settings"
    ]
    assert "Traceback" not in err.decode()


# ------------------------------------------------------------------ clean stops, live goes on
@dataclass
class Live:
    engine: Engine
    camera: Any  # the FakeCameraBackend the virtual camera sink publishes to
    folder: Path
    messages: list[str]  # every status message since the recording was asked for


@pytest.fixture
def recording_on_tmpfs(girl: Path, tmp_path: Path) -> Iterator[Callable[[str], Live]]:
    """``start(mount_options)``: the engine on the clip, the fake virtual camera as its output,
    recording into a tmpfs mounted with ``mount_options``."""
    from faceblur_cam.app import build_engine
    from faceblur_cam.sinks.fake_vcam import FakeCameraBackend, register
    from faceblur_cam.sinks.vcam import VirtualCameraSink

    with ExitStack() as stack:

        def start(options: str) -> Live:
            folder = stack.enter_context(mounted_tmpfs(tmp_path / "recordings", options))
            config = Config(
                camera=CameraConfig(source=str(girl), width=WH[0], height=WH[1]),
                recording=RecordingConfig(folder=str(folder)),
            )
            engine = build_engine(config, [VirtualCameraSink(WH, 30, backend=register())])
            stack.callback(lambda: engine.wait(15))
            stack.callback(engine.quit)
            engine.start()
            wait_for(
                lambda: engine.status().state is EngineState.PROTECTING, 60, "protection to start"
            )
            live = Live(engine, FakeCameraBackend.instances[-1], folder, [])
            engine.subscribe(lambda status: live.messages.append(status.message))
            engine.start_recording()
            return live

        yield start


def assert_live_goes_on(live: Live) -> None:
    assert live.engine.status().state is EngineState.PROTECTING
    before = live.camera.sent
    wait_for(lambda: live.camera.sent - before >= 10, 60, "the live feed to go on (10 more frames)")


@pytest.mark.skipif(not can_mount(), reason="needs root to mount a small tmpfs")
def test_disk_full_stops_the_recording_not_the_call(recording_on_tmpfs) -> None:
    live = recording_on_tmpfs("size=64k")
    wait_for(lambda: live.engine.status().recording, 60, "the recording to start")
    wait_for(lambda: not live.engine.status().recording, 60, "the disk to fill up")
    assert any(m.startswith("Recording stopped: the disk is full") for m in live.messages), (
        live.messages
    )
    assert_live_goes_on(live)
    (path,) = live.folder.glob("*.mp4")
    info = probe(path)
    assert info["codec"] == "h264" and info["frames"] >= 10 and len(decode(path)) == info["frames"]
    assert decode_errors(path) == ""


@pytest.mark.skipif(not can_mount(), reason="needs root to mount a read-only tmpfs")
def test_unwritable_folder_says_so_and_the_call_goes_on(recording_on_tmpfs) -> None:
    live = recording_on_tmpfs("ro,size=64k")
    wait_for(lambda: any(m.startswith("Recording failed") for m in live.messages), 60, "the error")
    text = next(m for m in live.messages if m.startswith("Recording failed"))
    assert str(live.folder) in text and "choose another folder" in text
    assert not live.engine.status().recording
    assert_live_goes_on(live)
