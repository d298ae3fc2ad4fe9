"""The one value type that flows between pipeline stages.

``Detections`` holds N face regions as parallel numpy arrays (supervision style):

- ``xyxy``: ``float32 (N, 4)``, pixel corners ``x1, y1, x2, y2`` in the frame's coordinates;
- ``scores``: ``float32 (N,)``, detector confidence (tracks: confidence of the last match);
- ``landmarks``: ``float32 (N, 5, 2)``, eyes, nose, mouth corners as ``(x, y)``; NaN when unknown;
- ``track_ids``: ``int64 (N,)``, -1 for plain detections.

The detector emits it, the tracker consumes and emits it, the redactor consumes it. An empty
result is ``Detections.empty()``, never ``None``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


def _empty_landmarks(n: int) -> np.ndarray:
    return np.full((n, 5, 2), np.nan, dtype=np.float32)


@dataclass(frozen=True)
class Detections:
    xyxy: np.ndarray
    scores: np.ndarray
    landmarks: np.ndarray = field(default_factory=lambda: _empty_landmarks(0))
    track_ids: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))

    def __post_init__(self) -> None:
        xyxy = np.asarray(self.xyxy, dtype=np.float32).reshape(-1, 4)
        n = len(xyxy)
        scores = np.asarray(self.scores, dtype=np.float32).reshape(n)
        landmarks = self.landmarks
        if landmarks is None or len(landmarks) != n:
            landmarks = _empty_landmarks(n)
        landmarks = np.asarray(landmarks, dtype=np.float32).reshape(n, 5, 2)
        track_ids = self.track_ids
        if track_ids is None or len(track_ids) != n:
            track_ids = np.full(n, -1, dtype=np.int64)
        object.__setattr__(self, "xyxy", xyxy)
        object.__setattr__(self, "scores", scores)
        object.__setattr__(self, "landmarks", landmarks)
        object.__setattr__(self, "track_ids", np.asarray(track_ids, dtype=np.int64).reshape(n))

    @classmethod
    def empty(cls) -> Detections:
        return cls(np.zeros((0, 4), np.float32), np.zeros(0, np.float32))

    def __len__(self) -> int:
        return len(self.xyxy)

    def __getitem__(self, index: np.ndarray | slice | list[int]) -> Detections:
        return Detections(
            self.xyxy[index], self.scores[index], self.landmarks[index], self.track_ids[index]
        )

    @property
    def wh(self) -> np.ndarray:
        """``float32 (N, 2)`` widths and heights."""
        return np.asarray(self.xyxy[:, 2:4] - self.xyxy[:, 0:2])

    @property
    def centers(self) -> np.ndarray:
        """``float32 (N, 2)`` box centres."""
        return np.asarray((self.xyxy[:, 0:2] + self.xyxy[:, 2:4]) / 2)

    def to_xywh(self) -> list[list[int]]:
        """Integer ``[x, y, w, h]`` rows (the ``--boxes`` file format), widened to whole pixels."""
        x1y1 = np.floor(self.xyxy[:, :2]).astype(int)
        x2y2 = np.ceil(self.xyxy[:, 2:]).astype(int)
        return [[int(a), int(b), int(c - a), int(d - b)] for (a, b), (c, d) in zip(x1y1, x2y2)]

    @staticmethod
    def concat(items: list[Detections]) -> Detections:
        items = [d for d in items if len(d)]
        if not items:
            return Detections.empty()
        return Detections(
            np.concatenate([d.xyxy for d in items]),
            np.concatenate([d.scores for d in items]),
            np.concatenate([d.landmarks for d in items]),
            np.concatenate([d.track_ids for d in items]),
        )
