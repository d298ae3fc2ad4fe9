"""Linux: the real capture devices, named and identified in a way that survives re-plugging.

A camera is a ``/dev/videoN`` node that captures video and has hardware behind it: v4l2loopback
devices ("FaceBlur Cam" above all: reading our own output is a feedback loop), other virtual
cameras and metadata nodes are left out. Its identity is its ``/dev/v4l/by-id`` link when udev
made one (same camera, same link, whatever the port or the boot order), else its card name and
bus info from VIDIOC_QUERYCAP.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from faceblur_cam.platform import linux_sysfs, linux_v4l2

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CameraInfo:
    """One real capture device. ``identity`` is what a stored choice keeps."""

    path: str  # "/dev/videoN": changes with the plug order
    name: str  # the card name, e.g. "HD Pro Webcam C920"
    identity: str  # "/dev/v4l/by-id/usb-...-video-index0", or "<name> @ <bus info>"


class CameraNotFound(LookupError):
    """No camera matches a setting; the message says which cameras there are."""


def _by_id_links(root: Path) -> dict[str, str]:
    """realpath of the node -> its /dev/v4l/by-id link."""
    folder = root / "dev" / "v4l" / "by-id"
    links: dict[str, str] = {}
    if folder.is_dir():
        for link in sorted(folder.iterdir()):
            target = os.path.realpath(link)
            if root != Path("/"):
                target = "/" + os.path.relpath(target, root)
            links.setdefault(target, f"/dev/v4l/by-id/{link.name}")
    return links


def list_cameras(root: Path | None = None,
                 query: Callable[[str], linux_v4l2.Capability] = linux_v4l2.query_capability) -> list[CameraInfo]:
    """The real capture devices, in /dev/videoN order."""
    root = root or linux_sysfs.ROOT
    links = _by_id_links(root)
    cameras = []
    for device in linux_sysfs.video_devices(root):
        if device.virtual:
            continue
        try:
            cap = query(device.path)
        except OSError as exc:  # no permission: trust sysfs (node 0 of a device is its video node)
            log.debug("cannot query %s: %s", device.path, exc)
            if device.index != 0:
                continue
            bus = ""
        else:
            if not cap.capture or cap.output:
                continue
            bus = cap.bus_info
        identity = links.get(device.path) or (f"{device.name} @ {bus}" if bus else device.name)
        cameras.append(CameraInfo(device.path, device.name, identity))
    return cameras


def find_camera(setting: str, cameras: list[CameraInfo]) -> CameraInfo:
    """The camera a setting names: its identity, its by-id link's name, its card name (exactly,
    then ignoring case) or its /dev/videoN path. Raises ``CameraNotFound``."""
    text = setting.strip()
    tests: list[Callable[[CameraInfo], bool]] = [
        lambda c: c.identity == text,
        lambda c: os.path.basename(c.identity) == text,
        lambda c: c.name == text,
        lambda c: c.name.casefold() == text.casefold(),
        lambda c: c.path == text,
    ]
    for test in tests:
        found = [c for c in cameras if test(c)]
        if found:
            return found[0]
    names = ", ".join(f'"{c.name}"' for c in cameras) or "none"
    raise CameraNotFound(f'no camera named "{text}" is plugged in (cameras found: {names})')


def holders(device: str, proc: Path = Path("/proc")) -> list[str]:
    """The names of the other processes that have ``device`` open (those we may look at)."""
    names = []
    target = os.path.realpath(device)
    for pid_dir in proc.glob("[0-9]*"):
        if pid_dir.name == str(os.getpid()):
            continue
        try:
            fds = list((pid_dir / "fd").iterdir())
        except OSError:  # another user's process, or gone
            continue
        for fd in fds:
            try:
                if os.readlink(fd) == target:
                    names.append((pid_dir / "comm").read_text().strip())
                    break
            except OSError:
                continue
    return sorted(set(names))


def busy_reason(device: str) -> str | None:
    """When another program streams from ``device``: a sentence naming it if the OS tells."""
    try:
        if not linux_v4l2.capture_in_use(device):
            return None
    except OSError:
        return None
    names = holders(device)
    return "in use by another app" + (f" ({', '.join(names)})" if names else "")
