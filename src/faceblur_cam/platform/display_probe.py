"""Does the desktop session named by ``DISPLAY`` / ``WAYLAND_DISPLAY`` really answer?

A set but dead ``DISPLAY`` (an X server that went away, a stale ssh forwarding, a typo) is
worse than none: Qt, which OpenCV's window uses, calls ``abort()`` when it cannot connect, and
takes the whole daemon with it. So before a window is opened we connect ourselves, with a short
timeout, and for X11 exchange the connection set-up (with the cookie from ``XAUTHORITY`` or
``~/.Xauthority``, as libxcb would): an X server that replies at all is there.

Every function returns ``None`` when the display answers, else one sentence saying why not.
Pure socket code, no X library; the clock is the socket timeout.
"""

from __future__ import annotations

import os
import re
import socket
import struct
from dataclasses import dataclass
from pathlib import Path

TIMEOUT_S = 2.0
X11_TCP_BASE = 6000
FAMILY_LOCAL, FAMILY_WILD = 256, 65535
_DISPLAY = re.compile(r"^(?P<host>[^:/]*):(?P<number>\d+)(?:\.\d+)?$")


@dataclass(frozen=True)
class X11Display:
    """``DISPLAY`` taken apart: ``host`` "" (or "unix") is a local socket, else TCP."""

    host: str
    number: int

    @property
    def local(self) -> bool:
        return self.host in ("", "unix")


def parse_display(name: str) -> X11Display | None:
    """``":0"``, ``":1.0"``, ``"unix:0"``, ``"localhost:10.0"``; None for forms we do not know
    (they are then given the benefit of the doubt)."""
    match = _DISPLAY.match(name.strip())
    if match is None:
        return None
    return X11Display(match["host"], int(match["number"]))


def x11_problem(name: str, timeout: float = TIMEOUT_S, xauthority: Path | None = None) -> str | None:
    """None when the X server ``name`` answers the connection set-up within ``timeout``."""
    display = parse_display(name)
    if display is None:
        return None
    try:
        conn = _connect_x11(display, timeout)
    except OSError as exc:
        return f"the X display {name} does not answer ({_why(exc)})"
    with conn:
        try:
            conn.sendall(_setup_request(_cookie(display, xauthority)))
            head = _read_exactly(conn, 8)
        except OSError as exc:
            return f"the X display {name} does not answer ({_why(exc)})"
        if head[0] == 0:  # Failed: byte 1 is the length of the reason that follows the header
            reason = _read_reason(conn, head[1]) or "no reason given"
            return f"the X display {name} refuses connections ({reason})"
    return None  # 1 Success or 2 Authenticate: a server is there and talking


def wayland_problem(name: str, runtime_dir: str | None, timeout: float = TIMEOUT_S) -> str | None:
    """None when the Wayland compositor socket ``name`` accepts a connection."""
    path = name if name.startswith("/") else os.path.join(runtime_dir or "", name)
    if not os.path.isabs(path):
        return f"the Wayland display {name} cannot be found (XDG_RUNTIME_DIR is not set)"
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
            conn.settimeout(timeout)
            conn.connect(path)
    except OSError as exc:
        return f"the Wayland display {name} does not answer ({_why(exc)})"
    return None


def _connect_x11(display: X11Display, timeout: float) -> socket.socket:
    if not display.local:
        return socket.create_connection((display.host, X11_TCP_BASE + display.number), timeout=timeout)
    path = f"/tmp/.X11-unix/X{display.number}"
    last: OSError = FileNotFoundError(f"no {path}")
    for address in ("\0" + path, path):  # Linux X servers also listen on an abstract socket
        conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        conn.settimeout(timeout)
        try:
            conn.connect(address)
        except OSError as exc:
            conn.close()
            last = exc
            continue
        return conn
    if display.host == "":  # libxcb tries TCP on localhost last, too
        try:
            return socket.create_connection(("localhost", X11_TCP_BASE + display.number), timeout=timeout)
        except OSError:
            pass
    raise last


def _setup_request(cookie: tuple[bytes, bytes] | None) -> bytes:
    name, data = cookie or (b"", b"")
    head = struct.pack("<cxHHHHxx", b"l", 11, 0, len(name), len(data))
    return head + _pad4(name) + _pad4(data)


def _pad4(data: bytes) -> bytes:
    return data + b"\0" * (-len(data) % 4)


def _read_exactly(conn: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = conn.recv(size - len(data))
        if not chunk:
            raise ConnectionResetError("closed the connection without a reply")
        data += chunk
    return data


def _read_reason(conn: socket.socket, size: int) -> str:
    try:
        return _read_exactly(conn, size).decode("latin-1").strip()
    except OSError:
        return ""


def _why(exc: OSError) -> str:
    if isinstance(exc, TimeoutError | socket.timeout):
        return "no reply in time"
    if isinstance(exc, FileNotFoundError | ConnectionRefusedError):
        return "nothing is listening there"
    return exc.strerror or str(exc)


def _cookie(display: X11Display, xauthority: Path | None) -> tuple[bytes, bytes] | None:
    """The (name, data) authorization entry libxcb would send, if the Xauthority file has one."""
    path = xauthority or Path(os.environ.get("XAUTHORITY") or Path.home() / ".Xauthority")
    try:
        raw = path.read_bytes()
    except OSError:
        return None
    hostname = socket.gethostname().encode()
    number = str(display.number).encode()
    for family, address, entry_number, name, data in _xauth_entries(raw):
        if entry_number not in (number, b""):
            continue
        if family == FAMILY_WILD or (family == FAMILY_LOCAL and address == hostname) or not display.local:
            return name, data
    return None


def _xauth_entries(raw: bytes) -> list[tuple[int, bytes, bytes, bytes, bytes]]:
    """(family, address, number, name, data) for each record of an Xauthority file (big-endian
    16-bit family, then four length-prefixed strings); a truncated tail is ignored."""
    entries: list[tuple[int, bytes, bytes, bytes, bytes]] = []
    at = 0
    while at + 2 <= len(raw):
        (family,) = struct.unpack_from(">H", raw, at)
        at += 2
        fields: list[bytes] = []
        for _ in range(4):
            if at + 2 > len(raw):
                return entries
            (size,) = struct.unpack_from(">H", raw, at)
            fields.append(raw[at + 2 : at + 2 + size])
            at += 2 + size
        if at > len(raw):
            return entries
        entries.append((family, fields[0], fields[1], fields[2], fields[3]))
    return entries
