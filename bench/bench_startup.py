"""Time from launch to the first protected frame: the real ``faceblur-cam run`` as a new process.

Each run starts ``python -m faceblur_cam run --no-tray`` on a short looped clip of a real photo
(from ``../shared/eval``), publishing to the fake virtual camera, with fresh settings and cache
folders, and measures from the launch to:

- ``first_card_s``: the first frame on the virtual camera (the "Starting protection..." card);
- ``first_protected_s``: the log saying it protects (the first camera frame went through the
  face detector and was published).

Then it sends SIGTERM. ``--python`` runs another installation (for a before/after comparison);
the first run of a series also pays for a cold file cache, so the median is the figure to quote.

    python bench/bench_startup.py [--runs 5] [--python PATH]

Prints JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
from evaluate import eval_dir  # bench/ is the script's folder, so on sys.path

from faceblur_cam.sources.files import read_image

EVAL = eval_dir()
PHOTO = EVAL / "dlib_faces" / "2008_001322.jpg"
WH = (640, 360)
FAKE_BACKEND = "faceblur_cam.sinks.fake_vcam:FakeCameraBackend"


def make_clip(path: Path) -> None:
    photo = cv2.resize(read_image(PHOTO), (WH[0] + 80, WH[1]))
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"MJPG"), 30, WH)
    for i in range(60):
        x = 40 + int(30 * np.sin(i / 10))
        writer.write(np.ascontiguousarray(photo[:, x:x + WH[0]]))
    writer.release()


def one_run(python: str, clip: Path, folder: Path, timeout: float = 120.0) -> dict[str, float]:
    config = folder / "config.toml"
    config.write_text(f"[camera]\nwidth = {WH[0]}\nheight = {WH[1]}\nloop = true\n")
    vcam, xdg = folder / "vcam", folder / "xdg"
    env = {**os.environ, "FACEBLUR_FAKE_VCAM_DIR": str(vcam), "FACEBLUR_FAKE_VCAM_FPS": "2"}
    env.update({f"XDG_{kind}": str(xdg / kind.lower())
                for kind in ("RUNTIME_DIR", "STATE_HOME", "CACHE_HOME", "CONFIG_HOME", "DATA_HOME")})
    env.pop("DISPLAY", None)
    (xdg / "runtime_dir").mkdir(parents=True, mode=0o700)
    started = time.monotonic()
    proc = subprocess.Popen([python, "-m", "faceblur_cam", "run", "--no-tray", "--source", str(clip),
                             "--config", str(config), "--vcam-backend", FAKE_BACKEND],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    card = protected = None
    try:
        while protected is None:
            now = time.monotonic() - started
            if proc.poll() is not None or now > timeout:
                said = proc.stderr.read().decode() if proc.stderr else ""
                raise RuntimeError(f"the app did not start protecting: {said}")
            if card is None and vcam.is_dir() and any(vcam.glob("frame_*.png")):
                card = now
            logs = list(xdg.rglob("faceblur-cam.log"))
            if logs and "status: Protecting" in logs[0].read_text():
                protected = now
            time.sleep(0.01)
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return {"first_card_s": card if card is not None else protected, "first_protected_s": protected}


def spread(values: list[float]) -> dict[str, float]:
    return {"median": round(statistics.median(values), 2), "min": round(min(values), 2), "max": round(max(values), 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--python", default=sys.executable, help="the interpreter of the installation to time")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        clip = Path(tmp) / "clip.avi"
        make_clip(clip)
        runs = []
        for i in range(args.runs):
            folder = Path(tmp) / f"run{i}"
            folder.mkdir()
            runs.append(one_run(args.python, clip, folder))
    print(json.dumps({
        "python": args.python,
        "runs": args.runs,
        "first_card_s": spread([r["first_card_s"] for r in runs]),
        "first_protected_s": spread([r["first_protected_s"] for r in runs]),
        "each": runs,
    }, indent=2))


if __name__ == "__main__":
    main()
