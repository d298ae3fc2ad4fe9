"""``faceblur-cam devices``: cameras and virtual camera devices found."""

from __future__ import annotations

import argparse

from faceblur_cam import platform
from faceblur_cam.config import load_config


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("devices", help="list cameras and virtual cameras",
                       description="List video devices: physical cameras and virtual cameras.")
    p.set_defaults(func=run_devices)


def run_devices(args: argparse.Namespace) -> int:
    from faceblur_cam.detect.models import user_classifiers_dir

    label = load_config().output.label
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
    print(f"User detector models folder: {user_classifiers_dir()}")
    return 0
