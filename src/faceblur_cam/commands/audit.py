"""``faceblur-cam audit FILE_OR_FOLDER [--report DIR]``: look again at every frame for faces left uncovered.

Every frame of a video (or every image of a folder, in sorted order) is searched with no time
budget by CenterFace and by YuNet (``faceblur_cam.audit``). A found face that still carries
detail is a suspect. Exit status: 0 no suspects, 3 suspects found, 2 error (bad input).
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path

from faceblur_cam.errors import UserError
from faceblur_cam.progress import FrameProgress
from faceblur_cam.sources import SourceError

log = logging.getLogger(__name__)

EXIT_CLEAN = 0
EXIT_SUSPECTS = 3


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "audit",
        help="check a video, an image or a folder of images for faces left uncovered",
        description="Search every frame thoroughly with two independent face detectors (CenterFace and "
        "YuNet) and list every face that still shows detail (not covered). Exit status: 0 none "
        "found, 3 suspects found, 2 error.",
    )
    p.add_argument("input", type=Path, help="video file, image, or folder of images (sorted by name)")
    p.add_argument("--report", type=Path, metavar="DIR",
                   help="write DIR/report.json and DIR/contact-sheet.png (the suspect frames, boxes drawn)")
    p.set_defaults(func=run_audit)


def run_audit(args: argparse.Namespace) -> int:
    return audit_path(args.input, args.report)


def audit_path(source: Path, report_dir: Path | None = None) -> int:
    """Audit ``source``; print the summary line; write the report when asked. Returns the exit status."""
    from faceblur_cam.audit.auditor import Suspect, load_auditor
    from faceblur_cam.audit.report import ContactSheet, write_report
    from faceblur_cam.sources.files import ReadReport, check_readable, iter_frames

    if not source.exists():
        raise UserError(f"{source} does not exist: give a video file, an image, or a folder of images")
    _check_report_dir(source, report_dir)
    try:
        check_readable(source)
    except SourceError as exc:
        raise UserError(str(exc)) from exc
    auditor = load_auditor()
    read = ReadReport()
    sheet = ContactSheet()
    suspects: list[Suspect] = []
    count = 0
    started = time.perf_counter()
    progress = FrameProgress()
    try:
        for frame in iter_frames(source, report=read):
            found = auditor.suspects(frame.image, count, frame.t)
            suspects += found
            sheet.add(frame.image, found)
            count += 1
            progress.advance(read.announced)
    except SourceError as exc:
        raise UserError(f"{exc} (after {count} frames)") from exc
    finally:
        progress.close()
    took = time.perf_counter() - started
    frames_hit = len({s.frame for s in suspects})
    verdict = (f"{len(suspects)} suspect face{_s(len(suspects))} on {frames_hit} frame{_s(frames_hit)}"
               if suspects else "no suspects")
    print(f"audit: {count} frames of {source}: {verdict} ({took:.1f} s)")
    for s in suspects[:10]:
        print(f"  frame {s.frame} at {s.time:.2f} s: box {list(s.box)} ({s.detector} {s.score:.2f})")
    if len(suspects) > 10:
        print(f"  ... and {len(suspects) - 10} more" + ("" if report_dir else " (--report DIR lists them all)"))
    if read.lost:
        print(f"faceblur-cam: warning: {read.lost} frames of {source} could not be decoded and were not audited",
              file=sys.stderr)
    if report_dir is not None:
        try:
            report, png = write_report(report_dir, count, suspects, sheet)
        except OSError as exc:
            raise UserError(f"cannot write the report to {report_dir}: {exc}") from exc
        print(f"report: {report}; contact sheet: {png}")
    return EXIT_SUSPECTS if suspects else EXIT_CLEAN


def _check_report_dir(source: Path, report_dir: Path | None) -> None:
    if report_dir is None:
        return
    if report_dir.exists() and not report_dir.is_dir():
        raise UserError(f"--report {report_dir} is a file: give a folder (it is created if missing)")
    if source.is_dir() and report_dir.exists() and report_dir.resolve() == source.resolve():
        raise UserError(f"--report {report_dir} is the folder being audited: its contact sheet would "
                        "become one of the images. Choose another folder")


def _s(n: int) -> str:
    return "" if n == 1 else "s"
