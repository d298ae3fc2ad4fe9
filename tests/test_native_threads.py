"""Threads left inside native code are waited for before the process exits, each at most its own
cap (``faceblur_cam.native_threads``)."""

from __future__ import annotations

import threading
import time

from faceblur_cam.native_threads import finish_before_exit, wait_for_native_threads

CAP_S = 60.0


def blocked_thread() -> tuple[threading.Thread, threading.Event]:
    release = threading.Event()
    thread = threading.Thread(target=release.wait, args=(CAP_S,), daemon=True)
    thread.start()
    return thread, release


def test_a_thread_left_running_is_waited_for_until_it_ends() -> None:
    thread, release = blocked_thread()
    finish_before_exit(thread, "a test's look")
    try:
        assert not wait_for_native_threads(timeout=0.1)
        threading.Timer(0.2, release.set).start()
        assert wait_for_native_threads(timeout=CAP_S)
        assert not thread.is_alive()
    finally:
        release.set()


def test_a_thread_with_its_own_cap_does_not_hold_the_exit_up_longer() -> None:
    """A camera read that never returns: the exit gives up on it after its own cap, not after
    the two minutes a slow inference gets."""
    thread, release = blocked_thread()
    finish_before_exit(thread, "a camera read", wait_s=0.2)
    try:
        started = time.monotonic()
        assert not wait_for_native_threads(timeout=CAP_S)
        assert time.monotonic() - started < CAP_S / 2
    finally:
        release.set()
        assert wait_for_native_threads(timeout=CAP_S)  # nothing left for the process's own exit
