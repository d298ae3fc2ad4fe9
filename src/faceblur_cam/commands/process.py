"""``faceblur-cam process INPUT -o OUTPUT [--boxes FILE.jsonl]``: the live pipeline, offline.

Frame by frame, in order, no look-ahead, the live defaults; only the detector time budget is
lifted (offline there is no deadline, so no frame is obscured for being slow).

It never destroys data: an output (or ``--boxes`` file) that is, or would overwrite, an input is
refused before anything is opened; SIGTERM, like Ctrl+C, stops after the current frame and
finishes the output file; frames of another size are fitted to the video's size, never dropped;
what could not be read is counted and reported.

Video output is H.264 through ffmpeg with the input's sound (copied, or re-encoded when the
container needs it; ``--no-audio`` drops it; ``--voice disguise`` shifts pitch and formants
inside that ffmpeg), the input's frame rate and rotation, and none of its metadata. On a
terminal a progress bar (frames, fps, ETA) runs on stderr; a one-line summary ends the run.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import math
import os
import signal
import sys
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from types import FrameType

from faceblur_cam.config import STYLES, VOICES, StyleName, Voice, load_config, warnings_for
from faceblur_cam.errors import UserError
from faceblur_cam.frames import CapturedFrame
from faceblur_cam.progress import FrameProgress
from faceblur_cam.sinks import FrameSink, SinkError
from faceblur_cam.sources import SourceError
from faceblur_cam.voice import MAX_SHIFT, VoiceDisguise

log = logging.getLogger(__name__)

VIDEO_SUFFIXES = {".mp4", ".avi", ".mkv", ".mov", ".m4v", ".webm"}
MAX_FPS = 240.0
NAME_MAX = 255  # bytes per file or folder name on Linux, macOS and Windows file systems


def frame_rate(text: str) -> float:
    """``--fps``: a finite number of frames per second in (0, 240]."""
    try:
        fps = float(text)
    except ValueError:
        fps = math.nan
    if not (math.isfinite(fps) and 0 < fps <= MAX_FPS):
        raise argparse.ArgumentTypeError(f"must be a number of frames per second above 0 and up to "
                                         f"{MAX_FPS:g}, got {text!r}")
    return fps


def semitones(text: str) -> float:
    """``--voice-pitch``/``--voice-formant``: a finite shift within +-12 semitones."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and abs(value) <= MAX_SHIFT):
        raise argparse.ArgumentTypeError(f"must be a number of semitones from -{MAX_SHIFT:g} to {MAX_SHIFT:g}, "
                                         f"got {text!r}")
    return value


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "process",
        help="protect a video file, an image, or a folder of images",
        description="Run exactly the live pipeline on a file: video, image, or a folder of images "
        "(sorted by name = consecutive frames).",
    )
    p.add_argument("input", type=Path, help="video file, image, or folder of images")
    p.add_argument("-o", "--output", type=Path, required=True,
                   help=f"a video file ({', '.join(sorted(VIDEO_SUFFIXES))}) or a folder (a path without an "
                   "extension) for PNGs named like the inputs")
    p.add_argument("--boxes", type=Path, help="write the redacted regions per frame as JSON lines")
    p.add_argument("--style", choices=STYLES, help="redaction style (default from config: blur)")
    p.add_argument("--keep-me", action="store_true",
                   help="leave one person visible: the largest face of the first frame with a face, followed "
                   "by position and motion (no face recognition); covered too whenever anyone comes near "
                   "or it is lost (see the README)")
    p.add_argument("--fps", type=frame_rate, help="frame rate for image folders (default 30)")
    p.add_argument("--config", type=Path, help="config file (default: the user config)")
    p.add_argument("--no-audio", action="store_true", help="leave the input's sound out of the output video")
    p.add_argument("--voice", choices=VOICES, default=Voice.KEEP.value,
                   help="disguise: shift the voice's pitch and formants so the speaker is harder to "
                   "recognise by ear (the words stay; see the README). Default: keep")
    default = VoiceDisguise()
    p.add_argument("--voice-pitch", type=semitones, metavar="SEMITONES",
                   help=f"pitch shift of --voice disguise (default {default.pitch_semitones:g})")
    p.add_argument("--voice-formant", type=semitones, metavar="SEMITONES",
                   help="formant shift of --voice disguise (default: the same as the pitch shift)")
    p.add_argument("--audit", action="store_true",
                   help="when done, audit the new output for faces left uncovered (as 'faceblur-cam audit'; "
                   "exit status 3 when it finds any)")
    p.add_argument("--audit-report", type=Path, metavar="DIR",
                   help="with --audit: write the audit's report.json and contact sheet to DIR")
    p.set_defaults(func=run_process)


def run_process(args: argparse.Namespace) -> int:
    from faceblur_cam.app import build_pipeline
    from faceblur_cam.sources.files import ReadReport, iter_frames, native_fps

    check_name_lengths(args.input, args.output, args.boxes, args.config)
    if args.audit_report is not None and not args.audit:
        raise UserError("--audit-report does nothing without --audit: add --audit")
    config = load_config(args.config)
    if args.style:
        config = replace(config, protect=replace(config.protect, style=StyleName(args.style)))
    if not args.input.exists():
        raise UserError(f"{args.input} does not exist")
    for warning in warnings_for(config):
        print(f"faceblur-cam: WARNING: {warning}", file=sys.stderr)
    refuse_options_that_do_nothing(args)
    to_video = output_is_video(args.output)
    refuse_overwriting_inputs(args.input, args.output, args.boxes, to_video)
    check_output_folder(args.output, to_video)
    fps = args.fps or native_fps(args.input)
    sinks = open_sinks(args, fps, to_video)
    pipeline = build_pipeline(config, live=False, keep_me=args.keep_me)
    report = ReadReport()
    fit_to_first = FitToFirst()
    count = obscured = faces = kept = 0
    started = time.perf_counter()
    progress = FrameProgress()
    try:
        with Interrupts() as interrupts:
            frames = iter_frames(args.input, fps, report)
            for frame in map(fit_to_first, frames) if to_video else frames:
                published = pipeline.process(frame)
                with interrupts.held():  # sent and counted, or neither
                    for sink in sinks:
                        sink.send(published)
                    count += 1
                obscured += published.obscured
                faces += len(published.regions)
                kept += len(published.kept)
                progress.advance(report.announced)
    except (SourceError, SinkError) as exc:
        progress.close()
        close_all(sinks, quiet=True)  # the first failure is the one to tell
        if count == 0:
            raise UserError(no_picture_message(args.input) or str(exc)) from exc
        raise UserError(f"{exc} ({count} frames were done)") from exc
    except KeyboardInterrupt:
        progress.close()
        close_all(sinks)
        print(f"faceblur-cam: interrupted: {args.output} holds the first {count} frames", file=sys.stderr)
        return 130
    except Exception:
        close_all(sinks, quiet=True)
        raise
    finally:
        progress.close()
    close_all(sinks)
    took = time.perf_counter() - started
    shown = f", the kept face shown on {kept}" if args.keep_me else ""
    print(f"{count} frames -> {args.output} ({faces} faces covered{shown}, {obscured} frames fully obscured, "
          f"{took:.1f} s, {count / took if took else 0:.1f} fps)")
    if fit_to_first.fitted:
        print(f"faceblur-cam: {fit_to_first.fitted} frames of another size were scaled to fit the first frame's size "
              "(black bars keep the aspect)", file=sys.stderr)
    if report.lost:
        print(f"faceblur-cam: warning: {args.input} is damaged: {report.lost} of "
              f"{max(report.announced, report.decoded + report.lost)} frames could not be decoded; "
              f"the output holds the {report.decoded} that could", file=sys.stderr)
    if args.audit:
        from faceblur_cam.commands.audit import audit_path

        return audit_path(args.output, args.audit_report)
    return 0


def refuse_options_that_do_nothing(args: argparse.Namespace) -> None:
    """An option that would change nothing is refused: silence would let a user believe a voice
    was disguised when the original is on disk."""
    shifts = [flag for flag, value in (("--voice-pitch", args.voice_pitch), ("--voice-formant", args.voice_formant))
              if value is not None]
    if shifts and args.voice != Voice.DISGUISE:
        raise UserError(f"{' and '.join(shifts)} {'has' if len(shifts) == 1 else 'have'} no effect without "
                        "--voice disguise: the output would keep the original voice. Add --voice disguise, "
                        "or leave the option out")
    if args.voice == Voice.DISGUISE:
        pitch = VoiceDisguise().pitch_semitones if args.voice_pitch is None else args.voice_pitch
        formant = pitch if args.voice_formant is None else args.voice_formant
        if pitch == 0 and formant == 0:
            raise UserError("--voice disguise with a pitch and formant shift of 0 leaves the voice as it is: "
                            "that is no disguise. Give a shift (e.g. --voice-pitch -5) or use --voice keep")


def output_is_video(output: Path) -> bool:
    """A known video extension: a video; no extension: a folder of PNGs; anything else is refused
    (``out.gif`` must not quietly become a folder of PNGs without the sound)."""
    suffix = output.suffix.lower()
    if suffix in VIDEO_SUFFIXES:
        return True
    if suffix and not output.is_dir():
        raise UserError(f"{output}: {suffix} is not a video format faceblur-cam writes; use one of "
                        f"{', '.join(sorted(VIDEO_SUFFIXES))}, or a folder (a path without an extension) for PNGs")
    return False


def check_name_lengths(*paths: Path | None) -> None:
    """A file or folder name longer than the file system allows is one sentence, not a crash."""
    for path in paths:
        if path is None:
            continue
        for part in path.parts:
            size = len(os.fsencode(part))
            if size > NAME_MAX:
                raise UserError(f"the name {part[:40]}... is {size} bytes long; file systems allow at most "
                                f"{NAME_MAX} bytes per file or folder name. Choose a shorter name")


def check_output_folder(output: Path, to_video: bool) -> None:
    """The folder an output goes into must exist, for a video and for PNGs alike (the PNG folder
    itself is created, not the folders above it): a typo must not scatter files elsewhere."""
    parent = output.absolute().parent
    if not parent.is_dir():
        what = "does not exist" if not parent.exists() else "is not a folder"
        raise UserError(f"cannot create {output}: the folder {parent} {what}; create it first or choose "
                        "another output")


def no_picture_message(source: Path) -> str | None:
    """For a file that gave no frame: "it has sound but no picture" when that is why, else None."""
    from faceblur_cam.media_info import probe_media
    from faceblur_cam.recording.encoders import find_ffmpeg
    from faceblur_cam.sources.files import is_image

    exe = find_ffmpeg()
    if exe is None or source.is_dir() or is_image(source):
        return None
    info = probe_media(exe, source)
    if info.audio is not None and not info.has_video:
        return f"{source} has no picture (only sound): there is nothing to protect in it"
    return None


def refuse_overwriting_inputs(source: Path, output: Path, boxes: Path | None, to_video: bool) -> None:
    """Raise ``UserError`` when an output would replace an input (same path, link or folder)."""
    from faceblur_cam.sources.files import is_image, list_images

    inputs = list_images(source) if source.is_dir() else [source]
    ids = {_file_id(p) for p in inputs}
    targets = [output] if to_video else [output / f"{p.stem}.png" for p in inputs if is_image(p)]
    if not to_video and source.is_dir() and output.is_dir() and os.path.samefile(source, output):
        raise UserError(f"the output folder {output} is the input folder: the protected images would "
                        "replace the originals. Choose another output folder")
    for target in targets:
        if target.exists() and _file_id(target) in ids:
            raise UserError(f"the output {target} is an input: writing it would destroy the original. "
                            "Choose another output")
    if boxes is not None:
        if boxes.exists() and _file_id(boxes) in ids:
            raise UserError(f"the --boxes file {boxes} is an input: writing it would destroy the original")
        if boxes.resolve() in {t.resolve() for t in targets}:
            raise UserError(f"the --boxes file {boxes} is also the output: give them different names")


def _file_id(path: Path) -> tuple[int, int]:
    st = path.stat()
    return st.st_dev, st.st_ino


def open_sinks(args: argparse.Namespace, fps: float, to_video: bool) -> list[FrameSink]:
    from faceblur_cam.recording.offline import BoxesLog, PngFolderSink

    sinks: list[FrameSink] = []
    try:
        sinks.append(open_video_output(args, fps) if to_video else PngFolderSink(args.output))
        if args.boxes is not None:
            sinks.append(BoxesLog(args.boxes))
    except SinkError as exc:
        close_all(sinks)
        raise UserError(str(exc)) from exc
    return sinks


def open_video_output(args: argparse.Namespace, fps: float) -> FrameSink:
    """The output video through ffmpeg, with the input's sound (unless ``--no-audio``) and rotation."""
    from faceblur_cam.media_info import MediaInfo, probe_media
    from faceblur_cam.recording.encoders import EncoderMissing, find_ffmpeg
    from faceblur_cam.recording.video_file import AudioInput, open_video_file
    from faceblur_cam.sources.files import is_image
    from faceblur_cam.voice import has_rubberband

    exe = find_ffmpeg()
    if exe is None:
        raise EncoderMissing("writing a video needs ffmpeg, which was not found; reinstall faceblur-cam "
                             "(its imageio-ffmpeg dependency ships ffmpeg) or install ffmpeg")
    video_input = not (args.input.is_dir() or is_image(args.input))
    info = probe_media(exe, args.input) if video_input else MediaInfo(None, 0)
    audio = None
    if info.audio is not None and not args.no_audio:
        chain = None
        if args.voice == Voice.DISGUISE:
            pitch = VoiceDisguise().pitch_semitones if args.voice_pitch is None else args.voice_pitch
            disguise = VoiceDisguise(pitch, args.voice_formant)
            chain = disguise.audio_filter(info.audio.sample_rate or 48000, has_rubberband(exe))
        audio = AudioInput(args.input, info.audio, chain)
    if args.voice == Voice.DISGUISE and audio is None:
        print(f"faceblur-cam: {args.input} has no sound to disguise" if not args.no_audio else
              "faceblur-cam: --voice disguise does nothing with --no-audio", file=sys.stderr)
    return open_video_file(args.output, fps, audio, info.rotation, exe)


def close_all(sinks: list[FrameSink], quiet: bool = False) -> None:
    """Close every sink; the first failure (e.g. the encoder could not finish) is a ``UserError``
    (``quiet``: logged only, when another failure is being reported already)."""
    failure: SinkError | None = None
    for sink in sinks:
        try:
            sink.close()
        except SinkError as exc:
            log.debug("closing %s: %s", sink.name, exc)
            failure = failure or exc
    if failure is not None and not quiet:
        raise UserError(str(failure)) from failure


class FitToFirst:
    """Maps every frame to the first frame's size (a video has one size); counts those rescaled."""

    def __init__(self) -> None:
        self.wh: tuple[int, int] | None = None
        self.fitted = 0

    def __call__(self, frame: CapturedFrame) -> CapturedFrame:
        from faceblur_cam.sources.fit import fit

        h, w = frame.image.shape[:2]
        if self.wh is None:
            self.wh = (w, h)
        if (w, h) == self.wh:
            return frame
        self.fitted += 1
        return replace(frame, image=fit(frame.image, self.wh))


class Interrupts:
    """While active, SIGTERM raises ``KeyboardInterrupt`` like Ctrl+C, so the output is finished,
    but never inside a ``held()`` block: there a signal waits until the block ends (a frame handed
    to the outputs is counted with it, so "holds the first N frames" is exact). A second signal
    inside the block raises at once (an output that hangs can still be left)."""

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __enter__(self) -> Interrupts:
        self._holding = False
        self._pending: int | None = None
        self._previous = {s: signal.signal(s, self._on_signal) for s in self.SIGNALS}
        return self

    def __exit__(self, *exc: object) -> None:
        for s, handler in self._previous.items():
            signal.signal(s, handler)

    @contextlib.contextmanager
    def held(self) -> Iterator[None]:
        self._holding = True
        try:
            yield
        finally:
            self._holding = False
        pending, self._pending = self._pending, None
        if pending is not None:
            raise KeyboardInterrupt(f"signal {pending}")

    def _on_signal(self, signum: int, _frame: FrameType | None) -> None:
        if self._holding and self._pending is None:
            self._pending = signum
            return
        self._pending = None  # told now
        raise KeyboardInterrupt(f"signal {signum}")
