"""The control channel is private and robust: a folder another user planted (or a link) is
refused, links are never followed, and slow or malformed clients are dropped in time without a
traceback while the owner's own requests still get through."""

from __future__ import annotations

import logging
import os
import socket
import sys
import threading
import time
from pathlib import Path

import pytest

from faceblur_cam.single_instance import (
    LOCK_NAME,
    REQUEST_SECONDS,
    SOCKET_NAME,
    InstanceDirError,
    ask_running_instance,
    claim,
)

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Unix sockets, uids, O_NOFOLLOW")


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    path = tmp_path / "rt"
    path.mkdir(mode=0o700)
    return path


@pytest.fixture
def served(folder: Path):
    instance = claim(folder)
    assert instance is not None
    requests: list[str] = []
    instance.serve(requests.append)
    yield requests
    instance.release()


def connect(folder: Path) -> socket.socket:
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    conn.settimeout(10)
    conn.connect(str(folder / SOCKET_NAME))
    return conn


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to make a folder of another user")
def test_a_folder_of_another_user_is_refused(folder: Path) -> None:
    os.chown(folder, 4242, 4242)
    with pytest.raises(InstanceDirError, match="another user"):
        claim(folder)
    with pytest.raises(InstanceDirError, match="another user"):
        ask_running_instance("pause", folder, timeout=0)
    assert list(folder.iterdir()) == []


def test_a_linked_folder_is_refused(folder: Path, tmp_path: Path) -> None:
    link = tmp_path / "planted"
    link.symlink_to(folder)
    with pytest.raises(InstanceDirError, match="link"):
        claim(link)
    assert list(folder.iterdir()) == []


def test_an_open_folder_of_ours_is_made_private(folder: Path) -> None:
    folder.chmod(0o777)
    instance = claim(folder)
    assert instance is not None
    instance.release()
    assert folder.stat().st_mode & 0o777 == 0o700


def test_a_planted_link_is_never_followed(folder: Path, tmp_path: Path) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    (folder / LOCK_NAME).symlink_to(victim)
    with pytest.raises(InstanceDirError):
        claim(folder)
    (folder / LOCK_NAME).unlink()
    instance = claim(folder)
    assert instance is not None
    (folder / SOCKET_NAME).symlink_to(victim)  # the socket's name taken by a link: not replaced
    instance.serve(lambda _command: None)
    instance.release()
    assert victim.read_text() == "precious" and (folder / SOCKET_NAME).is_symlink()


def test_a_slow_client_is_dropped_and_does_not_block_the_owner(folder: Path, served: list[str]) -> None:
    slow = connect(folder)
    stop = threading.Event()

    def dribble() -> None:  # one byte every 1.5 s: used to hold the channel for minutes
        while not stop.is_set():
            try:
                slow.sendall(b"p")
            except OSError:
                return
            stop.wait(1.5)

    thread = threading.Thread(target=dribble, daemon=True)
    thread.start()
    try:
        started = time.monotonic()
        assert ask_running_instance("pause", folder, timeout=1)
        assert time.monotonic() - started < 1.0
        assert served == ["pause"]
        assert slow.recv(100) == b""  # dropped: closed by the server ...
        assert time.monotonic() - started < REQUEST_SECONDS + 1.0  # ... within the request time
    finally:
        stop.set()
        slow.close()


@pytest.mark.parametrize("request_bytes", [
    "pause \u00e9\u00e8\n".encode(),
    b"\xff\xfe\x00pause\n",
    b"pause",  # no newline, then the client closes
    b"x" * 5000,
    b"\n",
])
def test_malformed_requests_are_dropped_without_a_traceback(
        folder: Path, served: list[str], request_bytes: bytes, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="faceblur_cam.single_instance")
    with connect(folder) as conn:
        try:
            conn.sendall(request_bytes)
            conn.shutdown(socket.SHUT_WR)
            answer = conn.recv(100)
        except OSError:  # the server may close first: that is dropping it too
            answer = b""
    assert answer in (b"", b"unknown\n")
    assert ask_running_instance("resume", folder, timeout=1)  # still serving
    assert served == ["resume"]
    assert not [r for r in caplog.records if r.exc_info], "a traceback was logged"


def test_a_long_folder_path_still_serves(tmp_path: Path) -> None:
    """Unix socket paths are limited to ~107 bytes; test and user folders can be longer."""
    folder = tmp_path / ("deep-" * 20)
    folder.mkdir(mode=0o700)
    assert len(str(folder / SOCKET_NAME)) > 108
    instance = claim(folder)
    assert instance is not None
    requests: list[str] = []
    instance.serve(requests.append)
    try:
        assert ask_running_instance("show", folder, timeout=1)
        assert requests == ["show"]
    finally:
        instance.release()
    assert not (folder / SOCKET_NAME).exists()
