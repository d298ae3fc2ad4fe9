"""Doctor: the mode the camera is opened in and the rate it really delivers.

The camera is opened for a few seconds in the mode FaceBlur Cam would choose and its frames are
counted; a rate far below the asked one (a raw mode at 10 fps, a dim room making the camera
lengthen its exposure) is a warning, since the call's picture would stutter.
"""

from __future__ import annotations

from collections.abc import Callable

from faceblur_cam.doctor.result import CheckResult, ok, warn
from faceblur_cam.sources.camera_choice import CameraProbe

CAMERA = "camera"


def mode_checks(probes: list[CameraProbe]) -> list[CheckResult]:
    """One finding per probed camera."""
    results = []
    for p in probes:
        asked = p.asked.mode.describe() if p.asked else "OpenCV's default mode"
        if not p.delivered:
            results.append(warn(CAMERA, "mode", f'"{p.name}" could not be opened to measure its rate: {p.error}',
                                "close the other app using the camera, then run doctor again"))
        elif p.measured_fps is None:
            results.append(warn(CAMERA, "mode", f'"{p.name}": asked {asked}, got {p.delivered} but no steady '
                                f"frames to measure{': ' + p.error if p.error else ''}", None))
        elif p.too_slow:
            results.append(warn(CAMERA, "mode", f'"{p.name}": asked {asked}, delivers {p.delivered} at only '
                                f"{p.measured_fps:.1f} fps: the call's picture will stutter",
                                "give the room more light (cameras slow down to expose longer), or "
                                "ask for less: faceblur-cam run --fps 15, or a smaller [camera] width/height"))
        else:
            reason = f" ({p.asked.reason})" if p.asked else ""
            results.append(ok(CAMERA, "mode", f'"{p.name}": {p.delivered} at {p.measured_fps:.1f} fps{reason}'))
    return results


def configured_camera_probes() -> list[CameraProbe]:
    """Probe the camera FaceBlur Cam would open with the user's settings (none when there is none)."""
    from faceblur_cam import platform
    from faceblur_cam.config import load_config, parse_source
    from faceblur_cam.sources import SourceError
    from faceblur_cam.sources.camera_choice import probe_camera, resolve

    cam = load_config().camera
    cameras = platform.list_cameras()
    if not cameras:
        return []
    try:
        target = resolve(parse_source(cam.device or cam.source), cameras)
    except SourceError:
        return []  # the camera checks already say there is no such camera
    return [probe_camera(target, (cam.width, cam.height), cam.fps)]


def camera_mode_checks(probes: Callable[[], list[CameraProbe]] = configured_camera_probes) -> list[CheckResult]:
    return mode_checks(probes())
