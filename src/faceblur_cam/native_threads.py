"""Threads left inside native code (a model's inference, a camera read) that the process waits
for before it exits.

A daemon thread still inside OpenCV or onnxruntime when the interpreter ends is stopped in the
middle of C++ code, which aborts the process ("terminate called without an active exception",
"FATAL: exception not rethrown": exit 134 or -6) after everything was closed cleanly. The
owners join their threads with a short cap so that a stop is not held up (``join_or_leave``); a
thread still busy after that is handed to ``finish_before_exit``, and ``wait_for_native_threads`` (called by
``cli.main`` before returning, and at exit as a net) waits for it.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import time

log = logging.getLogger(__name__)

WAIT_S = 120.0  # however slow an inference is, this is when a stuck one is given up on
_left: dict[threading.Thread, tuple[str, float]] = {}
_lock = threading.Lock()


def finish_before_exit(thread: threading.Thread, what: str, wait_s: float = WAIT_S) -> None:
    """``thread`` (``what`` it is doing, for the log) was not joined: the process waits for it,
    ``wait_s`` at most (a camera read that never returns must not hold a quit up for minutes)."""
    with _lock:
        _left[thread] = (what, wait_s)


def join_or_leave(thread: threading.Thread, timeout_s: float, what: str, wait_s: float = WAIT_S) -> bool:
    """Join ``thread`` for ``timeout_s``; one still busy is logged and left to finish before the
    process exits (``finish_before_exit``). True when it was joined."""
    thread.join(max(0.0, timeout_s))
    if not thread.is_alive():
        return True
    log.warning("%s did not finish within %.1f s; it finishes before the process exits", what, timeout_s)
    finish_before_exit(thread, what, wait_s)
    return False


def wait_for_native_threads(timeout: float = WAIT_S) -> bool:
    """Wait for the threads left to finish; True when none is left inside native code."""
    started = time.monotonic()
    with _lock:
        left = dict(_left)
    for thread, (what, wait_s) in left.items():
        if thread.is_alive():
            log.info("waiting for %s to finish before exiting", what)
        thread.join(max(0.0, started + min(timeout, wait_s) - time.monotonic()))
    with _lock:
        for thread in left:
            if not thread.is_alive():
                _left.pop(thread, None)
        return not _left


def _wait_at_exit() -> None:
    if not wait_for_native_threads():
        with _lock:
            what = ", ".join(what for what, _wait_s in _left.values())
        log.error("%s did not finish in time; exiting without waiting for it", what)
        logging.shutdown()
        os._exit(1)  # an interpreter exit with a thread inside native code would abort instead


atexit.register(_wait_at_exit)
