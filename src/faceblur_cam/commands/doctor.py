"""``faceblur-cam doctor``: check everything a call needs and print the fixes."""

from __future__ import annotations

import argparse

from faceblur_cam import APP_NAME, platform
from faceblur_cam.doctor import default_sections, exit_code, format_report, run_checks


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "doctor",
        help="check the virtual camera, webcam, detector, tray and recording; print fixes",
        description=f"Check everything {APP_NAME} needs and print the exact command that fixes "
        "each problem. Exit status 0 only when everything a call needs works.",
    )
    p.add_argument("--label", default=APP_NAME, help=argparse.SUPPRESS)
    p.set_defaults(func=run_doctor)


def run_doctor(args: argparse.Namespace) -> int:
    results = run_checks(default_sections(args.label))
    print(format_report(results, f"{APP_NAME} doctor ({platform.os_name()})"))
    return exit_code(results)
