"""Which parts of a frame the detector looks at, at which scale: the ``Planner`` protocol and the
plans to choose from (``protect.plan`` in the config). Pure: no I/O, no clock.

A planner is asked once per frame, ``plan(frame_wh, tracks, change, every_face) -> list[DetectJob]``,
with the faces the tracker follows and what changed since the previous frame; ``every_face``: each
tracked face must be looked at on this frame ("keep me visible" shows the caller only on a frame
where the detector found it); ``reset()`` starts it over (start-up, resume, camera back, detector
hiccup).

Every plan starts with the *first look*: the first frame after a reset and every frame after a
jump in the picture (cut, loop, skipped frames) is looked at whole at each of ``FIRST_SIDES``
(high resolution for small faces, plus a coarser pass that finds some large faces the fine one
misses), so nothing is published before a thorough look. After it:

- ``balanced`` (``detect.balanced``, the live default): a coarse whole-frame look plus close looks
  where the picture changed, around tracked faces and, taking turns, at tiles;
- ``thorough`` (``detect.thorough``): the whole frame at high resolution on every frame.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from faceblur_cam.detect.change import Change
from faceblur_cam.detect.jobs import DetectJob
from faceblur_cam.detections import Detections

FIRST_SIDES = (640, 320)


class Planner(Protocol):
    def plan(self, frame_wh: tuple[int, int], tracks: Detections,
             change: Change | None = None, every_face: bool = False) -> list[DetectJob]: ...

    def reset(self) -> None: ...


def side(target: int) -> int:
    """The detector input long side for a whole-frame pass (never below 32)."""
    return max(32, int(target))


def first_look(frame_wh: tuple[int, int], sides: tuple[int, ...] = FIRST_SIDES) -> list[DetectJob]:
    """The whole frame at each of ``sides``."""
    return [DetectJob((0, 0, *frame_wh), side(s), "first") for s in sides]


def starts_over(change: Change | None) -> bool:
    """Whether the picture jumped (cut, loop, skipped frames): a new start."""
    return change is not None and change.jump


def make_planner(name: str) -> Planner:
    """The plan called ``name`` (one of ``PLANS``)."""
    return PLANS[name]()


def _balanced() -> Planner:
    from faceblur_cam.detect.balanced import BalancedPlanner

    return BalancedPlanner()


def _thorough() -> Planner:
    from faceblur_cam.detect.thorough import ThoroughPlanner

    return ThoroughPlanner()


PLANS: dict[str, Callable[[], Planner]] = {"balanced": _balanced, "thorough": _thorough}
