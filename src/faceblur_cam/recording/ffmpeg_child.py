"""``FfmpegChild``: the one owner of an ffmpeg child process we feed frames to.

Recordings and ``process``'s video files both encode in an ffmpeg child fed on its stdin: the
encoding CPU is outside our process (no GIL contention with the live pipeline), and if we are
killed ffmpeg sees the end of its input and still finishes the file. This class is the only place
that spawns such a child, feeds it, reads what it says, ends it and kills it:

- it starts in its own session (a Ctrl-C in the terminal reaches us, not it: we finish the
  file), never with a console window, stdout to /dev/null;
- a thread reads its error output and keeps the last ``TAIL_LINES`` lines (``tail``), the words
  an error message for the user is made from;
- ``write`` feeds stdin; when ffmpeg has stopped (a broken pipe) it waits for its exit code
  (killing it after ``STOPPED_WAIT_S``) and raises ``FfmpegStopped`` carrying the code and tail;
- ``finish`` ends the input (ffmpeg writes the end of its file) and waits, with a cap after
  which it kills; ``kill`` stops it at once;
- ``close`` (and leaving a ``with`` block, also on an exception) finishes it if nobody did: no
  way out leaves ffmpeg running or a zombie, and the file gets its end when ffmpeg can write it.

Thread rules: ``write`` and ``end_input`` from one thread (the feeder); ``kill`` from any thread
(it unblocks a ``write`` stuck on a full pipe: that write then raises ``FfmpegStopped``);
``finish`` and ``close`` from the owner's thread, once the feeder is done or stuck.
"""

from __future__ import annotations

import collections
import logging
import os
import subprocess
import threading
from collections.abc import Sequence
from types import TracebackType

from faceblur_cam.sinks import SinkError

log = logging.getLogger(__name__)

TAIL_LINES = 20
SAID_LINES = 3  # of the tail, in a ``FfmpegStopped`` message
# after a broken pipe ffmpeg is on its way out: how long we wait for its exit code before killing
STOPPED_WAIT_S = 5.0
# ``close`` without a ``finish`` before (an exception in the owner): how long ffmpeg gets to
# write the end of its file
CLOSE_WAIT_S = 30.0
READER_JOIN_S = 5.0
# A child process never opens a console window (Windows); 0 elsewhere.
NO_WINDOW = getattr(subprocess, "CREATE_NO_WINDOW", 0)
# The encoder yields the CPU to the live pipeline: when both cannot keep up, the recording drops
# frames rather than the call. Windows: a creation flag; POSIX: ``lower_priority(pid)``.
BELOW_NORMAL = getattr(subprocess, "BELOW_NORMAL_PRIORITY_CLASS", 0)
ENCODER_NICENESS = 5  # 10 starved it on a loaded machine (a call app is busy too): frames dropped


class FfmpegStopped(SinkError):
    """ffmpeg stopped taking input (it failed, or was killed). ``code``: its exit code (negative:
    the signal that ended it); ``tail``: the last lines it wrote on its error output. The message
    has both (the owners word their own for the user from them)."""

    def __init__(self, code: int, tail: Sequence[str]):
        self.code = code
        self.tail = list(tail)
        how = f"was killed by signal {-code}" if code < 0 else f"exited with code {code}"
        said = ": " + " | ".join(self.tail[-SAID_LINES:]) if self.tail else " without a word"
        super().__init__(f"ffmpeg {how}{said}")


def lower_priority(pid: int) -> None:
    """Make the encoder process ``pid`` nicer than us (POSIX; Windows uses ``BELOW_NORMAL``)."""
    setpriority = getattr(os, "setpriority", None)
    if setpriority is None:
        return
    try:
        setpriority(os.PRIO_PROCESS, pid, ENCODER_NICENESS)
    except OSError as exc:
        log.debug("cannot lower the encoder's priority: %s", exc)


class FfmpegChild:
    """ffmpeg running ``args`` (``args[0]`` is the executable), fed on its stdin.

    ``label``: what it writes (the output's path), for log messages. ``pass_fds``: descriptors it
    inherits (a second input pipe). ``nice``: below our priority (live recording: the call comes
    first). ``flush``: every ``write`` reaches the pipe at once (live: frames reach the file
    within a fragment) rather than when the buffer fills. Raises ``SinkError`` when it cannot start.
    """

    def __init__(self, args: Sequence[str], label: str, *, pass_fds: Sequence[int] = (), nice: bool = False,
                 flush: bool = False, thread_name: str = "faceblur-ffmpeg"):
        self.args = list(args)
        self.label = label
        self._flush = flush
        self._tail: collections.deque[str] = collections.deque(maxlen=TAIL_LINES)
        try:
            self._proc = subprocess.Popen(
                self.args, pass_fds=tuple(pass_fds), stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE, creationflags=NO_WINDOW | (BELOW_NORMAL if nice else 0),
                start_new_session=True,
            )
        except OSError as exc:
            raise SinkError(f"cannot start the video encoder ({self.args[0]}): {exc}") from exc
        self.pid = self._proc.pid
        if nice:
            lower_priority(self.pid)
        self._reader = threading.Thread(target=self._read_errors, name=f"{thread_name}-log", daemon=True)
        try:
            self._reader.start()
        except BaseException:
            self.kill()
            raise

    def __enter__(self) -> FfmpegChild:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    @property
    def tail(self) -> list[str]:
        """The last lines ffmpeg wrote on its error output (complete once it has exited)."""
        return list(self._tail)

    @property
    def returncode(self) -> int | None:
        """ffmpeg's exit code once it has exited and been waited for, else None."""
        return self._proc.returncode

    # ----------------------------------------------------------------- the feeder's thread
    def write(self, data: bytes | memoryview) -> None:
        """Feed ``data``; blocks while the pipe is full. ``FfmpegStopped`` when ffmpeg is gone."""
        stdin = self._proc.stdin
        assert stdin is not None
        try:
            stdin.write(data)
            if self._flush:
                stdin.flush()
        except (OSError, ValueError) as exc:  # the pipe broke, or was closed: ffmpeg is gone
            raise FfmpegStopped(self._wait(STOPPED_WAIT_S), self.tail) from exc

    def end_input(self) -> None:
        """Close stdin: ffmpeg reads the end of its input and writes the end of its file.
        ``FfmpegStopped`` when the last bytes could not reach it."""
        if not self._close_stdin():
            raise FfmpegStopped(self._wait(STOPPED_WAIT_S), self.tail)

    # ----------------------------------------------------------------- the owner's thread
    def finish(self, timeout: float) -> int:
        """End the input and wait up to ``timeout`` s for ffmpeg to finish its file, killing it
        after that. Returns its exit code. Idempotent."""
        self._close_stdin()
        return self._wait(timeout)

    def kill(self) -> int:
        """Stop ffmpeg now (what it wrote stays). Any thread. Returns its exit code. Idempotent."""
        if self._proc.returncode is None:
            self._proc.kill()
        code = self._wait(None)
        self._close_stdin()  # a write blocked on the full pipe has failed by now: nobody reads it
        return code

    def close(self) -> None:
        """Finish ffmpeg if nobody did (``CLOSE_WAIT_S``). Idempotent. Whatever happens meanwhile
        (an interrupt while waiting), no child is left behind."""
        try:
            if self._proc.returncode is None:
                self.finish(CLOSE_WAIT_S)
        finally:
            self.kill()

    # ----------------------------------------------------------------- internals
    def _close_stdin(self) -> bool:
        """Close stdin (flushing what is buffered); False when the pipe was broken."""
        stdin = self._proc.stdin
        if stdin is None or stdin.closed:
            return True
        try:
            stdin.close()
        except (OSError, ValueError):
            return False
        return True

    def _wait(self, timeout: float | None) -> int:
        """Wait for the exit (``timeout`` s at most, then kill) and for the last error lines."""
        try:
            code = self._proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            log.error("the video encoder did not finish %s in time; stopping it", self.label)
            self._proc.kill()
            code = self._proc.wait()
        if self._reader.ident is not None and self._reader is not threading.current_thread():
            self._reader.join(timeout=READER_JOIN_S)
        if not self._reader.is_alive() and self._proc.stderr is not None:
            try:
                self._proc.stderr.close()
            except (OSError, ValueError):  # the feeder's thread and the owner's both got here
                pass
        return code

    def _read_errors(self) -> None:
        assert self._proc.stderr is not None
        for raw in self._proc.stderr:
            line = raw.decode("utf-8", "replace").strip()
            if line:
                self._tail.append(line)
                log.debug("ffmpeg (%s): %s", self.label, line)
