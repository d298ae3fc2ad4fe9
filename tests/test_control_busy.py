"""The control channel under a reconnect storm (issue 24): the owner's ``faceblur-cam resume``
gets through while a dozen clients of the same user reconnect in a loop, and a busy channel is
told apart from "not running"."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from faceblur_cam.single_instance import SOCKET_NAME, Answer, claim, request_running_instance

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Unix sockets")


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    path = tmp_path / "faceblur-cam"
    path.mkdir(mode=0o700)
    return path


def storm(folder: Path, clients: int, stop: threading.Event,
          connected: threading.Event | None = None) -> list[threading.Thread]:
    """``clients`` threads that connect, say nothing until dropped, and reconnect at once;
    ``connected`` is set once every one of them has connected."""
    lock, seen = threading.Lock(), set()

    def loop() -> None:
        while not stop.is_set():
            try:
                with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
                    conn.settimeout(5)
                    conn.connect(str(folder / SOCKET_NAME))
                    with lock:
                        seen.add(threading.get_ident())
                        if connected is not None and len(seen) == clients:
                            connected.set()
                    conn.recv(100)  # until the instance drops us (2 s) or says busy
            except OSError:
                time.sleep(0.01)

    threads = [threading.Thread(target=loop, daemon=True) for _ in range(clients)]
    for thread in threads:
        thread.start()
    return threads


def control(folder: Path, command: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "XDG_RUNTIME_DIR": str(folder.parent)}
    return subprocess.run([sys.executable, "-m", "faceblur_cam", command], capture_output=True, text=True,
                          timeout=120, env=env)


def test_owner_resume_gets_through_a_reconnect_storm(folder: Path) -> None:
    instance = claim(folder)
    assert instance is not None
    done: list[str] = []
    instance.serve(done.append)
    stop, connected = threading.Event(), threading.Event()
    threads = storm(folder, 12, stop, connected)
    try:
        assert connected.wait(60), "the storm never got all its clients in"  # the storm holds its slots
        result = control(folder, "resume")
        assert result.returncode == 0, result.stderr
        assert "not running" not in result.stderr
        assert done == ["resume"]
    finally:
        stop.set()
        instance.release()
        for thread in threads:
            thread.join(10)


def test_a_channel_that_drops_everyone_is_busy_not_not_running(folder: Path) -> None:
    """A listener that accepts and drops every client: the instance is there, just busy."""
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(folder / SOCKET_NAME))
    server.listen(8)
    stop = threading.Event()

    def drop_all() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = server.accept()
                conn.close()
            except OSError:
                continue

    thread = threading.Thread(target=drop_all, daemon=True)
    thread.start()
    try:
        assert request_running_instance("resume", folder, timeout=1.5) is Answer.BUSY
        result = control(folder, "resume")
        assert result.returncode == 2
        assert "busy" in result.stderr and "not running" not in result.stderr, result.stderr
    finally:
        stop.set()
        thread.join(5)
        server.close()


def test_nothing_listening_is_not_running_at_once(folder: Path) -> None:
    """Nobody holds the instance lock: "not running" without retrying out the timeout (a keyboard
    shortcut used while FaceBlur Cam is not running answers at once, not after 10 s)."""
    started = time.monotonic()
    assert request_running_instance("resume", folder, timeout=120.0) is Answer.NOT_RUNNING
    assert time.monotonic() - started < 60
    result = control(folder, "pause")
    assert result.returncode == 2 and "FaceBlur Cam is not running" in result.stderr, result.stderr


def test_an_instance_still_starting_is_waited_for(folder: Path) -> None:
    """The lock is held but nothing answers yet (the instance is starting): the request is retried
    and gets through once it serves."""
    instance = claim(folder)
    assert instance is not None
    done: list[str] = []
    asked = threading.Event()
    serving = threading.Thread(target=lambda: asked.wait(60) and instance.serve(done.append), daemon=True)
    serving.start()
    try:
        with_retries = threading.Thread(target=lambda: done.append(
            request_running_instance("pause", folder, timeout=120.0).name), daemon=True)
        with_retries.start()
        time.sleep(0.5)  # the request has found nobody answering at least once by now
        asked.set()
        with_retries.join(120)
        assert done == ["pause", "OK"]
    finally:
        instance.release()
