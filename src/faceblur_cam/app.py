"""Composition root: builds the concrete parts from a ``Config``. The only place that does."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from faceblur_cam import platform
from faceblur_cam.config import Config, Voice, parse_source
from faceblur_cam.detect import detect_fn, load_detector
from faceblur_cam.detect.plan import make_planner
from faceblur_cam.detect.worker import TimedDetector
from faceblur_cam.engine import Engine, EngineParts
from faceblur_cam.errors import UserError
from faceblur_cam.geometry import Margin
from faceblur_cam.keep_me import KeepMe
from faceblur_cam.pipeline import ProtectPipeline
from faceblur_cam.placeholders import PlaceholderCards
from faceblur_cam.recording_choice import RecordingChoice
from faceblur_cam.redact import Redactor, style_named
from faceblur_cam.sinks import FrameSink
from faceblur_cam.sources import FrameSource, SourceError
from faceblur_cam.sources.camera_choice import CameraChoice
from faceblur_cam.track import FaceTracker

log = logging.getLogger(__name__)


def one_opencv_thread() -> None:
    """OpenCV runs each call on one thread. The live path already spreads its work over threads
    of its own (capture, protect, detection, leak watch) on a machine with few cores; OpenCV's
    worker pool on top of them costs more CPU than it saves time. Measured on this 2-core machine
    at 720p: the real engine at 30 fps 32.1-32.4 -> 29.8-30.2 ms CPU per frame, leak watch on
    (bench/bench.py engine); the stages (``--only stages``) change map 3.7 -> 2.5 ms, resize 2.0
    -> 1.7, redaction 0.7 -> 0.4. Files (``process``, ``audit``) keep the pool: there the time to
    the end counts."""
    import cv2

    cv2.setNumThreads(1)


def build_pipeline(config: Config, live: bool = True, keep_me: bool | None = None) -> ProtectPipeline:
    """The protecting step with the configured detector. ``live`` adds the time budget, one
    OpenCV thread (``one_opencv_thread``) and, unless ``protect.leak_watch`` is off, the leak
    watch (``audit.watch``).

    ``keep_me``: "keep me visible" on from the start (None: ``protect.keep_me`` when live, off for
    files, which keep a face only when asked to with ``process --keep-me``). Live it picks the
    largest face nearest the centre; for files the largest face of the first frame with one."""
    prot = config.protect
    detector = load_detector(prot.model, threshold=prot.threshold)
    detect = detect_fn(detector)
    parts: dict[str, Any] = {
        "tracker": FaceTracker(), "redactor": Redactor(style_named(prot.style), prot.shape),
        "margin": Margin().scaled(prot.margin), "planner": make_planner(prot.plan),
        "keep_me": KeepMe(on=bool(prot.keep_me and live) if keep_me is None else keep_me,
                          policy="centre" if live else "largest"),
    }
    if live:
        one_opencv_thread()
        detect = TimedDetector(detect, prot.detect_budget_ms / 1000)
        if prot.leak_watch:
            from faceblur_cam.audit.watch import LeakWatch, WatchedPipeline
            from faceblur_cam.detect.yunet import load_yunet

            return WatchedPipeline(detect, LeakWatch(load_yunet()), **parts)
    return ProtectPipeline(detect=detect, **parts)


def open_source(config: Config, camera: CameraChoice | None = None) -> FrameSource:
    """The configured camera (``camera``: as the tray chose it), or a file/folder standing in for one."""
    cam = config.camera
    source = camera.current() if camera is not None else parse_source(cam.device or cam.source)
    wh = (cam.width, cam.height)
    if isinstance(source, str) and Path(source).expanduser().exists() and not source.startswith("/dev/"):
        from faceblur_cam.sources.files import FileSource

        return FileSource(Path(source).expanduser(), wh=wh, loop=cam.loop)
    if source != 0 and platform.is_virtual_camera(source):  # 0: the first real camera
        raise UserError(
            f"camera {source!r} is a virtual camera (maybe our own output); choose the physical "
            "camera with --source (see 'faceblur-cam devices')"
        )
    from faceblur_cam.sources.camera_choice import open_camera

    return open_camera(source, wh, cam.fps)


def open_virtual_camera(config: Config) -> FrameSink:
    from faceblur_cam.sinks.vcam import VirtualCameraSink

    out = config.output
    return VirtualCameraSink((config.camera.width, config.camera.height), config.camera.fps,
                             label=out.label, device=out.device or None, backend=out.backend or None)


def open_preview() -> FrameSink:
    """The preview window (GTK on Linux, OpenCV's elsewhere: see ``sinks.gtk_preview``)."""
    from faceblur_cam.sinks.gtk_preview import open_preview_window

    return open_preview_window()


def open_recorder(config: Config) -> FrameSink:
    """A new recording in the configured folder; raises ``SinkError`` saying why it cannot."""
    from faceblur_cam.recording.files import recordings_folder
    from faceblur_cam.recording.recorder import Mp4Recorder
    from faceblur_cam.voice import VoiceDisguise

    cam, rec = config.camera, config.recording
    return Mp4Recorder.in_folder(recordings_folder(rec.folder), (cam.width, cam.height), cam.fps, audio=rec.audio,
                                 voice=VoiceDisguise() if rec.voice == Voice.DISGUISE else None)


def build_engine(config: Config, outputs: list[FrameSink],
                 preview: Callable[[], FrameSink] = open_preview,
                 recording: RecordingChoice | None = None, camera: CameraChoice | None = None,
                 vcam_appeared: threading.Event | None = None) -> Engine:
    """The live engine: placeholder first, then the model loads on the worker thread.

    ``outputs``: the virtual camera, when it is open.
    ``preview`` opens the preview window.
    ``recording``: the microphone and voice each recording starts with, when the tray can change
    them (default: ``config.recording`` as it is).
    ``camera``: the camera to open, when the tray can change it (default: the configured one).
    ``vcam_appeared``: the virtual camera is not set up yet; the engine opens it once it appears
    (tried with the backoff a failed one is reopened with) and sets this event then.
    """
    choice = recording or RecordingChoice(config.recording)

    def source_factory() -> FrameSource:
        try:
            return open_source(config, camera)
        except UserError as exc:
            raise SourceError(str(exc)) from exc

    def reopen_vcam() -> FrameSink:
        sink = open_virtual_camera(config)
        if vcam_appeared is not None:
            vcam_appeared.set()
        return sink

    parts = EngineParts(
        open_source=source_factory,
        build_pipeline=lambda: build_pipeline(config, live=True),
        placeholders=PlaceholderCards((config.camera.width, config.camera.height)),
        outputs=outputs,
        open_preview=preview,
        open_recorder=lambda: open_recorder(replace(config, recording=choice.current())),
        reopen_output=reopen_vcam if config.output.virtual_camera else None,
        virtual_camera_missing=vcam_appeared is not None and config.output.virtual_camera,
        fps=config.camera.fps,
        quit_when_source_ends=True,
    )
    return Engine(parts, style=config.protect.style)


@dataclass
class LiveApp:
    """The running app's parts that the CLI and the tray hold on to."""

    engine: Engine
    recording: RecordingChoice  # what the next recording starts with; the tray changes it
    camera: CameraChoice | None  # the camera the engine opens, which the tray changes (None: a file)
    vcam_appeared: threading.Event | None  # None: the virtual camera was there (or not wanted) at start


def build_live_app(config: Config, vcam: FrameSink | None, vcam_missing: bool = False) -> LiveApp:
    """The live daemon's engine and the choices the tray changes.

    ``vcam``: the virtual camera opened at start (``open_virtual_camera``), None without one;
    ``vcam_missing``: it is not set up yet, and is published to once it appears."""
    from faceblur_cam.sources.camera_choice import choice_for

    recording = RecordingChoice(config.recording)
    camera = choice_for(parse_source(config.camera.device or config.camera.source))
    appeared = threading.Event() if vcam_missing else None
    engine = build_engine(config, [] if vcam is None else [vcam], recording=recording, camera=camera,
                          vcam_appeared=appeared)
    return LiveApp(engine, recording, camera, appeared)
