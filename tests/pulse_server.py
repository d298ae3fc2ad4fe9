"""A private PulseAudio server whose default source is a pipe we write sound into, in real time.

For the recording-with-sound tests and bench/bench_recording_sound.py: a null sink, and a pipe
source fed by a thread with silence or whatever was scheduled with ``play`` (int16 mono 48 kHz).
Clients find it through the environment in ``env`` (PortAudio reaches it through ALSA's pulse
plugin).
"""

from __future__ import annotations

import os
import subprocess
import threading
import time
from pathlib import Path

import numpy as np

RATE = 48000


class PulseServer:
    """A private PulseAudio server whose default source is a pipe we write sound into, in real time."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.fifo = folder / "mic.fifo"
        run = folder / "run"
        run.mkdir()
        self.env = {"PULSE_RUNTIME_PATH": str(run), "PULSE_SERVER": f"unix:{run / 'native'}",
                    "PULSE_COOKIE": str(folder / "cookie"), "HOME": str(folder)}
        self.proc = subprocess.Popen(
            ["pulseaudio", "--daemonize=no", "--exit-idle-time=-1", "-n", "--use-pid-file=no",
             "--load=module-native-protocol-unix auth-anonymous=1",
             "--load=module-null-sink sink_name=speakers",
             f"--load=module-pipe-source source_name=mic file={self.fifo} format=s16le rate={RATE} channels=1",
             "--log-target=stderr"],
            env={**os.environ, **self.env}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 15
        while not (run / "native").exists() or not self.fifo.exists():
            assert self.proc.poll() is None, "pulseaudio did not start"
            assert time.monotonic() < deadline, "pulseaudio did not start in time"
            time.sleep(0.05)
        subprocess.run(["pactl", "set-default-source", "mic"], env={**os.environ, **self.env}, check=True, timeout=10)
        self._fd = os.open(self.fifo, os.O_WRONLY)
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._scheduled: list[tuple[float, np.ndarray]] = []  # (monotonic time, pcm)
        self.start = time.monotonic()
        self._thread = threading.Thread(target=self._feed, daemon=True)
        self._thread.start()

    def play(self, at: float, pcm: np.ndarray) -> None:
        """Put ``pcm`` (int16 mono 48 kHz) into the microphone at monotonic time ``at``."""
        with self._lock:
            self._scheduled.append((at, pcm))

    def _feed(self) -> None:
        """Write the microphone's sound in 10 ms blocks, paced by the clock: silence, or what was scheduled."""
        n, block = 0, RATE // 100
        while not self._stop.is_set():
            due = self.start + n / RATE
            if due > time.monotonic():
                time.sleep(due - time.monotonic())
            out = np.zeros(block, np.int32)
            with self._lock:
                for at, pcm in self._scheduled:
                    first = round((at - self.start) * RATE)
                    lo, hi = max(n, first), min(n + block, first + len(pcm))
                    if lo < hi:
                        out[lo - n:hi - n] += pcm[lo - first:hi - first]
            try:
                os.write(self._fd, np.clip(out, -32768, 32767).astype(np.int16).tobytes())
            except OSError:
                return
            n += block

    def close(self) -> None:
        """Stop feeding and stop the server. Idempotent."""
        if self._stop.is_set():
            return
        self._stop.set()
        # the server first: once the pipe source stops reading (an idle source is suspended) the
        # feeder blocks in write() until the reader is gone; it then gets EPIPE and returns, so the
        # join below ends at once instead of running out its cap (5 s per test before)
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self._thread.join(timeout=5)
        os.close(self._fd)
