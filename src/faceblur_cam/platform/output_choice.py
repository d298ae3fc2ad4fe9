"""Which virtual camera to publish to, in order of preference: plain data from the platform."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class OutputChoice:
    """One way to open the virtual camera with pyvirtualcam.

    ``backend``: pyvirtualcam backend name ("unitycapture", "obs"); ``device``: the device it
    must open (None = the backend's own); ``notice``: the status line to show when this choice
    is the one that opened (e.g. apps list the camera under another name than ours)."""

    backend: str
    device: str | None = None
    notice: str | None = None
