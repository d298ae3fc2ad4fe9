"""A display that does not answer never takes the daemon down.

Qt (OpenCV's preview window) calls ``abort()`` when it cannot reach ``DISPLAY``: ``faceblur-cam
show`` with a dead display killed the running daemon with exit 134. Now the display is asked
first (X11 connection set-up, short timeout) and the preview fails with a message instead.
The probe is tested against a real Xvfb (with and without an Xauthority cookie), a socket that
never answers, one that refuses, and nothing at all; the daemon as the real CLI in a subprocess.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest

from faceblur_cam.platform import display_probe
from faceblur_cam.platform.display_probe import parse_display, wayland_problem, x11_problem

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="X11 displays")

FAKE_BACKEND = "faceblur_cam.sinks.fake_vcam:FakeCameraBackend"


def free_display(start: int = 99) -> int:
    """A display number with no X server behind it (no socket file, abstract or TCP)."""
    for number in range(start, start + 200):
        if os.path.exists(f"/tmp/.X11-unix/X{number}"):
            continue
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
            try:
                probe.connect(f"\0/tmp/.X11-unix/X{number}")
                continue
            except OSError:
                pass
        with socket.socket() as tcp:
            if tcp.connect_ex(("127.0.0.1", 6000 + number)) == 0:
                continue
        return number
    raise AssertionError("no free X display number")


@pytest.fixture
def tcp_display() -> Iterator[tuple[str, socket.socket]]:
    """A listening TCP socket at 6000+N on 127.0.0.1, as ``127.0.0.1:N``; the test decides
    what (if anything) it answers."""
    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    for number in range(150, 400):
        try:
            server.bind(("127.0.0.1", 6000 + number))
            break
        except OSError:
            continue
    else:
        pytest.skip("no free port in 6150-6400")
    server.listen(4)
    yield f"127.0.0.1:{number}", server
    server.close()


def answer_once(server: socket.socket, reply: bytes) -> list[bytes]:
    """Accept one client, record its set-up request, send ``reply``."""
    received: list[bytes] = []

    def serve() -> None:
        conn, _ = server.accept()
        with conn:
            conn.settimeout(5)
            received.append(conn.recv(1024))
            conn.sendall(reply)

    threading.Thread(target=serve, daemon=True).start()
    return received


# ----------------------------------------------------------------------------- the probe
def test_display_names_are_parsed() -> None:
    assert parse_display(":0").local and parse_display("unix:0").local  # type: ignore[union-attr]
    assert not parse_display("localhost:0").local  # type: ignore[union-attr]
    assert parse_display(":1.0").number == 1  # type: ignore[union-attr]
    assert parse_display("localhost:10.0").host == "localhost"  # type: ignore[union-attr]
    assert parse_display("/private/tmp/com.apple.launchd/org.xquartz:0") is None
    assert x11_problem("garbage") is None  # unknown forms get the benefit of the doubt


def test_nothing_listening_is_a_dead_display() -> None:
    number = free_display()
    started = time.monotonic()
    problem = x11_problem(f":{number}", timeout=1.0)
    assert problem == f"the X display :{number} does not answer (nothing is listening there)"
    assert time.monotonic() - started < 3.0


def test_a_server_that_never_replies_is_a_dead_display(tcp_display) -> None:
    name, _server = tcp_display  # accepted by the kernel backlog, never answered
    started = time.monotonic()
    assert x11_problem(name, timeout=0.5) == f"the X display {name} does not answer (no reply in time)"
    assert time.monotonic() - started < 2.0


def test_a_server_that_refuses_says_why(tcp_display) -> None:
    name, server = tcp_display
    reason = b"No protocol specified"
    received = answer_once(server, bytes([0, len(reason)]) + b"\x0b\0\0\0\x06\0" + reason + b"\0\0\0")
    assert x11_problem(name, timeout=2.0) == f"the X display {name} refuses connections (No protocol specified)"
    assert received[0][:1] == b"l" and int.from_bytes(received[0][2:4], "little") == 11


def test_a_server_that_accepts_is_a_display(tcp_display) -> None:
    name, server = tcp_display
    answer_once(server, bytes([1, 0]) + b"\x0b\0\0\0\0\0")
    assert x11_problem(name, timeout=2.0) is None


def test_the_xauthority_cookie_is_sent(tcp_display, tmp_path: Path) -> None:
    name, server = tcp_display
    number = name.rsplit(":", 1)[1].encode()
    cookie = bytes(range(16))

    (tmp_path / "auth").write_bytes(xauth_record(0, b"otherhost", number + b"7", b"x" * 16)
                                    + xauth_record(0, b"127.0.0.1", number, cookie))
    received = answer_once(server, bytes([1, 0]) + b"\x0b\0\0\0\0\0")
    assert x11_problem(name, timeout=2.0, xauthority=tmp_path / "auth") is None
    request = received[0]
    assert request[12:30] == b"MIT-MAGIC-COOKIE-1" and request[32:48] == cookie


def test_a_wayland_socket_must_accept(tmp_path: Path) -> None:
    assert "does not answer" in (wayland_problem("wayland-9", str(tmp_path), timeout=0.5) or "")
    assert "XDG_RUNTIME_DIR" in (wayland_problem("wayland-9", None) or "")
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as server:
        server.bind(str(tmp_path / "wayland-9"))
        server.listen(1)
        assert wayland_problem("wayland-9", str(tmp_path), timeout=0.5) is None


def xauth_record(family: int, address: bytes, number: bytes, cookie: bytes) -> bytes:
    def field(data: bytes) -> bytes:
        return len(data).to_bytes(2, "big") + data

    return family.to_bytes(2, "big") + field(address) + field(number) + field(b"MIT-MAGIC-COOKIE-1") + field(cookie)


@pytest.fixture
def xvfb(tmp_path: Path) -> Iterator[tuple[str, bytes]]:
    """A real X server that only lets in clients with its cookie: (DISPLAY, cookie)."""
    if shutil.which("Xvfb") is None:
        pytest.fail("Xvfb is needed: install tests/apt-packages.txt (bash tests/run.sh)")
    cookie = os.urandom(16)
    auth = tmp_path / "server-auth"
    auth.write_bytes(xauth_record(display_probe.FAMILY_WILD, b"", b"", cookie))
    read_fd, write_fd = os.pipe()
    server = subprocess.Popen(["Xvfb", "-displayfd", str(write_fd), "-auth", str(auth), "-nolisten", "tcp",
                               "-screen", "0", "64x64x24"], pass_fds=(write_fd,),
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.close(write_fd)
    try:
        with os.fdopen(read_fd) as f:
            display = ":" + f.readline().strip()
        yield display, cookie
    finally:
        server.terminate()
        server.wait(10)


def test_a_real_x_server_answers_with_its_cookie_and_refuses_without(xvfb, tmp_path: Path) -> None:
    """Which cookie the probe sends, not how fast a server answers: a generous timeout (on a
    loaded 2-core machine Xvfb took over the probe's 2 s to refuse a wrong cookie)."""
    display, cookie = xvfb
    number = display[1:].encode()
    auth = tmp_path / "client-auth"
    patient = 60.0
    assert "refuses connections" in (x11_problem(display, patient, xauthority=tmp_path / "none") or "")
    auth.write_bytes(xauth_record(display_probe.FAMILY_LOCAL, socket.gethostname().encode(), number, bytes(16)))
    assert "refuses connections" in (x11_problem(display, patient, xauthority=auth) or "")  # a wrong cookie
    auth.write_bytes(xauth_record(display_probe.FAMILY_LOCAL, b"elsewhere", number, bytes(16))
                     + xauth_record(display_probe.FAMILY_LOCAL, socket.gethostname().encode(), number, cookie))
    assert x11_problem(display, patient, xauthority=auth) is None


def test_the_platform_asks_the_display(monkeypatch: pytest.MonkeyPatch) -> None:
    from faceblur_cam import platform

    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.setenv("DISPLAY", f":{free_display()}")
    assert not platform.display_available()
    assert "does not answer" in (platform.display_problem() or "")
    monkeypatch.delenv("DISPLAY")
    assert platform.display_problem() == "DISPLAY / WAYLAND_DISPLAY are not set"
    assert display_probe.TIMEOUT_S <= 3


# ----------------------------------------------------------------------------- the real daemon
@pytest.mark.e2e
def test_show_on_a_dead_display_leaves_the_daemon_running(tmp_path: Path) -> None:
    """Before: the daemon aborted (exit 134, "could not connect to display") on ``show``."""
    clip = tmp_path / "clip.mp4"
    writer = cv2.VideoWriter(str(clip), cv2.VideoWriter.fourcc(*"mp4v"), 30, (160, 120))
    for i in range(30):
        writer.write(np.full((120, 160, 3), 4 * i, np.uint8))
    writer.release()
    config = tmp_path / "config.toml"
    config.write_text("[camera]\nwidth = 160\nheight = 120\nloop = true\n")
    runtime = tmp_path / "runtime"
    runtime.mkdir(mode=0o700)
    env = {k: v for k, v in os.environ.items() if k not in ("WAYLAND_DISPLAY", "XAUTHORITY")}
    env.update(DISPLAY=f":{free_display()}", XDG_RUNTIME_DIR=str(runtime), HOME=str(tmp_path),
               XDG_STATE_HOME=str(tmp_path / "state"), XDG_CONFIG_HOME=str(tmp_path / "config"),
               XDG_CACHE_HOME=str(tmp_path / "cache"), XDG_DATA_HOME=str(tmp_path / "data"),
               FACEBLUR_FAKE_VCAM_DIR=str(tmp_path / "vcam"), FACEBLUR_FAKE_VCAM_FPS="2")
    cli = [sys.executable, "-m", "faceblur_cam"]
    run = [*cli, "run", "--no-tray", "--source", str(clip), "--config", str(config), "--vcam-backend", FAKE_BACKEND]
    daemon = subprocess.Popen(run, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    log_file = tmp_path / "state" / "faceblur-cam" / "log" / "faceblur-cam.log"

    def log() -> str:
        return log_file.read_text() if log_file.exists() else ""

    def wait_for(text: str, what: str) -> None:
        deadline = time.monotonic() + 60
        while text not in log():
            assert daemon.poll() is None, f"the daemon died ({daemon.returncode}) waiting for {what}"
            assert time.monotonic() < deadline, f"timed out waiting for {what}"
            time.sleep(0.1)

    try:
        wait_for("status: Protecting", "protected frames")
        show = subprocess.run([*cli, "show"], env=env, capture_output=True, text=True, timeout=60, check=False)
        assert show.returncode == 0, show.stderr
        wait_for("does not answer", "the preview to be refused")
        second = subprocess.run(run, env=env, capture_output=True, text=True, timeout=60, check=False)
        assert second.returncode == 0 and "already running" in second.stdout, second.stderr
        time.sleep(1.0)
        assert daemon.poll() is None, f"the daemon died ({daemon.returncode})"
        assert log().count("does not answer") >= 2
        daemon.send_signal(signal.SIGTERM)
        out, _ = daemon.communicate(timeout=30)
    finally:
        if daemon.poll() is None:
            daemon.kill()
            daemon.communicate()
    assert daemon.returncode == 0, out
    assert f"cannot open a preview window, no display: the X display {env['DISPLAY']} does not answer" in out
    for crash in ("could not connect to display", "Aborted", "Traceback"):
        assert crash not in out
