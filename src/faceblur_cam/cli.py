"""Command line: ``faceblur-cam [run|process|devices|...]``. No subcommand = ``run``.

Each subcommand lives in ``faceblur_cam.commands.<name>`` with ``register(subparsers)``,
which adds its parser and sets ``func(args) -> int``.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys

from faceblur_cam import APP_NAME, __version__
from faceblur_cam.commands import audit, autostart, control, devices, doctor, process, run, setup
from faceblur_cam.config import ConfigError
from faceblur_cam.errors import UserError

log = logging.getLogger(__name__)

COMMAND_MODULES = [run, process, audit, devices, control, autostart, doctor, setup]


def build_parser() -> argparse.ArgumentParser:
    return _build()[0]


def _build() -> tuple[argparse.ArgumentParser, set[str]]:
    parser = argparse.ArgumentParser(
        prog="faceblur-cam",
        description=(
            f"{APP_NAME}: reads your webcam, obscures every face in every frame and publishes "
            f"the result as the virtual camera \"{APP_NAME}\" for Zoom, Teams, Meet or OBS. "
            "Everything runs on this computer; nothing is sent anywhere."
        ),
        epilog="Run 'faceblur-cam COMMAND --help' for a command's options. "
        "With no command, 'run' starts the tray.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log details to the console")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in COMMAND_MODULES:
        module.register(sub)
    return parser, set(sub.choices)


def with_default_command(argv: list[str], commands: set[str]) -> list[str]:
    """``faceblur-cam [options]`` means ``faceblur-cam run [options]``."""
    if any(a in ("-h", "--help", "--version") for a in argv):
        return argv
    first_word = next((a for a in argv if not a.startswith("-")), None)
    return argv if first_word in commands else ["run", *argv]


def quiet_opencv() -> None:
    """OpenCV and its ffmpeg print their own warnings on stderr (a dozen lines per camera retry,
    one per damaged video packet), burying our one-line messages: silence them (``--verbose``
    keeps them). The ffmpeg level is read when OpenCV first opens a video, so this is in time."""
    import cv2

    os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")  # AV_LOG_QUIET
    opencv_logging = getattr(cv2.utils, "logging", None)  # OpenCV 5; OpenCV 4 has cv2.setLogLevel
    if opencv_logging is not None:
        opencv_logging.setLogLevel(opencv_logging.LOG_LEVEL_SILENT)
    else:
        cv2.setLogLevel(0)  # type: ignore[attr-defined]  # OpenCV 4 only; 0 = LOG_LEVEL_SILENT


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser, commands = _build()
    args = parser.parse_args(with_default_command(argv, commands))
    from faceblur_cam.logs import setup_console_logging

    setup_console_logging(verbose=getattr(args, "verbose", False))
    if not getattr(args, "verbose", False):
        quiet_opencv()
    try:
        return _run_command(args)
    finally:
        finish_leftover_work()


def finish_leftover_work() -> None:
    """Before the interpreter exits: let a slow face detection, leak-watch look or camera read
    still inside native code finish (exiting under it aborts the process). Only when something
    was left running."""
    threads = sys.modules.get("faceblur_cam.native_threads")
    if threads is not None:
        threads.wait_for_native_threads()


def _run_command(args: argparse.Namespace) -> int:
    try:
        return int(args.func(args) or 0)
    except (UserError, ConfigError) as exc:
        print(f"faceblur-cam: {exc}", file=sys.stderr)
        return getattr(exc, "exit_code", 2)
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # a bug: keep the traceback in the log, give the user one line
        log.debug("unexpected error", exc_info=True)
        print(f"faceblur-cam: unexpected error: {exc!r}. Run with --verbose for details and "
              "please report it.", file=sys.stderr)
        return 1
