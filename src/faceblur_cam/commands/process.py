"""``faceblur-cam process INPUT -o OUTPUT [--boxes FILE.jsonl]``: the live pipeline, offline.

Frame by frame, in order, no look-ahead, the live defaults; only the detector time budget is
lifted (offline there is no deadline, so no frame is obscured for being slow).
"""

from __future__ import annotations

import argparse
import logging
import time
from dataclasses import replace
from pathlib import Path

from faceblur_cam.config import STYLES, load_config
from faceblur_cam.errors import UserError
from faceblur_cam.sinks import FrameSink, SinkError
from faceblur_cam.sources import SourceError

log = logging.getLogger(__name__)

VIDEO_SUFFIXES = {".mp4", ".avi", ".mkv", ".mov", ".m4v", ".webm"}


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "process",
        help="protect a video file, an image, or a folder of images",
        description="Run exactly the live pipeline on a file: video, image, or a folder of images "
        "(sorted by name = consecutive frames).",
    )
    p.add_argument("input", type=Path, help="video file, image, or folder of images")
    p.add_argument("-o", "--output", type=Path, required=True,
                   help="a video file (.mp4/.avi) or a folder for PNGs named like the inputs")
    p.add_argument("--boxes", type=Path, help="write the redacted regions per frame as JSON lines")
    p.add_argument("--style", choices=STYLES, help="redaction style (default from config: blur)")
    p.add_argument("--fps", type=float, help="frame rate for image folders (default 30)")
    p.add_argument("--config", type=Path, help="config file (default: the user config)")
    p.set_defaults(func=run_process)


def run_process(args: argparse.Namespace) -> int:
    from faceblur_cam.app import build_pipeline
    from faceblur_cam.sinks.files import BoxesLog, PngFolderSink, VideoFileSink
    from faceblur_cam.sources.files import iter_frames, native_fps

    config = load_config(args.config)
    if args.style:
        config = replace(config, protect=replace(config.protect, style=args.style))
    if not args.input.exists():
        raise UserError(f"{args.input} does not exist")
    fps = args.fps or native_fps(args.input)
    sinks: list[FrameSink] = []
    if args.output.suffix.lower() in VIDEO_SUFFIXES:
        sinks.append(VideoFileSink(args.output, fps))
    else:
        sinks.append(PngFolderSink(args.output))
    if args.boxes:
        sinks.append(BoxesLog(args.boxes))
    pipeline = build_pipeline(config, live=False)
    count = obscured = faces = 0
    started = time.perf_counter()
    try:
        for frame in iter_frames(args.input, fps):
            published = pipeline.process(frame)
            for sink in sinks:
                sink.send(published)
            count += 1
            obscured += published.obscured
            faces += len(published.regions)
    except (SourceError, SinkError) as exc:
        raise UserError(f"{exc} (after {count} frames; what was written so far is kept)") from exc
    finally:
        for sink in sinks:
            sink.close()
    took = time.perf_counter() - started
    print(f"{count} frames -> {args.output} ({faces} face regions, {obscured} frames fully obscured, "
          f"{count / took if took else 0:.1f} fps)")
    return 0
