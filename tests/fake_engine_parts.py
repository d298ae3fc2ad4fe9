"""Fakes of the engine's parts, for driving the real ``Engine`` in tests.

- ``Clock``: time for a stepped engine; its ``sleep`` moves it instead of waiting.
- ``PatternSource``: a camera whose every frame is one known synthetic pattern, with scripted
  failures (unplug/replug) and a record of opens and closes.
- ``MarkingPipeline``: stands in for the protecting step; its output never contains the pattern.
- ``ListSink``: keeps every published frame.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import final

import numpy as np

from faceblur_cam.engine import Engine, EngineParts, EngineState, EngineStatus
from faceblur_cam.frames import CapturedFrame, FrameKind, PublishedFrame
from faceblur_cam.placeholders import PlaceholderCards
from faceblur_cam.sources import SourceError

WH = (64, 48)
MAX_TURNS = 20_000  # turns (or 5 ms waits) at most: a stepped engine's clock may stand still
THREADED_CAP_S = 60.0  # a threaded rig's waits: quiet, well under a second


class Clock:
    """Time for the engine: ``sleep`` moves it instead of waiting."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += max(0.0, seconds)


def raw_pattern(wh: tuple[int, int] = WH) -> np.ndarray:
    """A checkerboard in colours no card uses: a published frame containing it leaked raw."""
    w, h = wh
    yy, xx = np.mgrid[0:h, 0:w]
    board = ((xx // 4 + yy // 4) % 2).astype(bool)
    image = np.empty((h, w, 3), np.uint8)
    image[board] = (7, 201, 99)
    image[~board] = (250, 3, 180)
    return image


def contains_raw(image: np.ndarray, wh: tuple[int, int] = WH) -> bool:
    """True when any 4x4 cell of the raw pattern shows unchanged in ``image``."""
    raw = raw_pattern(wh)
    same = np.all(image == raw, axis=2)
    cells = same.reshape(wh[1] // 4, 4, wh[0] // 4, 4).all(axis=(1, 3))
    return bool(cells.any())


class PatternSource:
    """Yields ``raw_pattern`` frames at ``fps``. ``fail_after``: raise SourceError (unplug) after
    that many frames. ``clock``: a frame moves it by a frame time (a stepped engine; the ``Rig``
    sets it) instead of waiting one."""

    def __init__(self, log: list[str], fps: float = 100.0, fail_after: int | None = None,
                 clock: Clock | None = None):
        self.log = log
        self.fps = fps
        self.fail_after = fail_after
        self.clock = clock
        self.reads = 0
        self.closed = False
        log.append("open")

    def read(self, timeout: float) -> CapturedFrame | None:
        if self.closed:
            raise AssertionError("read after close")
        if self.clock is None:
            time.sleep(1.0 / self.fps)
        else:
            self.clock.sleep(1.0 / self.fps)
        if self.fail_after is not None and self.reads >= self.fail_after:
            raise SourceError("camera unplugged")
        self.reads += 1
        return CapturedFrame(raw_pattern(), self.clock() if self.clock else time.monotonic(), self.reads)

    def close(self) -> None:
        if not self.closed:
            self.log.append("close")
        self.closed = True


class MarkingPipeline:
    """Obscures the whole frame (inverts it), like the real pipeline does when it cannot detect."""

    def __init__(self, log: list[str], fail_on: int | None = None):
        self.log = log
        self.style = "blur"
        self.processed = 0
        self.fail_on = fail_on

    def process(self, frame: CapturedFrame) -> PublishedFrame:
        self.processed += 1
        if self.fail_on is not None and self.processed >= self.fail_on:
            raise RuntimeError("pipeline bug")
        self.log.append("process")
        return PublishedFrame(image=255 - frame.image, t=frame.t, kind=FrameKind.OBSCURED)

    def reset(self) -> None:
        self.log.append("reset")

    def set_style(self, style: str) -> None:
        if style not in ("blur", "pixelate", "solid"):
            raise ValueError(f"unknown style {style!r}")
        self.log.append(f"style:{style}")
        self.style = style

    def close(self) -> None:
        self.log.append("pipeline-close")


class ListSink:
    def __init__(self, name: str = "list") -> None:
        self.name = name
        self.frames: list[PublishedFrame] = []
        self.closed = False
        self._lock = threading.Lock()

    def send(self, frame: PublishedFrame) -> None:
        assert not self.closed, "send after close"
        with self._lock:
            self.frames.append(frame)

    def close(self) -> None:
        self.closed = True

    def snapshot(self) -> list[PublishedFrame]:
        with self._lock:
            return list(self.frames)


@final
class Rig:
    """A real ``Engine`` on fakes, with the event log and status history kept for assertions.

    By default the engine is stepped on the test's thread with a ``Clock`` the fakes move: no
    worker thread and no sleeps, and ``wait_*`` run engine turns until what they wait for is
    true (``timeout`` is then in engine seconds). ``threaded=True``: the engine runs on its own
    thread in real time (for tests about threads: the tray, a clean stop).
    """

    def __init__(self, *, source_factory: Callable[[list[str]], PatternSource] | None = None,
                 pipeline: Callable[[list[str]], MarkingPipeline] | None = None,
                 recorder: bool = False, retry_delays: tuple[float, ...] = (0.05, 0.1, 0.2),
                 threaded: bool = False):
        self.log: list[str] = []
        self.sink = ListSink("vcam")
        self.recordings: list[ListSink] = []
        self.statuses: list[EngineStatus] = []
        self.threaded = threaded
        self.clock = Clock()
        make_source = source_factory or (lambda log: PatternSource(log))
        make_pipeline = pipeline or (lambda log: MarkingPipeline(log))

        def open_source() -> PatternSource:
            source = make_source(self.log)
            if not threaded and source.clock is None:
                source.clock = self.clock
            return source

        def open_recorder() -> ListSink:
            sink = ListSink("recorder")
            self.recordings.append(sink)
            return sink

        self.parts = EngineParts(
            open_source=open_source,
            build_pipeline=lambda: make_pipeline(self.log),
            placeholders=PlaceholderCards(WH),
            outputs=[self.sink],
            open_recorder=open_recorder if recorder else None,
            open_preview=lambda: ListSink("preview"),
            fps=50.0,
            retry_delays=retry_delays,
        )
        self.engine = self._engine()

    def _engine(self) -> Engine:
        engine = Engine(self.parts) if self.threaded else Engine(self.parts, clock=self.clock, sleep=self.clock.sleep)
        engine.subscribe(self.statuses.append)
        return engine

    def replace_parts(self, **overrides: object) -> Rig:
        """The same rig with some of its engine's parts replaced (before it runs)."""
        for key, value in overrides.items():
            setattr(self.parts, key, value)
        self.engine = self._engine()
        return self

    def __enter__(self) -> Rig:
        if self.threaded:
            self.engine.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.engine.quit()
        if self.threaded:
            assert self.engine.wait(THREADED_CAP_S), "engine did not stop"
        else:
            self.run_to_end()

    def step(self, turns: int = 1) -> None:
        """Run ``turns`` engine turns (stepped rigs); the engine must still be running."""
        assert not self.threaded
        for _ in range(turns):
            assert self.engine.step(), "the engine stopped"

    def run_to_end(self) -> None:
        """Run engine turns until the engine stops (stepped rigs)."""
        for _ in range(MAX_TURNS):
            if not self.engine.step():
                return
        raise AssertionError("the engine did not stop")

    def _now(self) -> float:
        return self.clock() if not self.threaded else time.monotonic()

    def _advance(self) -> None:
        """Let the engine move on: one turn of a stepped engine, a short wait for a threaded one."""
        if self.threaded:
            time.sleep(0.005)
        else:
            self.step()

    def _deadline(self, timeout: float) -> float:
        """A stepped rig's timeout is on its own clock; a threaded rig's is a cap on the real
        one, at least ``THREADED_CAP_S`` (a loaded 2-core machine), ended as soon as it holds."""
        return self._now() + (max(timeout, THREADED_CAP_S) if self.threaded else timeout)

    def wait_for(self, predicate: Callable[[EngineStatus], bool], timeout: float = 5.0) -> EngineStatus:
        deadline = self._deadline(timeout)
        for _ in range(MAX_TURNS):
            status = self.engine.status()
            if predicate(status):
                return status
            if self._now() >= deadline:
                break
            self._advance()
        raise AssertionError(f"timed out; last status {self.engine.status()}")

    def wait_state(self, state: EngineState, timeout: float = 5.0) -> EngineStatus:
        return self.wait_for(lambda s: s.state is state, timeout)

    def wait_frames(self, n: int, timeout: float = 5.0) -> None:
        start = len(self.sink.snapshot())
        deadline = self._deadline(timeout)
        for _ in range(MAX_TURNS):
            if len(self.sink.snapshot()) >= start + n:
                return
            assert self._now() < deadline, f"fewer than {n} new frames"
            self._advance()
        raise AssertionError(f"fewer than {n} new frames after {MAX_TURNS} turns")

    def assert_never_raw(self) -> None:
        for sink in [self.sink, *self.recordings]:
            for i, frame in enumerate(sink.snapshot()):
                assert not contains_raw(frame.image), f"{sink.name} frame {i} ({frame.kind}) is raw"
