"""Frames as they enter and leave the pipeline.

Images are BGR ``uint8 (H, W, 3)``. Times are seconds on one monotonic clock per source
(``time.monotonic()`` for live sources, ``index / fps`` for files processed offline).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

import numpy as np

from faceblur_cam.detections import Detections
from faceblur_cam.keep_me import KeepDecision


@dataclass(frozen=True)
class CapturedFrame:
    """A raw frame from a source. Never leaves the process unredacted."""

    image: np.ndarray
    t: float
    index: int
    name: str | None = None  # file name when the source is an image directory


class FrameKind(enum.Enum):
    REDACTED = "redacted"  # faces found and obscured (or none found after a real detection)
    OBSCURED = "obscured"  # whole frame obscured: fail closed (detector error/lag, start-up)
    PLACEHOLDER = "placeholder"  # a card: starting, paused, no camera, error


@dataclass(frozen=True)
class PublishedFrame:
    """What the call sees. The only frame type sinks (virtual camera, recorder, preview) get.

    ``regions`` are the areas actually redacted, each an ellipse (or box, per ``shape``)
    inscribed in its ``xyxy`` row, clipped to the image. ``kept``: the region left visible by
    "keep me visible" (at most one; empty when nothing was kept), ``keep``: that mode's decision
    on this frame (None when the mode is off).
    """

    image: np.ndarray
    t: float
    kind: FrameKind
    regions: Detections = field(default_factory=Detections.empty)
    shape: str = "ellipse"
    name: str | None = None
    index: int = -1
    kept: Detections = field(default_factory=Detections.empty)
    keep: KeepDecision | None = None

    @property
    def obscured(self) -> bool:
        """True when the whole picture is obscured or replaced (no face can show)."""
        return self.kind is not FrameKind.REDACTED
