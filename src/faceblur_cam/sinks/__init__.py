"""Live outputs: virtual camera, preview window (the recorder and the files ``process`` writes
are in ``faceblur_cam.recording``; they keep the same contract).

Contract (``FrameSink``): ``send(frame)`` takes a ``PublishedFrame`` (already redacted, or a
placeholder; never a raw frame) of the engine's fixed output size; ``close()`` flushes and
releases, idempotent. ``send`` is called from the engine's worker thread only and must return
quickly: a slow sink (encoder) hands frames to its own thread and drops when it falls behind.
A sink that fails raises ``SinkError``; the engine then closes and detaches it, reports the
message, and the other outputs go on.
"""

from __future__ import annotations

from typing import Protocol

from faceblur_cam.frames import PublishedFrame


class SinkError(RuntimeError):
    """The sink cannot take more frames; the message is shown to the user."""


class FrameSink(Protocol):
    name: str

    def send(self, frame: PublishedFrame) -> None: ...

    def close(self) -> None: ...
