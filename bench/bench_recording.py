"""Recording cost, as JSON: what encoding a 720p frame costs, and what recording does to the live
pipeline's frame rate.

    .venv/bin/python bench/bench_recording.py             # about 40 s
    .venv/bin/python bench/bench_recording.py --quick     # smoke run

- ``encode_720p``: 150 real frames (a YouTube Faces clip scaled to 1280x720) through
  ``Mp4Recorder``; CPU of the ffmpeg child and of our process (queue + pipe writes) per frame.
- ``live_720p``: the live engine (real detector and redaction, the clip standing in for a 30 fps
  camera, the fake virtual camera as the output) for a while without and then with recording:
  frames per second the call gets, and the process CPU (ours + ffmpeg) per second.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import cv2
from evaluate import eval_dir  # bench/ is the script's folder, so on sys.path

from faceblur_cam.frames import FrameKind, PublishedFrame
from faceblur_cam.recording.encoders import encoder_available
from faceblur_cam.recording.files import new_recording_path
from faceblur_cam.recording.recorder import Mp4Recorder
from faceblur_cam.sources.files import list_images, read_image

WH = (1280, 720)
EVAL = eval_dir()
CLIP = EVAL / "ytf_pftracker" / "clips" / "Alek_Wek" / "4"


def cpu_seconds() -> tuple[float, float]:
    """(our process, waited-for children) CPU seconds so far."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime, kids.ru_utime + kids.ru_stime


def encode_720p(folder: Path, frames: int) -> dict[str, float]:
    images = [cv2.resize(read_image(p), WH) for p in list_images(CLIP)[:frames]]
    recorder = Mp4Recorder(new_recording_path(folder), WH, 30, queue_frames=len(images) + 1)
    own0, kids0 = cpu_seconds()
    started = time.perf_counter()
    for k, image in enumerate(images):
        recorder.send(PublishedFrame(image, k / 30, FrameKind.REDACTED))
    recorder.close()
    wall = time.perf_counter() - started
    own1, kids1 = cpu_seconds()
    n = recorder.frames_written
    return {
        "frames": n,
        "encoder_cpu_ms_per_frame": round(1000 * (kids1 - kids0) / n, 2),
        "our_cpu_ms_per_frame": round(1000 * (own1 - own0) / n, 2),
        "encode_fps": round(n / wall, 1),
        "bytes_per_second_of_video": int(recorder.path.stat().st_size / (n / 30)),
    }


def started_engine(config: Any) -> tuple[Any, Any]:
    """The real engine on ``config`` publishing to the test virtual camera (frames counted, not
    kept), started and protecting, after a 2 s warm-up: (engine, camera backend)."""
    from faceblur_cam.app import build_engine
    from faceblur_cam.engine import EngineState
    from faceblur_cam.sinks.fake_vcam import FakeCameraBackend, register
    from faceblur_cam.sinks.vcam import VirtualCameraSink

    os.environ["FACEBLUR_FAKE_VCAM_KEEP"] = "0"  # count frames, do not keep them
    engine = build_engine(config, [VirtualCameraSink(WH, 30, backend=register())])
    camera = FakeCameraBackend.instances[-1]
    engine.start()
    deadline = time.monotonic() + 120
    while engine.status().state is not EngineState.PROTECTING and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(2)  # warm-up
    return engine, camera


def live_720p(folder: Path, seconds: float) -> dict[str, dict[str, float]]:
    from faceblur_cam.config import CameraConfig, Config, RecordingConfig

    config = Config(
        camera=CameraConfig(source=str(CLIP), width=WH[0], height=WH[1], fps=30),
        recording=RecordingConfig(folder=str(folder)),
    )
    engine, camera = started_engine(config)
    try:
        results = {"without_recording": measure(camera, seconds)}
        engine.start_recording()
        time.sleep(1)
        results["with_recording"] = measure(camera, seconds, children=recorder_pids())
        results["with_recording"]["recording_active"] = float(engine.status().recording)
        engine.stop_recording()
    finally:
        engine.quit()
        engine.wait(15)
    return results


def recorder_pids() -> list[int]:
    me = os.getpid()
    pids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == me:
                pids.append(int(stat.parent.name))
        except (OSError, ValueError):
            continue
    return pids


def child_cpu(pids: list[int]) -> float:
    """CPU seconds of running children (not yet waited for), from /proc."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick
        except (OSError, ValueError):
            continue
    return total


def measure(camera: Any, seconds: float, children: list[int] | None = None) -> dict[str, float]:
    """Over ``seconds``: frames the fake virtual camera got per second, and CPU percentages."""
    sent0, (own0, _), kids0 = camera.sent, cpu_seconds(), child_cpu(children or [])
    started = time.perf_counter()
    time.sleep(seconds)
    wall = time.perf_counter() - started
    sent1, (own1, _), kids1 = camera.sent, cpu_seconds(), child_cpu(children or [])
    return {
        "fps": round((sent1 - sent0) / wall, 1),
        "our_cpu_percent": round(100 * (own1 - own0) / wall, 1),
        "encoder_cpu_percent": round(100 * (kids1 - kids0) / wall, 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer frames, shorter runs")
    args = parser.parse_args()
    if not CLIP.is_dir():
        print(
            f"bench_recording: evaluation clip missing at {CLIP} (set FACEBLUR_EVAL_DIR)",
            file=sys.stderr,
        )
        return 2
    ok, encoder = encoder_available()
    if not ok:
        print(f"bench_recording: {encoder}", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as tmp:
        report = {
            "encoder": encoder,
            "cpus": os.cpu_count(),
            "load_average_1min": round(os.getloadavg()[0], 2),
            "encode_720p": encode_720p(Path(tmp), 60 if args.quick else 150),
            "live_720p": live_720p(Path(tmp), 3 if args.quick else 10),
        }
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
