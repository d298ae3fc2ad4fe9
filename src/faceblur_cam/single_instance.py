"""One running FaceBlur Cam per user, and a private way for a second launch to reach it.

- The lock is an OS file lock (``flock`` on POSIX, ``msvcrt.locking`` on Windows) on
  ``<user runtime dir>/faceblur-cam/instance.lock``. The OS drops it when the holder exits or
  dies, however it dies; the file staying behind means nothing.
- The folder must be a real folder (not a link) that this user owns, with no access for anyone
  else (made 0700); otherwise ``InstanceDirError``: another user could have planted it.
  Files in it are opened without following links (``O_NOFOLLOW``) and created exclusively.
- POSIX: the holder answers on a Unix socket ``control.sock`` in that folder, so only this user
  can connect (and on Linux the peer's uid is checked too). A request is one line
  ``<command>``; the answer ``ok`` or ``unknown``, or ``busy`` when all client slots are taken
  (the client then retries: "busy" is not "not running").
- Windows (no Unix sockets in Python there): a loopback-only TCP port, written with a random
  token to ``instance.json`` (readable by the user only); a request is ``<token> <command>``.
- Each client gets 2 s in total to send its line, on its own thread (at most 4 at a time): a
  slow or malformed client is dropped with a log line, never a traceback, and cannot block the
  owner's ``faceblur-cam pause``.

    instance = claim()                       # None: another instance holds the lock
    instance.serve(on_request)               # on_request("show"), one request at a time
    ...
    instance.release()                       # removes the socket/instance file (also at exit)

    ask_running_instance("show")             # from the second launch: True if it answered
"""

from __future__ import annotations

import atexit
import enum
import hmac
import json
import logging
import os
import secrets
import socket
import stat
import struct
import sys
import tempfile
import threading
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import IO

import platformdirs

from faceblur_cam.config import APP_DIR_NAME
from faceblur_cam.errors import UserError
from faceblur_cam.remote import WORDS

log = logging.getLogger(__name__)

LOCK_NAME = "instance.lock"
INFO_NAME = "instance.json"  # Windows only: port and token
SOCKET_NAME = "control.sock"  # POSIX
REQUEST_SECONDS = 2.0  # a client's whole request line must arrive within this
MAX_REQUEST_BYTES = 200
MAX_CLIENTS = 16  # handled at once (a dozen clients reconnecting in a loop leave room); more get "busy"
UNIX = hasattr(socket, "AF_UNIX") and sys.platform != "win32"
NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)


class InstanceDirError(UserError):
    """The runtime folder is not safely ours (another owner, a link, open to others)."""


def runtime_dir() -> Path:
    """The user runtime dir (``$XDG_RUNTIME_DIR/faceblur-cam`` on Linux), created 0700 and
    checked to be ours (``InstanceDirError`` otherwise).

    platformdirs ignores an ``$XDG_RUNTIME_DIR`` that is not a 0700 directory of this user and
    falls back to ``/run/user/<uid>`` or ``/tmp/runtime-<uid>``; if that cannot be made either,
    ``<tmp>/faceblur-cam-<uid>``, which anyone could pre-create: hence the check.
    """
    with warnings.catch_warnings():  # platformdirs warns when it falls back
        warnings.simplefilter("ignore")
        try:
            folder = Path(platformdirs.user_runtime_dir(APP_DIR_NAME, appauthor=False,
                                                        ensure_exists=True))
        except OSError:
            folder = _fallback_dir()
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError:
        folder = _fallback_dir()
        try:
            folder.mkdir(mode=0o700, exist_ok=True)
        except OSError as exc:
            raise InstanceDirError(f"cannot create {folder}: {exc}") from exc
    return ensure_private(folder)


def _fallback_dir() -> Path:
    return Path(tempfile.gettempdir()) / f"{APP_DIR_NAME}-{_user_id()}"


def ensure_private(folder: Path) -> Path:
    """``folder`` if it is a real directory owned by this user, made 0700; else ``InstanceDirError``."""
    try:
        st = os.lstat(folder)
    except OSError as exc:
        raise InstanceDirError(f"cannot use {folder}: {exc}") from exc
    if stat.S_ISLNK(st.st_mode) or not stat.S_ISDIR(st.st_mode):
        raise InstanceDirError(f"refusing {folder}: it is a link or not a folder (another user may have "
                               "planted it); remove it, or set XDG_RUNTIME_DIR to a folder of yours")
    getuid = getattr(os, "getuid", None)
    if getuid is not None:
        if st.st_uid != getuid():
            raise InstanceDirError(f"refusing {folder}: it belongs to another user (uid {st.st_uid}); remove "
                                   "it, or set XDG_RUNTIME_DIR to a folder of yours")
        if st.st_mode & 0o077:
            os.chmod(folder, 0o700)
    return folder


def _user_id() -> str:
    getuid = getattr(os, "getuid", None)
    return str(getuid()) if getuid else os.environ.get("USERNAME", "user")


class InstanceLock:
    """Held by the running instance. ``release()`` is idempotent; process exit releases too."""

    def __init__(self, folder: Path, lock_file: IO[bytes]):
        self.folder = folder
        self._lock_file: IO[bytes] | None = lock_file
        self._server: socket.socket | None = None
        self._token = "" if UNIX else secrets.token_hex(16)
        self._clients = threading.BoundedSemaphore(MAX_CLIENTS)
        self._one_at_a_time = threading.Lock()
        self._served_files: list[Path] = []

    def serve(self, on_request: Callable[[str], None]) -> None:
        """Answer second launches on daemon threads; ``on_request(command)`` runs there, one at a time."""
        if UNIX:
            try:
                server = _unix_server(self.folder / SOCKET_NAME)
            except OSError as exc:  # e.g. a path too long for a Unix socket: protect anyway
                log.warning("second launches and 'faceblur-cam pause' cannot reach this one: %s", exc)
                return
            self._served_files = [self.folder / SOCKET_NAME]
            log.debug("single instance: answering on %s", self.folder / SOCKET_NAME)
        else:
            server = socket.create_server(("127.0.0.1", 0))
            port = server.getsockname()[1]
            _write_private(self.folder / INFO_NAME, json.dumps({"port": port, "token": self._token,
                                                                "pid": os.getpid()}))
            self._served_files = [self.folder / INFO_NAME]
            log.debug("single instance: answering on 127.0.0.1:%d", port)
        self._server = server
        atexit.register(self.release)
        thread = threading.Thread(target=self._accept, args=(server, on_request),
                                  name="faceblur-instance", daemon=True)
        thread.start()

    def _accept(self, server: socket.socket, on_request: Callable[[str], None]) -> None:
        while True:
            try:
                conn, _addr = server.accept()
            except OSError:  # closed by release()
                return
            if not self._clients.acquire(blocking=False):
                log.warning("single instance: too many clients at once; dropping one")
                _say_busy(conn)
                continue
            threading.Thread(target=self._handle, args=(conn, on_request), name="faceblur-instance-client",
                             daemon=True).start()

    def _handle(self, conn: socket.socket, on_request: Callable[[str], None]) -> None:
        try:
            with conn:
                if not _same_user(conn):
                    log.warning("single instance: refused a client of another user")
                    return
                words = _read_line(conn, time.monotonic() + REQUEST_SECONDS).split()
                if self._token:
                    token, command = (words + ["", ""])[:2]
                    known = hmac.compare_digest(token, self._token) and len(words) == 2
                else:
                    command, known = (words or [""])[0], len(words) == 1
                if not known or command not in WORDS:
                    conn.sendall(b"unknown\n")
                    return
                log.info("another launch asked to %s", command)
                with self._one_at_a_time:
                    on_request(command)
                conn.sendall(b"ok\n")
        except (OSError, ValueError) as exc:
            log.warning("single instance: dropped a client: %s", exc)
        except Exception:  # on_request failed: keep serving, keep the details in the log file
            log.error("single instance: request failed", exc_info=log.isEnabledFor(logging.DEBUG))
        finally:
            self._clients.release()

    def release(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
            for path in self._served_files:
                try:
                    path.unlink()
                except OSError:
                    pass
        if self._lock_file is not None:
            _unlock(self._lock_file)
            self._lock_file.close()
            self._lock_file = None


def _say_busy(conn: socket.socket) -> None:
    """Tell a client we have no slot for it ("busy": it retries), without ever waiting on it."""
    try:
        conn.setblocking(False)
        conn.send(b"busy\n")
    except OSError:
        pass
    finally:
        conn.close()


def _read_line(conn: socket.socket, deadline: float) -> str:
    """One ASCII line, all of it before ``deadline``; ``ValueError`` for anything else."""
    data = b""
    while b"\n" not in data:
        left = deadline - time.monotonic()
        if left <= 0 or len(data) >= MAX_REQUEST_BYTES:
            raise ValueError("no complete request line in time")
        conn.settimeout(left)
        try:
            chunk = conn.recv(MAX_REQUEST_BYTES - len(data))
        except TimeoutError:
            raise ValueError("no complete request line in time") from None
        if not chunk:
            raise ValueError("request line without an end")
        data += chunk
    line = data.split(b"\n", 1)[0]
    if not line.isascii():
        raise ValueError("request is not ASCII")
    return line.decode("ascii")


def _same_user(conn: socket.socket) -> bool:
    """Linux: the peer's uid is ours (the folder's 0700 already keeps others out; this is the belt)."""
    peercred = getattr(socket, "SO_PEERCRED", None)
    if not UNIX or peercred is None or conn.family != socket.AF_UNIX:
        return True
    _pid, uid, _gid = struct.unpack("3i", conn.getsockopt(socket.SOL_SOCKET, peercred, struct.calcsize("3i")))
    return bool(uid == os.getuid())


def _unix_server(path: Path) -> socket.socket:
    """Listen on ``path`` (a stale socket of a dead instance is replaced: we hold the lock)."""
    try:
        if stat.S_ISSOCK(os.lstat(path).st_mode):
            path.unlink()
    except FileNotFoundError:
        pass
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        with _short_address(path) as address:
            server.bind(address)  # fails if anything else (a file, a link) is there: never followed
        os.chmod(path, 0o600)
        server.listen(8)
    except OSError:
        server.close()
        raise
    return server


class _short_address:
    """A Unix socket address within the ~107-byte limit: a long folder is reached through
    ``/proc/self/fd/N`` (Linux), an open handle on the folder we checked."""

    def __init__(self, path: Path):
        self.path = path
        self.fd: int | None = None

    def __enter__(self) -> str:
        if len(os.fsencode(str(self.path))) < 100 or not os.path.isdir("/proc/self/fd"):
            return str(self.path)
        self.fd = os.open(self.path.parent, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
        return f"/proc/self/fd/{self.fd}/{self.path.name}"

    def __exit__(self, *exc: object) -> None:
        if self.fd is not None:
            os.close(self.fd)


def claim(folder: Path | None = None) -> InstanceLock | None:
    """Take the lock, or None when another live process holds it."""
    folder = ensure_private(folder) if folder else runtime_dir()
    try:
        fd = os.open(folder / LOCK_NAME, os.O_RDWR | os.O_CREAT | NOFOLLOW, 0o600)
    except OSError as exc:
        raise InstanceDirError(f"cannot open {folder / LOCK_NAME}: {exc}") from exc
    lock_file = os.fdopen(fd, "r+b")
    if not _try_lock(lock_file):
        lock_file.close()
        return None
    return InstanceLock(folder, lock_file)


class Answer(enum.Enum):
    OK = "the running instance did it"
    BUSY = "an instance is running but did not take the request in time (other clients)"
    NOT_RUNNING = "nothing answers: no instance is running"
    UNKNOWN = "the running instance does not know the request"


def request_running_instance(command: str = "show", folder: Path | None = None,
                             timeout: float = 5.0) -> Answer:
    """Send ``command`` to the running instance, retrying until ``timeout``.

    A connection that is refused (no socket, nobody listening) is "not running": at once when
    nobody holds the instance lock, else retried (an instance still starting); one that is
    accepted and then dropped or answered ``busy`` (too many clients at once, e.g. a reconnect
    storm) is "busy", retried with a short
    growing pause: the owner's own request gets through as soon as a slot is free.
    """
    folder = ensure_private(folder) if folder else runtime_dir()
    deadline = time.monotonic() + timeout
    running = False
    pause = 0.05
    while True:
        try:
            with _connect(folder) as (conn, prefix):
                running = True
                conn.sendall(f"{prefix}{command}\n".encode())
                answer = conn.makefile("rb").readline(100).strip()
            if answer == b"ok":
                return Answer.OK
            if answer == b"unknown":
                return Answer.UNKNOWN
            log.debug("the running instance is busy (%r)", answer)
        except (ConnectionRefusedError, FileNotFoundError, json.JSONDecodeError, KeyError) as exc:
            log.debug("no instance answers: %s", exc)
            if not running and not _lock_held(folder):  # none starting either: say so now
                return Answer.NOT_RUNNING
        except (OSError, ValueError) as exc:  # accepted, then dropped or timed out: it is there
            running = True
            log.debug("the running instance dropped the request: %s", exc)
        if time.monotonic() >= deadline:
            return Answer.BUSY if running else Answer.NOT_RUNNING
        time.sleep(min(pause, max(0.0, deadline - time.monotonic())))
        pause = min(pause * 1.5, 0.5)


def _lock_held(folder: Path) -> bool:
    """Whether a process holds the instance lock (one running, or starting and not answering
    yet). Probed by taking it for a moment."""
    try:
        fd = os.open(folder / LOCK_NAME, os.O_RDWR | NOFOLLOW)
    except FileNotFoundError:
        return False
    except OSError:  # cannot tell: assume one is starting (the caller retries until its timeout)
        return True
    with os.fdopen(fd, "r+b") as lock_file:
        if not _try_lock(lock_file):
            return True
        _unlock(lock_file)
        return False


def ask_running_instance(command: str = "show", folder: Path | None = None,
                         timeout: float = 5.0) -> bool:
    """Send ``command`` to the running instance; True when it answered ``ok`` (see
    ``request_running_instance``)."""
    return request_running_instance(command, folder, timeout) is Answer.OK


class _connect:
    """A connection to the running instance and the prefix its requests need (the token on TCP)."""

    def __init__(self, folder: Path):
        if UNIX:
            self.conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.conn.settimeout(REQUEST_SECONDS + 1)
            try:
                with _short_address(folder / SOCKET_NAME) as address:
                    self.conn.connect(address)
            except OSError:
                self.conn.close()
                raise
            self.prefix = ""
        else:
            info = json.loads((folder / INFO_NAME).read_text(encoding="utf-8"))
            self.conn = socket.create_connection(("127.0.0.1", int(info["port"])), timeout=REQUEST_SECONDS + 1)
            self.prefix = f"{info['token']} "

    def __enter__(self) -> tuple[socket.socket, str]:
        return self.conn, self.prefix

    def __exit__(self, *exc: object) -> None:
        self.conn.close()


def _write_private(path: Path, text: str) -> None:
    """Write ``path`` for this user only, through a new file (never an existing one or a link)."""
    tmp = path.with_name(f"{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | NOFOLLOW, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, path)


if sys.platform == "win32":
    import msvcrt

    def _try_lock(f: IO[bytes]) -> bool:
        try:
            f.seek(0)
            msvcrt.locking(f.fileno(), msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True

    def _unlock(f: IO[bytes]) -> None:
        try:
            f.seek(0)
            msvcrt.locking(f.fileno(), msvcrt.LK_UNLCK, 1)
        except OSError:
            pass

else:
    import fcntl

    def _try_lock(f: IO[bytes]) -> bool:
        try:
            fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            return False
        return True

    def _unlock(f: IO[bytes]) -> None:
        fcntl.flock(f.fileno(), fcntl.LOCK_UN)
