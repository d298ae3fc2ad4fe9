"""Doctor checks of our own parts: detector model, tray backend, recording encoder.

Each check takes the function it probes as an argument (defaults: the real one, imported
lazily so a broken optional dependency becomes a finding, not a crash).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from faceblur_cam.doctor.result import CheckResult, fail, ok, warn

log = logging.getLogger(__name__)


def _load_detector() -> str:
    from faceblur_cam.detect import load_detector

    detector = load_detector()
    return f"CenterFace loaded (input {detector.long_side} px)"


def detector_check(load: Callable[[], str] = _load_detector) -> CheckResult:
    """The face detector model loads; FAIL otherwise (nothing is published unprotected)."""
    try:
        return ok("detector", "model", load())
    except Exception as exc:  # ModelError carries its own fix; anything else is reported too
        log.debug("detector check failed", exc_info=True)
        return fail("detector", "model", f"the face detector cannot load: {exc}",
                    "reinstall FaceBlur Cam: python -m pip install --force-reinstall faceblur-cam")


def _tray() -> str:
    from faceblur_cam.tray.backend import load_backend, tray_host_available

    backend = load_backend()
    if not tray_host_available(backend):
        raise RuntimeError(f"pystray's {backend.name} backend works, but no panel shows tray "
                           "icons (GNOME: install the AppIndicator extension)")
    return f"pystray {backend.name} backend with a tray host"


def tray_check(probe: Callable[[], str] = _tray) -> CheckResult:
    """A tray icon with a menu can be shown. Optional: ``run --no-tray`` works without it."""
    try:
        return ok("tray", "icon", probe())
    except Exception as exc:  # TrayUnavailable, Xlib display errors, missing gi, ...
        log.debug("tray check failed", exc_info=True)
        first, _, rest = str(exc).partition("\n")
        return warn("tray", "icon", first, rest.strip() or "start FaceBlur Cam from your desktop "
                    "session, or run it headless: faceblur-cam run --no-tray")


def _encoder() -> tuple[bool, str]:
    from faceblur_cam.recording.encoders import encoder_available

    return encoder_available()


def recording_check(available: Callable[[], tuple[bool, str]] = _encoder) -> CheckResult:
    """An MP4 encoder (ffmpeg) is there. Optional: only recording needs it."""
    try:
        good, text = available()
    except Exception as exc:
        log.debug("encoder check failed", exc_info=True)
        good, text = False, str(exc)
    if good:
        return ok("recording", "encoder", text)
    return warn("recording", "encoder", text.split(";")[0],
                "sudo apt install ffmpeg   (recording only; calls work without it)")
