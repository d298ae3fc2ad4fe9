"""Doctor check of the microphone recordings take their sound from (``[recording] audio``).

Three questions, each with its fix: is there sound input support and a microphone at all, can
the one recordings will use be opened now, and which one is it. Optional: calls and recordings
work without sound (recordings then have pictures only).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Protocol

from faceblur_cam.doctor.result import CheckResult, ok, warn
from faceblur_cam.sources.microphone import InputDevice, MicrophoneUnavailable

log = logging.getLogger(__name__)

AREA = "microphone"
NO_SOUND_FIX = ("sudo apt install libportaudio2   (recordings have pictures only without it; "
                "calls are not affected)")


class _Opened(Protocol):
    name: str

    def close(self) -> None: ...


def _list() -> list[InputDevice]:
    from faceblur_cam.sources.microphone import list_microphones

    return list_microphones()


def _open(setting: str) -> _Opened:
    from faceblur_cam.sources.microphone import Microphone

    return Microphone(setting)


def microphone_check(setting: str, list_microphones: Callable[[], list[InputDevice]] = _list,
                     open_microphone: Callable[[str], _Opened] = _open,
                     supported: bool | None = None) -> list[CheckResult]:
    """Findings about the microphone ``setting`` (``"default"``, a name or number, ``"off"``)."""
    from faceblur_cam.sources.microphone import SOUND_SUPPORTED

    if setting == "off":
        return [ok(AREA, "recording sound", 'off ([recording] audio = "off"): recordings have pictures only')]
    if not (SOUND_SUPPORTED if supported is None else supported):
        return [warn(AREA, "recording sound", "not supported on this system yet: recordings have pictures only")]
    try:
        found = list_microphones()
    except MicrophoneUnavailable as exc:
        return [warn(AREA, "present", str(exc), NO_SOUND_FIX)]
    if not found:
        return [warn(AREA, "present", "no microphone found: recordings will have pictures only",
                     "plug a microphone in (or start the sound server), then run faceblur-cam doctor again")]
    results = [ok(AREA, "present", ", ".join(m.name for m in found))]
    chosen = _chosen(setting, found)
    try:
        opened = open_microphone(setting)
    except MicrophoneUnavailable as exc:
        fix = ("close the program holding it, or pick another: faceblur-cam devices lists them for "
               "[recording] audio or --audio")
        return [*results, warn(AREA, "openable", f"{exc}: recordings would have pictures only", fix)]
    except Exception as exc:  # a sound library failing in its own way is a finding, not a crash
        log.debug("microphone check failed", exc_info=True)
        return [*results, warn(AREA, "openable", f"cannot open the microphone {setting!r}: {exc}")]
    try:
        opened.close()
    except Exception:
        log.debug("closing the microphone after the check failed", exc_info=True)
    results.append(ok(AREA, "openable", f"{setting!r} opens"))
    results.append(ok(AREA, "recordings use", chosen))
    return results


def _chosen(setting: str, found: list[InputDevice]) -> str:
    if setting in ("", "default"):
        default = next((m for m in found if m.default), None)
        return f"the system default ({default.name})" if default else "the system default"
    match = next((m for m in found if setting in (m.setting, m.name)), None)
    return match.name if match else setting


def configured_microphone_check() -> list[CheckResult]:
    """``microphone_check`` for the microphone in the user's settings."""
    from faceblur_cam.config import ConfigError, load_config

    try:
        setting = load_config().recording.audio
    except ConfigError as exc:
        return [warn(AREA, "setting", str(exc), "fix the settings file (faceblur-cam says which key)")]
    return microphone_check(setting)
