"""``faceblur-cam devices``: cameras, virtual cameras and microphones found."""

from __future__ import annotations

import argparse
import json

from faceblur_cam import platform
from faceblur_cam.config import load_config


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("devices", help="list cameras, virtual cameras and microphones",
                       description="List video devices (physical cameras and virtual cameras) and the microphones "
                                   "recordings can take their sound from.")
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
