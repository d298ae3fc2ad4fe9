"""Linux: the few V4L2 ioctls we need, through ``fcntl.ioctl`` (no extra dependency).

Contract: every function opens the device node itself and closes it before returning; none
of them streams, so none turns a camera on. Errors are ``OSError`` (errno set) unless a
docstring says otherwise.
"""

from __future__ import annotations

import errno
import fcntl
import logging
import os
import struct
from dataclasses import dataclass

log = logging.getLogger(__name__)

VIDIOC_QUERYCAP = 0x80685600  # _IOR('V', 0, struct v4l2_capability), 104 bytes
VIDIOC_REQBUFS = 0xC0145608  # _IOWR('V', 8, struct v4l2_requestbuffers), 20 bytes
VIDIOC_STREAMON = 0x40045612  # _IOW('V', 18, int)

BUF_TYPE_VIDEO_CAPTURE = 1
BUF_TYPE_VIDEO_OUTPUT = 2
MEMORY_MMAP = 1

CAP_VIDEO_CAPTURE = 0x00000001
CAP_VIDEO_OUTPUT = 0x00000002
CAP_VIDEO_CAPTURE_MPLANE = 0x00001000
CAP_DEVICE_CAPS = 0x80000000


@dataclass(frozen=True)
class Capability:
    """What VIDIOC_QUERYCAP says about one device node."""

    driver: str
    card: str
    caps: int  # this node's capabilities (device_caps when the driver reports them)
    bus_info: str = ""  # e.g. "usb-0000:00:14.0-2": with the card name, a stable identity

    @property
    def capture(self) -> bool:
        return bool(self.caps & (CAP_VIDEO_CAPTURE | CAP_VIDEO_CAPTURE_MPLANE))

    @property
    def output(self) -> bool:
        return bool(self.caps & CAP_VIDEO_OUTPUT)


def parse_capability(buf: bytes) -> Capability:
    """Decode a 104-byte ``struct v4l2_capability``."""

    def text(offset: int, size: int) -> str:
        return bytes(buf[offset:offset + size]).split(b"\0")[0].decode("utf-8", "replace")

    caps, device_caps = struct.unpack_from("<II", buf, 84)
    return Capability(
        driver=text(0, 16),
        card=text(16, 32),
        caps=device_caps if caps & CAP_DEVICE_CAPS else caps,
        bus_info=text(48, 32),
    )


def query_capability(device: str) -> Capability:
    """VIDIOC_QUERYCAP on ``device``. Opening read-only is enough and starts no stream."""
    buf = bytearray(104)
    fd = os.open(device, os.O_RDONLY | os.O_NONBLOCK)
    try:
        fcntl.ioctl(fd, VIDIOC_QUERYCAP, buf)
    finally:
        os.close(fd)
    return parse_capability(bytes(buf))


def restore_output(device: str) -> bool:
    """The v4l2loopback <= 0.12.7 "unstick": after a writer that only ``write()``s (as
    pyvirtualcam does) closes, the device can lose its OUTPUT capability, so the next writer
    fails with "not a video output device". A VIDIOC_STREAMON(OUTPUT) on a throw-away file
    descriptor marks that opener as the writer (the ioctl itself then fails with EINVAL,
    which is expected), and closing it restores the OUTPUT capability (fixed upstream in
    v4l2loopback PR #477).

    Never raises: returns True if the ioctl sequence ran, False if the device could not be
    opened (missing, no permission); the caller's open then reports the real problem.
    """
    try:
        fd = os.open(device, os.O_RDWR | os.O_NONBLOCK)
    except OSError as exc:
        log.debug("cannot open %s to restore its output capability: %s", device, exc)
        return False
    try:
        fcntl.ioctl(fd, VIDIOC_STREAMON, struct.pack("i", BUF_TYPE_VIDEO_OUTPUT))
    except OSError as exc:
        log.debug("STREAMON(OUTPUT) on %s: %s (expected)", device, exc)
    finally:
        os.close(fd)
    return True


def capture_in_use(device: str) -> bool:
    """True if another process is streaming from capture device ``device``.

    Asks for zero MMAP buffers: drivers refuse with EBUSY when another file handle owns the
    stream (uvcvideo "privileges", videobuf2 queue owner), and otherwise this allocates
    nothing. Raises ``OSError`` if the device cannot be opened (missing, no permission).
    """
    fd = os.open(device, os.O_RDWR | os.O_NONBLOCK)
    try:
        request = struct.pack("<IIII4x", 0, BUF_TYPE_VIDEO_CAPTURE, MEMORY_MMAP, 0)
        fcntl.ioctl(fd, VIDIOC_REQBUFS, bytearray(request))
    except OSError as exc:
        if exc.errno == errno.EBUSY:
            return True
        log.debug("REQBUFS(0) on %s: %s", device, exc)  # e.g. EINVAL: no MMAP support
        return False
    finally:
        os.close(fd)
    return False
