"""A progress bar for long offline work (``faceblur-cam process``), on a terminal only.

tqdm draws frames done, frames per second and the time left on stderr when stderr is a
terminal; when it is not (a pipe, a log file, a test), nothing is drawn at all.
"""

from __future__ import annotations

import os
import sys
from typing import TextIO

from tqdm import tqdm


class FrameProgress:
    """``advance(total)`` once per frame (``total``: frames expected, 0 when unknown); ``close()``."""

    def __init__(self, stream: TextIO | None = None):
        stream = stream or sys.stderr
        self._bar: tqdm[object] | None = None
        if stream.isatty():
            # a terminal that reports no width (a bare pty) would get an empty bar: assume 100
            sized = _columns(stream) > 0
            self._bar = tqdm(total=None, unit="frame", file=stream, dynamic_ncols=sized, ncols=None if sized else 100,
                             leave=False, smoothing=0.1, mininterval=0.25)

    @property
    def shown(self) -> bool:
        return self._bar is not None

    def advance(self, total: int = 0) -> None:
        if self._bar is None:
            return
        if total and self._bar.total != total:
            self._bar.total = total
            self._bar.refresh()
        self._bar.update(1)

    def close(self) -> None:
        """Clear the bar (the caller prints a summary in its place). Idempotent."""
        if self._bar is not None:
            self._bar.close()
            self._bar = None


def _columns(stream: TextIO) -> int:
    try:
        return os.get_terminal_size(stream.fileno()).columns
    except (OSError, ValueError):
        return 0
