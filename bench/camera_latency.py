"""Camera frame -> published frame latency, from the capture timestamps, at 720p and 30 fps.

The real engine and protecting pipeline (CenterFace, tracker, redaction; the live detection
budget) read a camera that paces like one: ``PacedCamera`` makes a 1280x720 frame every 1/30 s
from a real photo with faces (../shared/eval/dlib_faces, panned a little each frame), stamps it
with its capture time and keeps only the newest for the reader, exactly as ``CameraSource``'s
reader thread does with a webcam. A sink records, for each published frame, the time since its
capture. (Used when the host has no webcam; ``--device`` reads a real one through
``CameraSource`` instead.)

Reported (JSON):

- ``added_latency_ms``: p50 / p95 / max of publish time - capture time (target: p95 <= 45 ms),
  over the frames not slowed down on purpose;
- ``published_fps`` and ``dropped``: camera frames never published (the engine was busy);
- ``queueing``: whether latency grows over the run (p95 of the last third vs the first third)
  and, with ``--slow-every N``, what a slow frame does to the ones after it: one frame in N is
  held ``--slow-ms`` longer in the pipeline; without queueing the next published frame is again
  fresh (the frames captured meanwhile are dropped, not delayed).

    python bench/camera_latency.py [--seconds 20] [--quick] [--slow-every 30 --slow-ms 80]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import threading
import time
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from faceblur_cam.app import build_pipeline
from faceblur_cam.config import Config
from faceblur_cam.engine import Engine, EngineParts, EngineState
from faceblur_cam.frames import CapturedFrame, FrameKind, PublishedFrame
from faceblur_cam.placeholders import PlaceholderCards
from faceblur_cam.sources import FrameSource, SourceError

EVAL = Path(os.environ.get("FACEBLUR_EVAL_DIR", Path(__file__).resolve().parents[2] / "shared" / "eval"))
PHOTO = "dlib_faces/2008_001322.jpg"
WH, FPS = (1280, 720), 30.0
TARGET_P95_MS = 45.0


class PacedCamera:
    """A fake webcam: frames at ``fps`` on its own thread, capture-stamped, newest kept only."""

    def __init__(self, photo: np.ndarray, fps: float = FPS):
        self._base = cv2.resize(photo, (WH[0] + 64, WH[1] + 36))
        self._period = 1.0 / fps
        self._cond = threading.Condition()
        self._latest: CapturedFrame | None = None
        self._delivered = 0
        self.made = 0
        self._stop = False
        self._thread = threading.Thread(target=self._run, name="paced-camera", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        start = time.monotonic()
        while not self._stop:
            due = start + self.made * self._period
            delay = due - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            dx = int(32 + 30 * np.sin(self.made / 20))  # a slow pan: the tracker has work to do
            image = np.ascontiguousarray(self._base[18:18 + WH[1], dx:dx + WH[0]])
            t = time.monotonic()  # the capture timestamp, as the driver's would be
            with self._cond:
                self.made += 1
                self._latest = CapturedFrame(image, t, self.made)
                self._cond.notify_all()

    def read(self, timeout: float) -> CapturedFrame | None:
        with self._cond:
            self._cond.wait_for(lambda: self.made > self._delivered, timeout)
            if self._latest is None or self._latest.index == self._delivered:
                return None
            self._delivered = self._latest.index
            return self._latest

    def close(self) -> None:
        self._stop = True
        self._thread.join(timeout=2)


class SlowEvery:
    """Wraps the pipeline: every ``n``-th frame takes ``extra_s`` longer (a hiccup); records the
    pipeline's own time per frame (the per-frame baseline the latency is compared with)."""

    def __init__(self, inner: Any, n: int, extra_s: float):
        self._inner, self._n, self._extra = inner, n, extra_s
        self.count = 0
        self.slow_indices: list[int] = []
        self.process_ms: list[float] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def process(self, frame: CapturedFrame) -> PublishedFrame:
        self.count += 1
        if self._n and self.count % self._n == 0:
            time.sleep(self._extra)
            self.slow_indices.append(frame.index)
        start = time.perf_counter()
        try:
            return self._inner.process(frame)
        finally:
            self.process_ms.append((time.perf_counter() - start) * 1000)


class LatencySink:
    """Records (capture index, latency) of every published camera frame."""

    def __init__(self) -> None:
        self.records: list[tuple[int, float, float]] = []  # (index, capture t, latency s)
        self.cards = 0

    def send(self, frame: PublishedFrame) -> None:
        now = time.monotonic()
        if frame.kind is FrameKind.PLACEHOLDER:
            self.cards += 1
            return
        self.records.append((frame.index, frame.t, now - frame.t))

    def close(self) -> None:
        pass


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))] if ordered else float("nan")


def run(seconds: float, slow_every: int, slow_ms: float, device: str | None) -> dict[str, Any]:
    photo = cv2.imread(str(EVAL / PHOTO))
    if photo is None:
        raise SystemExit(f"camera_latency: photo missing at {EVAL / PHOTO} (set FACEBLUR_EVAL_DIR)")
    sink = LatencySink()
    slow: SlowEvery | None = None
    camera: PacedCamera | None = None

    def open_source() -> FrameSource:
        nonlocal camera
        if device is not None:
            from faceblur_cam.sources.camera_choice import open_camera

            return open_camera(device, WH, FPS)
        camera = PacedCamera(photo)
        return camera

    def pipeline() -> Any:
        nonlocal slow
        slow = SlowEvery(build_pipeline(Config(), live=True), slow_every, slow_ms / 1000)
        return slow

    engine = Engine(EngineParts(open_source=open_source, build_pipeline=pipeline,
                                placeholders=PlaceholderCards(WH), outputs=[sink], fps=FPS))
    engine.start()
    deadline = time.monotonic() + 120
    while engine.status().state is not EngineState.PROTECTING and time.monotonic() < deadline:
        time.sleep(0.05)
    warm = time.monotonic() + 2.0  # the detector's first passes are slower (allocation)
    while time.monotonic() < warm:
        time.sleep(0.05)
    first = len(sink.records)
    first_processed = len(slow.process_ms) if slow else 0
    made0 = camera.made if camera else 0
    t0 = time.monotonic()
    time.sleep(seconds)
    records = sink.records[first:]
    elapsed = time.monotonic() - t0
    made = (camera.made - made0) if camera else None
    engine.quit()
    engine.wait(10)

    hiccups = set(slow.slow_indices if slow else [])
    # the target is judged on the frames we did not slow down on purpose; those are in "queueing"
    lat = [r[2] * 1000 for r in records if r[0] not in hiccups]
    pipe = slow.process_ms[first_processed:] if slow else []
    third = max(1, len(lat) // 3)
    by_index = {r[0]: r[2] * 1000 for r in records}
    indices = sorted(by_index)
    after_slow = []
    for i in (slow.slow_indices if slow else []):
        later = [j for j in indices if j > i]
        if later:
            after_slow.append(by_index[later[0]])
    return {
        "bench": "camera_latency",
        "source": device or f"paced fake camera {WH[0]}x{WH[1]} at {FPS:.0f} fps ({PHOTO})",
        "seconds": round(elapsed, 1),
        "published_frames": len(records),
        "published_fps": round(len(records) / elapsed, 1),
        "camera_frames": made,
        "dropped": (made - len(records)) if made is not None else None,
        "added_latency_ms": {"p50": round(statistics.median(lat), 1) if lat else None,
                             "p95": round(percentile(lat, 95), 1), "max": round(max(lat), 1) if lat else None},
        "pipeline_ms": {"p50": round(statistics.median(pipe), 1) if pipe else None,
                        "p95": round(percentile(pipe, 95), 1)},
        "p95_latency_over_pipeline_p50": round(percentile(lat, 95) / statistics.median(pipe), 2) if pipe else None,
        "target_p95_ms": TARGET_P95_MS,
        "meets_target": bool(lat) and percentile(lat, 95) <= TARGET_P95_MS,
        "queueing": {
            "p95_first_third_ms": round(percentile(lat[:third], 95), 1),
            "p95_last_third_ms": round(percentile(lat[-third:], 95), 1),
            "grows": bool(lat) and percentile(lat[-third:], 95) > 2 * percentile(lat[:third], 95) + 10,
            "slow_frames": len(slow.slow_indices) if slow else 0,
            "slow_ms": slow_ms if slow_every else 0,
            "next_after_slow_ms_p95": round(percentile(after_slow, 95), 1) if after_slow else None,
        },
        "load_average": [round(v, 2) for v in os.getloadavg()],
        "cpus": os.cpu_count(),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--quick", action="store_true", help="8 s of measurement")
    parser.add_argument("--slow-every", type=int, default=30, help="one frame in N is slow (0: none)")
    parser.add_argument("--slow-ms", type=float, default=80.0, help="how much longer a slow frame takes")
    parser.add_argument("--device", help="read this real camera (name or /dev/videoN) instead of the fake")
    args = parser.parse_args(argv)
    try:
        result = run(8.0 if args.quick else args.seconds, args.slow_every, args.slow_ms, args.device)
    except SourceError as exc:
        print(f"camera_latency: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
