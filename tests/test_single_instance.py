"""One instance per user: the OS lock, its release on death, and the second launch's request."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from evaluate import eval_dir

from faceblur_cam.single_instance import INFO_NAME, SOCKET_NAME, UNIX, ask_running_instance, claim, runtime_dir

ROOT = Path(__file__).resolve().parents[1]
EVAL_IMAGES = eval_dir() / "otb_girl" / "img"
FAKE_VCAM = "faceblur_cam.sinks.fake_vcam:FakeCameraBackend"


def test_second_claim_fails_while_the_first_holds_and_succeeds_after_release(tmp_path: Path) -> None:
    first = claim(tmp_path)
    assert first is not None
    assert claim(tmp_path) is None
    first.release()
    again = claim(tmp_path)
    assert again is not None
    again.release()


def test_the_lock_dies_with_its_holder_even_when_killed(tmp_path: Path) -> None:
    holder = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(f"""
            import sys, time
            from pathlib import Path
            from faceblur_cam.single_instance import claim
            lock = claim(Path({str(tmp_path)!r}))
            print("held" if lock else "busy", flush=True)
            time.sleep(60)
        """)],
        stdout=subprocess.PIPE, text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        assert claim(tmp_path) is None
    finally:
        holder.send_signal(signal.SIGKILL)  # a crash: no clean-up code runs
        holder.wait(10)
    assert (tmp_path / "instance.lock").exists()  # the file stays; it is not the lock
    lock = claim(tmp_path)
    assert lock is not None
    lock.release()


def test_a_second_launch_reaches_the_first(tmp_path: Path) -> None:
    first = claim(tmp_path)
    assert first is not None
    requests: list[str] = []
    first.serve(requests.append)
    channel = tmp_path / (SOCKET_NAME if UNIX else INFO_NAME)
    try:
        assert ask_running_instance("show", tmp_path, timeout=2)
        assert requests == ["show"]
        assert not ask_running_instance("format-disk", tmp_path, timeout=0)  # only known commands
        if UNIX:  # a Unix socket in a 0700 folder: only this user reaches it
            with socket.socket(socket.AF_UNIX) as conn:
                conn.settimeout(5)
                conn.connect(str(channel))
                conn.sendall(b"show please\n")
                assert conn.makefile("rb").readline().strip() == b"unknown"
        else:
            info = json.loads(channel.read_text())
            with socket.create_connection(("127.0.0.1", info["port"]), timeout=2) as conn:
                conn.sendall(b"wrong-token show\n")  # another local user cannot read the token
                assert conn.makefile("rb").readline().strip() == b"unknown"
        assert requests == ["show"]
        if os.name == "posix":
            assert channel.stat().st_mode & 0o077 == 0 and tmp_path.stat().st_mode & 0o077 == 0
    finally:
        first.release()
    assert not channel.exists()
    start = time.monotonic()
    assert not ask_running_instance("show", tmp_path, timeout=0.3)
    assert time.monotonic() - start < 2


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="XDG_RUNTIME_DIR is Linux's")
def test_the_lock_lives_in_xdg_runtime_dir_even_when_it_is_missing(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # tests and sessions that point XDG_RUNTIME_DIR at a new folder get their own lock
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path / "not-yet" / "runtime"))
    folder = runtime_dir()
    assert folder == tmp_path / "not-yet" / "runtime" / "faceblur-cam"
    assert folder.stat().st_mode & 0o077 == 0


@pytest.mark.e2e
def test_second_launch_of_the_app_asks_the_first_and_exits(tmp_path: Path) -> None:
    if not EVAL_IMAGES.is_dir():
        pytest.skip(f"no evaluation images at {EVAL_IMAGES}")
    runtime = tmp_path / "runtime"
    runtime.mkdir(mode=0o700)
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    env.update(XDG_RUNTIME_DIR=str(runtime), XDG_STATE_HOME=str(tmp_path / "state"),
               XDG_CONFIG_HOME=str(tmp_path / "config"), FACEBLUR_FAKE_VCAM_DIR=str(tmp_path / "vcam"))
    run = [sys.executable, "-m", "faceblur_cam", "run", "--no-tray", "--vcam-backend", FAKE_VCAM,
           "--source", str(EVAL_IMAGES)]
    first = subprocess.Popen(run, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    log_file = tmp_path / "state" / "faceblur-cam" / "log" / "faceblur-cam.log"
    try:
        deadline = time.monotonic() + 60
        while not (log_file.exists() and "status: Protecting" in log_file.read_text()):
            assert first.poll() is None, first.communicate()
            assert time.monotonic() < deadline, "the first instance did not start protecting"
            time.sleep(0.2)
        second = subprocess.run(run, env=env, capture_output=True, text=True, timeout=60, check=False)
        assert second.returncode == 0, second.stderr
        assert "already running" in second.stdout
        assert "Traceback" not in second.stderr
        deadline = time.monotonic() + 10
        while "another launch asked to show" not in log_file.read_text():
            assert time.monotonic() < deadline, "the first instance did not get the request"
            time.sleep(0.1)
        # no display here: the preview cannot open, and that must not take the daemon down
        time.sleep(1.0)
        assert first.poll() is None
        first.send_signal(signal.SIGTERM)
        assert first.wait(20) == 0
        # what it served on goes with it (the lock file may stay: it is not the lock)
        assert sorted(p.name for p in (runtime / "faceblur-cam").iterdir()) == ["instance.lock"]
    finally:
        if first.poll() is None:
            first.kill()
            first.wait(10)
    _out, err = first.communicate()
    assert "Traceback" not in err
