"""``SlotClock``: capture time -> frame slot of a constant-rate recording (pure; no clock read)."""

from __future__ import annotations

import logging

log = logging.getLogger(__name__)

MAX_GAP_S = 5.0


class SlotClock:
    """Capture time -> frame slot of a constant-rate file (slot 0 = the first frame).

    Slots never go back; a pause of the frames longer than ``max_gap_s`` (a laptop asleep) is cut
    out rather than filled: the next frame takes the next slot.
    """

    def __init__(self, fps: float, max_gap_s: float = MAX_GAP_S):
        self.fps = fps
        self._max_gap = max(1, round(max_gap_s * fps))
        self._t0: float | None = None
        self._last = 0

    def slot(self, t: float) -> int:
        if self._t0 is None:
            self._t0 = t
        slot = round((t - self._t0) * self.fps)
        if slot - self._last > self._max_gap:
            log.info("recording: %.1f s without frames left out", (slot - self._last) / self.fps)
            self._t0 = t - (self._last + 1) / self.fps
            slot = self._last + 1
        self._last = max(self._last, slot)
        return self._last

    @property
    def origin(self) -> float | None:
        """The capture time slot 0 stands for (moves on when a gap is cut); None before a frame."""
        return self._t0
