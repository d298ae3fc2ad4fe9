"""Linux: what sysfs says about video devices and the v4l2loopback module.

Everything here only reads files under a root directory (``/`` in production, a fake tree
in tests), so it needs no permissions and never touches a device node.
"""

from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

ROOT = Path("/")  # read at call time, so tests can point it at a fake tree
MODULE = "v4l2loopback"


@dataclass(frozen=True)
class VideoDevice:
    """One ``/dev/videoN`` node as sysfs describes it."""

    path: str  # "/dev/videoN"
    number: int  # N
    name: str  # the v4l2 card name; for v4l2loopback the card_label
    loopback: bool  # created by v4l2loopback
    virtual: bool  # no hardware behind it (v4l2loopback, akvcam, ...)
    index: int  # node index within its hardware device (uvcvideo: 0 = video, 1 = metadata)


@dataclass(frozen=True)
class LoopbackModule:
    """The loaded v4l2loopback module."""

    version: str  # e.g. "0.12.7"; "" when the module does not say
    exclusive_caps: tuple[bool, ...]  # per created device, in creation order

    @property
    def version_tuple(self) -> tuple[int, ...]:
        return parse_version(self.version)

    @property
    def can_add_devices(self) -> bool:
        """0.13+ can create devices at run time (``v4l2loopback-ctl add``)."""
        return self.version_tuple >= (0, 13)


def parse_version(text: str) -> tuple[int, ...]:
    """"0.12.7" -> (0, 12, 7); unparsable parts stop the tuple ("" -> ())."""
    parts: list[int] = []
    for piece in text.strip().split("."):
        match = re.match(r"\d+", piece)
        if not match:
            break
        parts.append(int(match.group()))
    return tuple(parts)


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8", errors="replace").strip()
    except OSError:
        return None


def _number(name: str) -> int:
    digits = re.sub(r"\D", "", name)
    return int(digits) if digits else -1


def video_devices(root: Path | None = None) -> list[VideoDevice]:
    """All ``/dev/videoN`` nodes, sorted by N. Empty when sysfs has no video4linux class."""
    root = root or ROOT
    base = root / "sys" / "class" / "video4linux"
    if not base.is_dir():
        return []
    found = []
    for entry in sorted(base.glob("video*"), key=lambda p: _number(p.name)):
        name = _read(entry / "name")
        if name is None:
            continue
        driver = os.path.realpath(entry / "device" / "driver")
        loopback = (entry / "max_openers").exists() or os.path.basename(driver) == MODULE
        resolved = os.path.realpath(entry)
        virtual = loopback or "/devices/virtual/" in resolved or not (entry / "device").exists()
        index = _read(entry / "index")
        found.append(VideoDevice(
            path=f"/dev/{entry.name}",
            number=_number(entry.name),
            name=name,
            loopback=loopback,
            virtual=virtual,
            index=int(index) if index and index.isdigit() else 0,
        ))
    return found


def loopback_module(root: Path | None = None, release: str | None = None) -> LoopbackModule | None:
    """The loaded v4l2loopback module, or None when it is not loaded."""
    root = root or ROOT
    base = root / "sys" / "module" / MODULE
    if not base.is_dir():
        return None
    raw = _read(base / "parameters" / "exclusive_caps") or ""
    flags = tuple(v.strip().upper() in ("Y", "1") for v in raw.split(",") if v.strip())
    # Debian's 0.12.7 DKMS build has no /sys/module/v4l2loopback/version and no version=
    # in its .modinfo; its DKMS build path (/var/lib/dkms/v4l2loopback/0.12.7/...) says it
    version = _read(base / "version") or _file_version(module_file(root, release)) or _dkms_version(root)
    return LoopbackModule(version=version, exclusive_caps=flags)


def module_file(root: Path | None = None, release: str | None = None) -> Path | None:
    """The v4l2loopback module file for the running kernel (``release`` = ``uname -r``), or
    None if it is not installed (then ``modprobe v4l2loopback`` cannot work).

    Looked up in ``modules.dep`` (one small file; walking /lib/modules is slow on network and
    9p file systems), then in the usual DKMS folders in case depmod has not run yet."""
    base = (root or ROOT) / "lib" / "modules" / (release or os.uname().release)
    dep = _read(base / "modules.dep") or ""
    for line in dep.splitlines():
        name = line.split(":", 1)[0]
        if os.path.basename(name).startswith(f"{MODULE}.ko"):
            return base / name
    for folder in ("updates/dkms", "updates", "extra", "kernel/drivers/media/v4l2-core"):
        found = sorted((base / folder).glob(f"{MODULE}.ko*"))
        if found:
            return found[0]
    return None


def loopback_installed(root: Path | None = None, release: str | None = None) -> bool:
    return module_file(root, release) is not None


def _file_version(path: Path | None) -> str | None:
    """The ``version=`` string in an uncompressed module's .modinfo section."""
    if path is None or path.suffix != ".ko":
        return None  # compressed modules: not worth a decompressor for a version string
    try:
        data = path.read_bytes()
    except OSError:
        return None
    match = re.search(rb"\0version=([\w.~+-]+)\0", data) or re.search(
        rb"/dkms/v4l2loopback/(\d[\w.~+-]*)/", data)
    return match.group(1).decode() if match else None


def _dkms_version(root: Path) -> str:
    """The version DKMS built, if exactly one is installed ("" otherwise)."""
    base = root / "var" / "lib" / "dkms" / MODULE
    versions = [p.name for p in base.glob("[0-9]*")] if base.is_dir() else []
    return versions[0] if len(versions) == 1 else ""


def free_video_number(devices: list[VideoDevice], preferred: int = 10) -> int:
    """The first ``/dev/videoN`` number >= ``preferred`` that no device uses."""
    used = {d.number for d in devices}
    number = preferred
    while number in used:
        number += 1
    return number
