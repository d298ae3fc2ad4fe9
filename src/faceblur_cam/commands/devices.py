"""``faceblur-cam devices``: cameras, virtual cameras and microphones found."""

from __future__ import annotations

import argparse
import json

from faceblur_cam import platform
from faceblur_cam.config import CameraConfig, load_config, parse_source


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("devices", help="list cameras, virtual cameras and microphones",
                       description="List video devices (physical cameras and virtual cameras) and the microphones "
                                   "recordings can take their sound from.")
    p.add_argument("--no-measure", action="store_true",
                   help="do not open the cameras to measure the frame rate they deliver")
    p.set_defaults(func=run_devices)


def run_devices(args: argparse.Namespace) -> int:
    from faceblur_cam.detect.models import user_classifiers_dir

    config = load_config()
    label = config.output.label
    devices = platform.list_video_devices()
    if not devices:
        print("No video devices listed by the system (on Windows/macOS cameras are used by index: "
              "--source 0, 1, ...).")
    for path, name, virtual in devices:
        role = "virtual camera" + (" (FaceBlur Cam output)" if name == label else "") if virtual else "camera"
        print(f"{path:14s} {name:32s} {role}")
    cams = cameras_text(config.camera, measure=not getattr(args, "no_measure", False))
    if cams:
        print("\n" + cams)
    out = platform.find_virtual_camera(label)
    print(f"\nOutput \"{label}\": {out or 'not found'}")
    if out is None and platform.needs_device_path():
        print(platform.virtual_camera_hint(label))
    print()
    print(microphones_text(config.recording.audio))
    print(f"\nUser detector models folder: {user_classifiers_dir()}")
    return 0


def microphones_text(chosen: str) -> str:
    """The microphones and which one recordings use (``chosen``: ``[recording] audio``)."""
    from faceblur_cam.sources.microphone import SOUND_SUPPORTED, MicrophoneUnavailable, list_microphones

    if not SOUND_SUPPORTED:
        return "Microphones: recording sound is not supported on this system yet (recordings have pictures only)."
    try:
        mics = list_microphones()
    except MicrophoneUnavailable as exc:
        return f"Microphones: none usable: {exc}"
    lines = ["Microphones (choose one with --audio NAME, [recording] audio = \"NAME\" or the tray's Microphone menu):"]
    for mic in mics:
        notes = [mic.name] if mic.setting != mic.name else []  # picked by number: two share the name
        notes += ["system default"] if mic.default else []
        lines.append(f"  {json.dumps(mic.setting):40s} {', '.join(notes)}".rstrip())
    if not mics:
        lines.append("  none found: recordings will have pictures only")
    if chosen == "off":
        lines.append('Recordings: pictures only ([recording] audio = "off")')
    elif chosen == "default":
        default = next((mic.name for mic in mics if mic.default), None)
        lines.append(f"Recordings take sound from: the system default ({default or 'none set'})")
    else:
        found = any(chosen in (mic.setting, mic.name) for mic in mics)
        lines.append(f"Recordings take sound from: {chosen!r}{'' if found else ' (not found now: pictures only)'}")
    return "\n".join(lines)


def cameras_text(cam: CameraConfig, measure: bool = True) -> str:
    """The real cameras by name and identity, the mode each would be opened in and why, and
    (``measure``) the rate it delivers. Empty where the system does not list cameras."""
    from faceblur_cam.sources import SourceError
    from faceblur_cam.sources.camera_choice import CameraTarget, best_mode, probe_camera, resolve

    cameras = platform.list_cameras()
    if not cameras:
        return ""
    try:
        chosen = resolve(parse_source(cam.device or cam.source), cameras).source
    except SourceError as exc:
        chosen = ""
        problem = str(exc)
    else:
        problem = ""
    wh, fps = (cam.width, cam.height), cam.fps
    lines = ["Cameras (choose one with --source NAME, [camera] device = \"NAME\" or the tray's Camera menu;"
             " virtual cameras are never used by default):"]
    for camera in cameras:
        mark = "*" if camera.path == chosen else " "
        lines.append(f" {mark} {json.dumps(camera.name)}  {camera.path}  identity: {camera.identity}")
        if measure:
            probe = probe_camera(CameraTarget(camera.path, camera.name), wh, fps)
            choice = probe.asked
            if probe.delivered and probe.measured_fps is not None:
                lines.append(f"      delivers {probe.delivered} at {probe.measured_fps:.1f} fps (measured)"
                             + ("  WARNING: far below the asked rate" if probe.too_slow else ""))
            else:
                lines.append(f"      could not measure: {probe.error or 'no frames'}")
        else:
            choice = best_mode(camera.path, wh, fps)
        if choice is not None:
            lines.append(f"      asks for {choice.mode.describe()}: {choice.reason}")
    if problem:
        lines.append(f"  {problem}")
    return "\n".join(lines)
