"""Driving the real CLI as a subprocess: wait for what it should do, then signal it."""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Callable


def signal_when(proc: subprocess.Popen[str], ready: Callable[[], bool], what: str, timeout: float = 60.0,
                sig: int = signal.SIGTERM) -> str:
    """Wait until ``ready()`` while ``proc`` runs, send it ``sig`` and return what it wrote to
    stderr (stdout when stderr is merged into it). Fails saying ``what`` did not happen in time
    or the process ended first; the process never outlives the call."""
    try:
        deadline = time.monotonic() + timeout
        while not ready():
            assert proc.poll() is None, f"exited ({proc.returncode}) before {what}: {proc.communicate()}"
            assert time.monotonic() < deadline, f"timed out waiting for {what}"
            time.sleep(0.1)
        proc.send_signal(sig)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return err if err is not None else out


def after(seconds: float) -> Callable[[], bool]:
    """A ``ready`` for ``signal_when`` that is true ``seconds`` from now."""
    end = time.monotonic() + seconds
    return lambda: time.monotonic() >= end
