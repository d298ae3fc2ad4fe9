"""A clean stop with a slow detector (issue 24): SIGTERM while an inference takes seconds inside
onnxruntime (an emulated CPU, a machine under heavy load). The process must not abort ("terminate
called without an active exception", exit 134 / -6): the running inference is waited for before
the interpreter exits, and the recording is finished and plays."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from test_clean_stop import FAKE_BACKEND, WH, clip, wait_for_protecting  # noqa: F401  (clip: a fixture)
from test_recorder import decode, decode_errors, probe

SLOW_S = 6.0
HERE = Path(__file__).parent


@pytest.mark.e2e
def test_sigterm_during_a_slow_inference_exits_0_and_finishes_the_recording(tmp_path: Path, clip: Path) -> None:  # noqa: F811
    config = tmp_path / "config.toml"
    config.write_text(f"[camera]\nwidth = {WH[0]}\nheight = {WH[1]}\n")
    vcam, recordings = tmp_path / "vcam", tmp_path / "recordings"
    xdg = {f"XDG_{kind}": str(tmp_path / "xdg" / kind.lower())
           for kind in ("RUNTIME_DIR", "STATE_HOME", "CACHE_HOME", "CONFIG_HOME", "DATA_HOME")}
    env = {**os.environ, **xdg, "FACEBLUR_FAKE_VCAM_DIR": str(vcam), "FACEBLUR_FAKE_VCAM_FPS": "2",
           "FACEBLUR_TEST_SLOW_DETECT_S": str(SLOW_S)}
    cmd = [sys.executable, str(HERE / "slow_detector_main.py"), "run", "--no-tray", "--source", str(clip),
           "--config", str(config), "--vcam-backend", FAKE_BACKEND, "--record", "--record-dir", str(recordings)]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        log_file = wait_for_protecting(tmp_path / "xdg", proc, timeout=120)
        time.sleep(1.5)  # an inference of SLOW_S is running now (each one is)
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=SLOW_S * 4 + 60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    text = out.decode(errors="replace") + log_file.read_text()
    assert proc.returncode == 0, (proc.returncode, text[-3000:])
    for crash in ("terminate called", "FATAL", "Traceback"):
        assert crash not in text, text[-3000:]
    assert (vcam / "closed").is_file(), "the virtual camera was not released"
    (path,) = recordings.glob("*.mp4")
    info = probe(path)
    assert info["codec"] == "h264" and info["duration"] >= 1.0
    assert decode_errors(path) == ""
    assert len(decode(path)) == info["frames"]
    assert "recording saved" in log_file.read_text()
