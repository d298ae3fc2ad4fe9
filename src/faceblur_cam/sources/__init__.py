"""Frame sources: the physical camera, or a video file / image directory standing in for one.

Contract (``FrameSource``):

- ``read(timeout)`` returns the newest ``CapturedFrame`` not returned before, or ``None`` when
  none arrived within ``timeout`` seconds. It raises ``SourceError`` when the source failed
  (camera unplugged, file unreadable) or ``SourceExhausted`` when a play-once file ended.
- ``close()`` releases the device (the camera LED goes off). Idempotent.

Both methods are called from one thread (the engine's worker).
"""

from __future__ import annotations

from typing import Protocol

from faceblur_cam.frames import CapturedFrame


class SourceError(RuntimeError):
    """The source cannot deliver frames now; the message is shown to the user."""


class SourceExhausted(SourceError):
    """A play-once source has delivered its last frame."""


class FrameSource(Protocol):
    def read(self, timeout: float) -> CapturedFrame | None: ...

    def close(self) -> None: ...
