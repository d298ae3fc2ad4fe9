"""One running FaceBlur Cam per user, and a way for a second launch to reach it.

- The lock is an OS file lock (``flock`` on POSIX, ``msvcrt.locking`` on Windows) on
  ``<user runtime dir>/faceblur-cam/instance.lock``. The OS drops it when the holder exits or
  dies, however it dies; the file staying behind means nothing.
- The holder answers requests on a loopback-only TCP port (127.0.0.1, never the network). It
  writes the port and a random token to ``instance.json`` beside the lock (readable by the user
  only); a request is one line ``<token> <command>`` answered by ``ok`` or ``unknown``.

    instance = claim()                       # None: another instance holds the lock
    instance.serve(on_request)               # on_request("show") runs on a daemon thread
    ...
    instance.release()                       # or let the process exit

    ask_running_instance("show")             # from the second launch: True if it answered
"""

from __future__ import annotations

import hmac
import json
import logging
import os
import secrets
import socket
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

log = logging.getLogger(__name__)

COMMANDS = ("show", "pause", "resume")
LOCK_NAME = "instance.lock"
INFO_NAME = "instance.json"


def runtime_dir() -> Path:
    """The user runtime dir (``$XDG_RUNTIME_DIR/faceblur-cam`` on Linux), created 0700.

    platformdirs ignores an ``$XDG_RUNTIME_DIR`` that is not a 0700 directory of this user and
    falls back to ``/run/user/<uid>`` or ``/tmp/runtime-<uid>``.
    """
    with warnings.catch_warnings():  # platformdirs warns when it falls back
        warnings.simplefilter("ignore")
        try:
            folder = Path(platformdirs.user_runtime_dir(APP_DIR_NAME, appauthor=False,
                                                        ensure_exists=True))
        except OSError:
            folder = Path(tempfile.gettempdir()) / f"{APP_DIR_NAME}-{_user_id()}"
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError:
        folder = Path(tempfile.gettempdir()) / f"{APP_DIR_NAME}-{_user_id()}"
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
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
        self._token = secrets.token_hex(16)

    def serve(self, on_request: Callable[[str], None]) -> None:
        """Answer second launches on a daemon thread; ``on_request(command)`` runs there."""
        server = socket.create_server(("127.0.0.1", 0))
        self._server = server
        port = server.getsockname()[1]
        _write_private(self.folder / INFO_NAME, json.dumps({"port": port, "token": self._token,
                                                            "pid": os.getpid()}))
        thread = threading.Thread(target=self._serve, args=(server, on_request),
                                  name="faceblur-instance", daemon=True)
        thread.start()
        log.debug("single instance: answering on 127.0.0.1:%d", port)

    def _serve(self, server: socket.socket, on_request: Callable[[str], None]) -> None:
        while True:
            try:
                conn, _addr = server.accept()
            except OSError:  # closed by release()
                return
            with conn:
                try:
                    conn.settimeout(2.0)
                    line = conn.makefile("rb").readline(200).decode("utf-8", "replace").split()
                    token, command = (line + ["", ""])[:2]
                    if not hmac.compare_digest(token, self._token) or command not in COMMANDS:
                        conn.sendall(b"unknown\n")
                        continue
                    log.info("another launch asked to %s", command)
                    on_request(command)
                    conn.sendall(b"ok\n")
                except Exception:
                    log.exception("single instance: bad request")

    def release(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
            try:
                (self.folder / INFO_NAME).unlink()
            except OSError:
                pass
        if self._lock_file is not None:
            _unlock(self._lock_file)
            self._lock_file.close()
            self._lock_file = None


def claim(folder: Path | None = None) -> InstanceLock | None:
    """Take the lock, or None when another live process holds it."""
    folder = folder or runtime_dir()
    lock_file = open(folder / LOCK_NAME, "a+b")  # noqa: SIM115 - held for the process's life
    if not _try_lock(lock_file):
        lock_file.close()
        return None
    return InstanceLock(folder, lock_file)


def ask_running_instance(command: str = "show", folder: Path | None = None,
                         timeout: float = 5.0) -> bool:
    """Send ``command`` to the running instance; True when it answered ``ok``.

    Waits up to ``timeout`` for an instance that is still starting to begin answering.
    """
    folder = folder or runtime_dir()
    deadline = time.monotonic() + timeout
    while True:
        try:
            info = json.loads((folder / INFO_NAME).read_text(encoding="utf-8"))
            with socket.create_connection(("127.0.0.1", int(info["port"])), timeout=2.0) as conn:
                conn.sendall(f"{info['token']} {command}\n".encode())
                return conn.makefile("rb").readline(100).strip() == b"ok"
        except (OSError, ValueError, KeyError) as exc:
            if time.monotonic() >= deadline:
                log.debug("no answer from the running instance: %s", exc)
                return False
            time.sleep(0.2)


def _write_private(path: Path, text: str) -> None:
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
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
