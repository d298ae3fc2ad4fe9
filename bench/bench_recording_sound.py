"""What recording the microphone adds, as JSON: the live 720p pipeline without recording, recording
pictures only, recording with sound, and with the voice disguise; frames per second the call gets
and CPU (ours + the encoder's).

    .venv/bin/python bench/bench_recording_sound.py            # about 1 min
    .venv/bin/python bench/bench_recording_sound.py --quick    # smoke run

The microphone is a private PulseAudio server's pipe source fed with a tone (tests/pulse_server.py),
so the numbers include PortAudio capture, the pipe to ffmpeg and AAC encoding. Same live setup as
bench_recording.py (a YouTube Faces clip standing in for a 30 fps camera, the real detector, the
fake virtual camera).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from bench_recording import CLIP, WH, measure, recorder_pids, started_engine

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from pulse_server import RATE, PulseServer  # noqa: E402

from faceblur_cam.app import open_recorder as ORIGINAL_OPEN_RECORDER  # noqa: E402


def live(folder: Path, seconds: float) -> dict[str, dict[str, float]]:
    from dataclasses import replace

    from faceblur_cam import app
    from faceblur_cam.config import CameraConfig, Config, RecordingConfig

    base = Config(camera=CameraConfig(source=str(CLIP), width=WH[0], height=WH[1], fps=30),
                  recording=RecordingConfig(folder=str(folder)))
    results: dict[str, dict[str, float]] = {}
    phases = [("without_recording", None), ("recording_pictures_only", "off"),
              ("recording_with_sound", "default"), ("recording_with_disguised_sound", "disguise")]
    engine, camera = started_engine(base)
    try:
        for name, audio in phases:
            if audio is None:
                results[name] = measure(camera, seconds)
                continue
            recording = replace(base.recording, audio="off" if audio == "off" else "default",
                                voice="disguise" if audio == "disguise" else "keep")
            # the engine opens recordings through app.open_recorder(config): this phase's config
            app.open_recorder = _opener(replace(base, recording=recording))
            engine.start_recording()
            time.sleep(1)
            results[name] = measure(camera, seconds, children=recorder_pids())
            results[name]["recording_active"] = float(engine.status().recording)
            engine.stop_recording()
            time.sleep(1)
    finally:
        engine.quit()
        engine.wait(15)
    return results


def _opener(config: Any) -> Any:
    return lambda _config: ORIGINAL_OPEN_RECORDER(config)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="shorter runs")
    args = parser.parse_args()
    if not CLIP.is_dir():
        print(f"bench_recording_sound: evaluation clip missing at {CLIP} (set FACEBLUR_EVAL_DIR)", file=sys.stderr)
        return 2
    if not shutil.which("pulseaudio"):
        print("bench_recording_sound: needs pulseaudio (tests/apt-packages.txt)", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "pulse").mkdir()
        pulse = PulseServer(Path(tmp) / "pulse")
        os.environ.update({k: v for k, v in pulse.env.items() if k != "HOME"})
        tone = (6000 * np.sin(2 * np.pi * 220 * np.arange(600 * RATE) / RATE)).astype(np.int16)
        pulse.play(time.monotonic(), tone)  # ten minutes of a tone into the microphone
        try:
            report = {
                "cpus": os.cpu_count(),
                "load_average_1min": round(os.getloadavg()[0], 2),
                "live_720p": live(Path(tmp) / "recordings", 3 if args.quick else 8),
            }
        finally:
            pulse.close()
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
