"""Finding and verifying detector model files (the ``classifiers`` registry).

Models are never downloaded: the default (the MIT CenterFace graph, already converted to dynamic
input shapes) is package data of ``faceblur_cam.classifiers``; others come from the user
classifiers folder or a path. Nothing is rewritten at start-up.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import Any

import platformdirs

from faceblur_cam.errors import UserError

log = logging.getLogger(__name__)


class ModelError(UserError):
    """The detector model cannot be found or loaded; the message says how to fix it."""


@dataclass(frozen=True)
class ModelSpec:
    name: str
    path: Path
    kind: str = "centerface"
    sha256: str | None = None
    long_side: int = 640
    multiple_of: int = 32


def user_classifiers_dir() -> Path:
    return Path(platformdirs.user_data_dir("faceblur-cam", appauthor=False)) / "classifiers"


def load_manifest() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((files("faceblur_cam.classifiers") / "manifest.json").read_text())
    return data


def _bundled_file(name: str) -> Path:
    """A model file shipped in ``faceblur_cam.classifiers`` (loaded through importlib.resources)."""
    path = Path(str(files("faceblur_cam.classifiers") / name))
    if not path.is_file():
        raise ModelError(f"the detector model {name} is missing from this FaceBlur Cam install. "
                         "Reinstall it: python -m pip install --force-reinstall faceblur-cam")
    return path


def resolve_model(name: str, manifest: dict[str, Any] | None = None) -> ModelSpec:
    """``name`` = a manifest entry, a file in the user classifiers folder, or an .onnx path."""
    manifest = manifest or load_manifest()
    for entry in manifest["models"]:
        if entry["name"] == name:
            source = entry["source"]
            path = _bundled_file(source.removeprefix("bundled:")) if source.startswith("bundled:") else Path(source)
            rules = entry.get("input", {})
            return ModelSpec(
                name=name,
                path=path,
                kind=entry.get("kind", "centerface"),
                sha256=entry.get("sha256"),
                long_side=int(rules.get("long_side", 640)),
                multiple_of=int(rules.get("multiple_of", 32)),
            )
    candidates = [Path(name).expanduser(), user_classifiers_dir() / f"{name}.onnx"]
    for path in candidates:
        if path.suffix == ".onnx" and path.is_file():
            return ModelSpec(name=path.stem, path=path)
    known = ", ".join(e["name"] for e in manifest["models"])
    raise ModelError(
        f"unknown detector model {name!r}: use one of {known}, a path to an .onnx file, or a "
        f"file name (without .onnx) in {user_classifiers_dir()}"
    )


def verify(spec: ModelSpec) -> bytes:
    """Read the model file and check its SHA-256 when the manifest knows it."""
    try:
        data = spec.path.read_bytes()
    except OSError as exc:
        raise ModelError(f"cannot read the detector model {spec.path}: {exc}") from exc
    if spec.sha256:
        digest = hashlib.sha256(data).hexdigest()
        if digest != spec.sha256:
            raise ModelError(
                f"the detector model {spec.path} is not the expected file (SHA-256 {digest[:12]}..., "
                f"expected {spec.sha256[:12]}...). Reinstall FaceBlur Cam."
            )
    return data
