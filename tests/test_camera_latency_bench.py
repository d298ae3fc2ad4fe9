"""The latency bench's fake camera paces like a camera and never queues (bench/camera_latency.py)."""

from __future__ import annotations

import time

import numpy as np
from camera_latency import PacedCamera


def test_paced_camera_keeps_only_the_newest_frame_with_its_capture_time() -> None:
    camera = PacedCamera(np.zeros((480, 640, 3), np.uint8), fps=30)
    try:
        first = camera.read(timeout=60)
        assert first is not None and first.image.shape == (720, 1280, 3)
        time.sleep(0.3)  # a slow consumer: ~9 frames made meanwhile
        newest = camera.read(timeout=60)
        assert newest is not None and newest.index >= first.index + 3  # skipped ahead, not queued
        assert 0 <= time.monotonic() - newest.t < 3.0  # fresh (cap for a busy machine; ~33 ms when quiet)
        assert camera.read(timeout=0) is None or camera.made > newest.index  # each frame once
    finally:
        camera.close()
