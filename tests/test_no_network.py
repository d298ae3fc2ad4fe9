"""No network, ever: the real daemon, traced with strace, reaches no address but loopback and
writes nothing in $HOME outside our own folders.

onnxruntime's pip build has telemetry on by default: about 9 s after the model loads it asks DNS
for ``mobile.events.data.microsoft.com`` and writes a device id under
``~/.cache/Microsoft/DeveloperTools/.onnxruntime/``. ``faceblur_cam/__init__.py`` forces
``ORT_DISABLE_TELEMETRY=1`` before anything can import onnxruntime; this test proves it holds.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="strace is Linux's"),
    pytest.mark.skipif(shutil.which("strace") is None, reason="strace not installed (tests/apt-packages.txt)"),
]

FAKE_VCAM = "faceblur_cam.sinks.fake_vcam:FakeCameraBackend"
WATCH_AFTER_MODEL_S = 15.0  # onnxruntime's telemetry fired ~9 s after the model loaded
# connect/sendto/sendmsg lines that carry an internet address
INET = re.compile(r"sa_family=AF_INET6?, (?P<addr>[^}]*)\}")
PORT = re.compile(r"sin6?_port=htons\((\d+)\)")
ADDR = re.compile(r'inet_(?:addr|pton)\((?:AF_INET6?, )?"(?P<ip>[^"]+)"')


def small_clip(path: Path, wh: tuple[int, int] = (128, 96), frames: int = 30) -> Path:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"mp4v"), 30.0, wh)
    assert writer.isOpened()
    rng = np.random.default_rng(0)
    for _ in range(frames):
        writer.write(rng.integers(0, 256, (wh[1], wh[0], 3), dtype=np.uint8))
    writer.release()
    return path


def private_env(home: Path) -> dict[str, str]:
    """A fresh HOME and XDG dirs: everything the app (or a library) writes lands in ``home``."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("XDG_") and k not in ("ORT_DISABLE_TELEMETRY", "DISPLAY", "WAYLAND_DISPLAY")}
    env["HOME"] = str(home)
    for kind, rel in (("CONFIG_HOME", ".config"), ("CACHE_HOME", ".cache"), ("DATA_HOME", ".local/share"),
                      ("STATE_HOME", ".local/state"), ("RUNTIME_DIR", "run")):
        folder = home / rel
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        env[f"XDG_{kind}"] = str(folder)
    return env


def internet_calls(trace: str) -> list[str]:
    """strace lines that connect or send to anything but loopback (or to port 53 at all)."""
    bad = []
    for line in trace.splitlines():
        if not re.search(r"\b(connect|sendto|sendmsg)\(", line):
            continue
        found = INET.search(line)
        if found is None:
            continue  # AF_UNIX, AF_NETLINK: local
        addr = found.group("addr")
        port = PORT.search(addr)
        found_ip = ADDR.search(addr)
        ip = found_ip.group("ip") if found_ip else ""
        loopback = ip.startswith("127.") or ip in ("::1", "::ffff:127.0.0.1")
        if not loopback or (port is not None and port.group(1) == "53"):
            bad.append(line)
    return bad


def children(pid: int) -> list[int]:
    return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


def files_under(folder: Path) -> set[Path]:
    return {p.relative_to(folder) for p in folder.rglob("*") if p.is_file()}


def test_internet_calls_parser_sees_dns_and_ignores_loopback() -> None:
    trace = "\n".join([
        '12 connect(5, {sa_family=AF_INET, sin_port=htons(41234), sin_addr=inet_addr("127.0.0.1")}, 16) = 0',
        '12 connect(7, {sa_family=AF_UNIX, sun_path="/run/x"}, 110) = 0',
        '13 sendto(9, "\\x12", 40, MSG_NOSIGNAL, {sa_family=AF_INET, sin_port=htons(53), '
        'sin_addr=inet_addr("10.255.255.53")}, 16) = 40',
        '13 connect(9, {sa_family=AF_INET6, sin6_port=htons(443), sin6_flowinfo=htonl(0), '
        'inet_pton(AF_INET6, "2603:1030::1", &sin6_addr), sin6_scope_id=0}, 28) = -1',
        '13 connect(9, {sa_family=AF_INET, sin_port=htons(53), sin_addr=inet_addr("127.0.0.53")}, 16) = 0',
    ])
    assert len(internet_calls(trace)) == 3


def test_the_daemon_sends_nothing_and_writes_nothing_of_others(tmp_path: Path) -> None:
    home = tmp_path / "home"
    env = private_env(home)
    clip = small_clip(tmp_path / "clip.mp4")
    config = tmp_path / "config.toml"
    config.write_text("[camera]\nwidth = 128\nheight = 96\n")
    trace_file = tmp_path / "strace.txt"
    before = files_under(home)
    cmd = ["strace", "-f", "-qq", "-e", "trace=connect,sendto,sendmsg", "-o", str(trace_file),
           sys.executable, "-m", "faceblur_cam", "run", "--no-tray", "--source", str(clip),
           "--vcam-backend", FAKE_VCAM, "--config", str(config)]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            cwd=tmp_path)
    log_file = home / ".local/state/faceblur-cam/log/faceblur-cam.log"
    try:
        deadline = time.monotonic() + 90
        while not (log_file.exists() and "status: Protecting" in log_file.read_text()):
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "the daemon did not start protecting"
            time.sleep(0.2)
        time.sleep(WATCH_AFTER_MODEL_S)
        assert proc.poll() is None, proc.communicate()
        for pid in children(proc.pid):  # the daemon itself; strace ends when it does
            os.kill(pid, signal.SIGTERM)
        proc.wait(30)
    finally:
        if proc.poll() is None:
            for pid in children(proc.pid):
                os.kill(pid, signal.SIGKILL)
            proc.kill()
            proc.wait(10)
    _out, err = proc.communicate()
    assert "Traceback" not in err, err

    assert internet_calls(trace_file.read_text()) == []
    assert not (home / ".cache" / "Microsoft").exists()
    ours = {Path(p) for p in (".local/state/faceblur-cam", ".config/faceblur-cam", ".cache/faceblur-cam",
                              ".local/share/faceblur-cam", "run/faceblur-cam")}
    written = files_under(home) - before
    others = sorted(str(p) for p in written if not any(p.is_relative_to(o) for o in ours))
    assert others == []
