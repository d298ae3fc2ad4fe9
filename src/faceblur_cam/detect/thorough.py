"""The thorough plan: after the first look, the whole frame at ``side`` pixels on every frame.
Slower than the balanced plan and simpler to reason about (benchmarks' reference, files on a
fast machine). Pure: no I/O, no clock."""

from __future__ import annotations

from faceblur_cam.detect.change import Change
from faceblur_cam.detect.jobs import DetectJob
from faceblur_cam.detect.plan import FIRST_SIDES, first_look, side, starts_over
from faceblur_cam.detections import Detections


class ThoroughPlanner:
    """A ``Planner``. One per pipeline; not thread-safe."""

    def __init__(self, long_side: int = 640, first_sides: tuple[int, ...] = FIRST_SIDES):
        self.long_side = long_side
        self.first_sides = first_sides
        self.reset()

    def reset(self) -> None:
        self._started = False

    def plan(self, frame_wh: tuple[int, int], tracks: Detections, change: Change | None = None,
             every_face: bool = False) -> list[DetectJob]:
        if not self._started or starts_over(change):
            self._started = True
            return first_look(frame_wh, self.first_sides)
        return [DetectJob((0, 0, *frame_wh), side(self.long_side), "full")]
