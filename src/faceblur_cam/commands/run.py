"""``faceblur-cam run``: the live daemon (tray, or ``--no-tray`` headless)."""

from __future__ import annotations

import argparse
import enum
import logging
import signal
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from faceblur_cam.config import STYLES, VOICES, Config, StyleName, Voice, load_config, parse_source, warnings_for
from faceblur_cam.engine import Engine, EngineStatus, RecordingFailed
from faceblur_cam.errors import UserError
from faceblur_cam.single_instance import InstanceLock
from faceblur_cam.sinks import FrameSink

log = logging.getLogger(__name__)


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "run",
        help="start protecting: camera -> face redaction -> virtual camera (default command)",
        description="Read the camera, obscure every face and publish the result as the virtual "
        "camera \"FaceBlur Cam\". Pick that camera in Zoom, Teams, Meet or OBS.",
    )
    p.add_argument("--no-tray", action="store_true", help="run headless, without a tray icon")
    p.add_argument("-v", "--verbose", action="store_true", default=argparse.SUPPRESS,
                   help="log details to the console (the log file is always written)")
    p.add_argument("--source", help="camera index (0, 1, ...), device path, video file or image folder")
    p.add_argument("--style", choices=STYLES, help="redaction style (default: blur)")
    p.add_argument("--keep-me", action="store_true",
                   help="keep me visible: leave your own face (the largest nearest the centre) visible, cover "
                   "everyone else; followed by position and motion, no face recognition (see the README)")
    p.add_argument("--preview", action="store_true", help="also show a preview window of what is published")
    p.add_argument("--device", help="virtual camera device to publish to (default: found by its label)")
    p.add_argument("--no-virtual-camera", action="store_true",
                   help="do not publish to a virtual camera (preview and/or recording only)")
    p.add_argument("--record", action="store_true",
                   help="start recording what is published to an MP4 at once (works with --no-virtual-camera)")
    p.add_argument("--record-dir", type=Path,
                   help="folder for recordings (default: your Videos folder / FaceBlur Cam)")
    sound = p.add_mutually_exclusive_group()
    sound.add_argument("--audio", metavar="DEVICE",
                       help='microphone recorded with the pictures: "default" (the default), or an input '
                       "device's name or number")
    sound.add_argument("--no-audio", action="store_true", help="record pictures only, without sound")
    p.add_argument("--voice", choices=VOICES,
                   help="disguise: record the voice with its pitch and formants shifted, so the speaker is harder "
                   "to recognise by ear (the words stay; see the README). Default from config: keep")
    p.add_argument("--vcam-backend", help=argparse.SUPPRESS)  # "module:Class" for tests
    p.add_argument("--at-login", action="store_true",
                   help="started at login: start quietly, wait for the tray if it is not up yet")
    p.add_argument("--config", type=Path, help="config file (default: the user config)")
    p.add_argument("--no-leak-watch", action="store_true",
                   help="switch off the leak watch (a second detector looking at a sample of the published "
                   "frames while the machine has time to spare; config: [protect] leak_watch = false)")
    p.set_defaults(func=run_live)


def config_from_args(args: argparse.Namespace) -> Config:
    config = load_config(args.config)
    cam, prot, out = config.camera, config.protect, config.output
    if args.source is not None:
        cam = replace(cam, source=parse_source(args.source))
    if args.style:
        prot = replace(prot, style=StyleName(args.style))
    if args.no_leak_watch:
        prot = replace(prot, leak_watch=False)
    if getattr(args, "keep_me", False):
        prot = replace(prot, keep_me=True)
    if args.device:
        out = replace(out, device=args.device)
    if args.vcam_backend:
        out = replace(out, backend=args.vcam_backend)
    if args.no_virtual_camera:
        out = replace(out, virtual_camera=False)
    if args.preview and not args.at_login:
        out = replace(out, preview=True)
    recording = replace(config.recording, folder=str(args.record_dir)) if args.record_dir else config.recording
    if args.audio or args.no_audio:
        recording = replace(recording, audio="off" if args.no_audio else args.audio)
    if args.voice:
        recording = replace(recording, voice=Voice(args.voice))
    return replace(config, camera=cam, protect=prot, output=out, recording=recording)


def check_source(source: int | str) -> None:
    """A file or folder named as the source must exist and give a frame (a camera may come later;
    a typo or a broken file won't)."""
    from faceblur_cam.sources import SourceError
    from faceblur_cam.sources.files import check_readable

    if not isinstance(source, str) or source.startswith("/dev/"):
        return
    path = Path(source).expanduser()
    if not path.exists():
        raise UserError(f"source {source!r} does not exist: give a camera index (0, 1, ...), a device, "
                        "a video file or a folder of images")
    try:
        check_readable(path)
    except SourceError as exc:
        raise UserError(f"source: {exc}") from exc


def check_preview(config: Config, record: bool) -> Config:
    """A preview needs a display: without one, drop it (other outputs go on) or, when it was the
    only output, stop with a message instead of running forever publishing nothing."""
    from faceblur_cam import platform

    if not config.output.preview:
        return config
    problem = platform.display_problem()
    if problem is None:
        return config
    problem = f"no display to show the preview window on: {problem}"
    if not config.output.virtual_camera and not record:
        raise UserError(f"{problem}, and nothing else to publish to: run it in a desktop session, or "
                        "publish to the virtual camera, or add --record")
    print(f"faceblur-cam: {problem}; going on without it", file=sys.stderr)
    return replace(config, output=replace(config.output, preview=False))


def warn_about(config: Config) -> None:
    """Risky settings, on stderr and in the log (printed: a warning nobody sees protects nobody)."""
    for warning in warnings_for(config):
        print(f"faceblur-cam: WARNING: {warning}", file=sys.stderr)
        log.info("config warning: %s", warning)


def launched_from_desktop(args: argparse.Namespace, stdin_is_terminal: bool) -> bool:
    """Started from a menu, the tray or at login: a tray icon will be there, but nobody reads the
    terminal (there is none), so problems must show in the tray and in notifications."""
    return not args.no_tray and (bool(args.at_login) or not stdin_is_terminal)


class NoDevicePlan(enum.Enum):
    """What to do when the virtual camera is missing at start."""

    PREVIEW_ONLY = "say so on stderr and go on with the preview window"
    WAIT_FOR_SETUP = "go on; the tray shows the error and offers setup, the engine opens the device when it appears"
    FAIL = "exit 2 with the message and how to get the device"


def when_no_virtual_camera(config: Config, from_desktop: bool) -> NoDevicePlan:
    if config.output.preview:
        return NoDevicePlan.PREVIEW_ONLY
    if from_desktop and not config.output.device:  # a device named by hand is not ours to create
        return NoDevicePlan.WAIT_FOR_SETUP
    return NoDevicePlan.FAIL


def waiting_for_setup_message(hint: str) -> str:
    """The missing-device hint as one whole line for the log and a notification (its first line
    ends in "Create it with:", which cut there said nothing)."""
    first = hint.splitlines()[0].strip().removesuffix("Create it with:").strip()
    return (f'{first} Choose "Set up the virtual camera..." in the FaceBlur Cam tray menu, or run in a '
            "terminal: faceblur-cam setup --apply")


@dataclass(frozen=True)
class StartOutputs:
    """The virtual camera at start: open (``vcam``), missing but waited for (``vcam_missing``:
    launched from the desktop, the engine publishes to it once it appears), or neither."""

    vcam: FrameSink | None = None
    vcam_missing: bool = False


def open_outputs(config: Config, from_desktop: bool = False) -> StartOutputs:
    """The virtual camera; without one, say how to get it and fall back to the preview.

    ``from_desktop``: a missing device is not fatal; the engine waits for it (it publishes to the
    device once it appears) and the tray offers to set it up."""
    from faceblur_cam.app import open_virtual_camera
    from faceblur_cam.sinks.vcam import NoVirtualCamera

    if not config.output.virtual_camera:
        return StartOutputs()
    try:
        sink = open_virtual_camera(config)
        say_notice(sink)
        return StartOutputs(vcam=sink)
    except NoVirtualCamera as exc:
        plan = when_no_virtual_camera(config, from_desktop)
        if plan is NoDevicePlan.PREVIEW_ONLY:
            print(f"faceblur-cam: {exc}\n\nContinuing with the preview window only.", file=sys.stderr)
            return StartOutputs()
        if plan is NoDevicePlan.WAIT_FOR_SETUP:
            from faceblur_cam.tray.backend import notify_without_tray

            line = waiting_for_setup_message(str(exc))
            log.warning("no virtual camera yet: %s", line)
            notify_without_tray("FaceBlur Cam needs its virtual camera", line)
            return StartOutputs(vcam_missing=True)
        raise UserError(
            f"{exc}\n\nTo see the protected picture without a virtual camera, run: "
            "faceblur-cam run --no-virtual-camera --preview"
        ) from exc


def say_notice(sink: FrameSink) -> None:
    """The virtual camera's status line (e.g. apps list it as "OBS Virtual Camera"): on stderr
    and in the log."""
    notice = getattr(sink, "notice", None)
    if notice:
        print(f"faceblur-cam: {notice}", file=sys.stderr)
        log.warning("%s", notice)


def run_live(args: argparse.Namespace) -> int:
    from faceblur_cam.app import build_live_app
    from faceblur_cam.remote import RemoteCommand

    config = config_from_args(args)
    check_source(config.camera.source)
    config = check_preview(config, args.record)
    instance = claim_instance()
    if instance is None:
        return 0
    warn_about(config)
    from_desktop = launched_from_desktop(args, sys.stdin is not None and sys.stdin.isatty())
    try:
        outputs = open_outputs(config, from_desktop)
    except UserError as exc:
        if not args.no_tray:  # started from a menu or at login: nobody reads stderr
            from faceblur_cam.tray.backend import notify_without_tray

            notify_without_tray("FaceBlur Cam cannot start", str(exc))
        raise
    record_only = outputs.vcam is None and not outputs.vcam_missing and not config.output.preview
    if record_only and not args.record:
        raise UserError("nothing to publish to: enable the virtual camera or add --preview or --record")
    app = build_live_app(config, outputs.vcam, outputs.vcam_missing)
    engine = app.engine
    engine.subscribe(_log_status_changes())
    if record_only:
        engine.subscribe(_quit_when_recording_ends(engine))
    if args.no_tray and args.record:
        engine.subscribe(_say_where_it_records())
    engine.start()
    if args.record:
        engine.start_recording()
    if config.output.preview:
        engine.set_preview(True)
    instance.serve(lambda word: engine.send(RemoteCommand(word).command))
    if args.no_tray:
        return run_headless(engine)
    from faceblur_cam.tray import run_tray

    notice = getattr(outputs.vcam, "notice", None)
    vcam_ready = None if app.vcam_appeared is None else app.vcam_appeared.is_set
    return run_tray(engine, config, at_login=args.at_login, headless=run_headless, vcam_ready=vcam_ready,
                    recording=app.recording, camera=app.camera, output_notice=notice)


def claim_instance() -> InstanceLock | None:
    """Become the one running instance (and log to the user log file), or ask the running one
    to show its preview and return None. Runs before the camera is opened: a second launch
    never fights over it."""
    from faceblur_cam.logs import setup_file_logging
    from faceblur_cam.single_instance import ask_running_instance, claim

    instance = claim()
    if instance is None:
        # a control command probing the lock at this very moment: it is free again by now
        if not ask_running_instance("show") and (instance := claim()) is None:
            raise UserError("FaceBlur Cam is already running but did not answer; quit it from its "
                            "tray icon (or end the process) and start it again")
    if instance is None:
        print("FaceBlur Cam is already running; it will show its preview window.")
        return None
    path = setup_file_logging()
    log.info("FaceBlur Cam starting (log file: %s)", path)
    return instance


def run_headless(engine: Engine) -> int:
    """Wait for the engine; SIGINT/SIGTERM quit cleanly (exit 0). With a display and GTK, the
    wait is a GLib main loop, which draws the preview window (``--preview``, ``show``)."""
    from faceblur_cam.sinks.gtk_preview import run_main_loop

    stop = threading.Event()

    def on_signal(signum: int, _frame: object) -> None:
        log.info("signal %d: quitting", signum)
        stop.set()

    def done() -> bool:
        if stop.is_set():
            engine.quit()
            engine.wait(5)
            return True
        return engine.wait(0)

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, on_signal)
    if not run_main_loop(done):
        while not engine.wait(0.2):
            if done():
                break
    return engine.exit_code


def _quit_when_recording_ends(engine: Engine) -> Callable[[EngineStatus], None]:
    """Recording is the only output: when it fails there is nothing left to do, so say why and quit."""

    def callback(status: EngineStatus) -> None:
        failed = isinstance(status.event, RecordingFailed)
        if failed and not status.recording and engine.exit_code == 0:
            print(f"faceblur-cam: {status.message}", file=sys.stderr)
            engine.exit_code = 1  # subscribers run on the worker thread, which owns exit_code
            engine.quit()

    return callback


def _say_where_it_records() -> Callable[[EngineStatus], None]:
    """Headless, nobody sees a tray: say once where the recording goes and how to stop it."""
    said: list[str] = []

    def callback(status: EngineStatus) -> None:
        if status.recording and status.recording_path and status.recording_path not in said:
            said.append(status.recording_path)
            print(f"Recording to {status.recording_path}\nPress Ctrl+C (or send SIGTERM) to stop; "
                  "the file is finished when you do.", flush=True)

    return callback


def _log_status_changes() -> Callable[[EngineStatus], None]:
    last: list[tuple[object, str]] = []

    def callback(status: EngineStatus) -> None:
        key = (status.state, status.message)
        if not last or last[0] != key:
            last[:] = [key]
            log.info("status: %s", status.summary)

    return callback
