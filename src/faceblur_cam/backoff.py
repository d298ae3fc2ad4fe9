"""When to try a failed device again: one small retry schedule for the camera and the virtual camera."""

from __future__ import annotations

from collections.abc import Callable


class Backoff:
    """After each failure in a row the wait grows through ``delays`` (the last one repeats).

    ``due()`` is True when nothing failed or the wait is over; ``reset()`` after a success.
    Time comes from ``clock``, so tests move it instead of sleeping.
    """

    def __init__(self, delays: tuple[float, ...], clock: Callable[[], float]):
        if not delays or min(delays) < 0:
            raise ValueError(f"retry delays must be a non-empty list of seconds >= 0, got {delays!r}")
        self._delays = delays
        self._clock = clock
        self.failures = 0
        self.next_at: float | None = None

    @property
    def waiting(self) -> bool:
        """True after a failure, until ``reset``."""
        return self.next_at is not None

    def failed(self) -> None:
        self.next_at = self._clock() + self._delays[min(self.failures, len(self._delays) - 1)]
        self.failures += 1

    def due(self) -> bool:
        return self.next_at is None or self._clock() >= self.next_at

    def reset(self) -> None:
        self.failures = 0
        self.next_at = None
