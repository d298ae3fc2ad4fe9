"""Linux: a capture device's modes (formats, frame sizes, frame intervals) through V4L2 ioctls.

VIDIOC_ENUM_FMT, VIDIOC_ENUM_FRAMESIZES and VIDIOC_ENUM_FRAMEINTERVALS through ``fcntl.ioctl``
with ``struct`` (no extra dependency). Like ``linux_v4l2``, it opens the node read-only, never
streams (the camera light stays off) and closes it before returning. The ``parse_*`` functions
are pure, so tests feed them the bytes a driver would write.
"""

from __future__ import annotations

import errno
import fcntl
import functools
import logging
import os
import struct
from collections.abc import Callable

from faceblur_cam.platform.linux_v4l2 import BUF_TYPE_VIDEO_CAPTURE
from faceblur_cam.sources.modes import CameraMode

log = logging.getLogger(__name__)

VIDIOC_ENUM_FMT = 0xC0405602  # _IOWR('V', 2, struct v4l2_fmtdesc), 64 bytes
VIDIOC_ENUM_FRAMESIZES = 0xC02C564A  # _IOWR('V', 74, struct v4l2_frmsizeenum), 44 bytes
VIDIOC_ENUM_FRAMEINTERVALS = 0xC034564B  # _IOWR('V', 75, struct v4l2_frmivalenum), 52 bytes

FMTDESC = struct.Struct("<III32sII12x")  # index, type, flags, description, pixelformat, mbus_code
FRMSIZE = struct.Struct("<III6I8x")  # index, pixel_format, type, union (discrete w,h | stepwise 6)
FRMIVAL = struct.Struct("<IIIII6I8x")  # index, pixel_format, width, height, type, union (fractions)
TYPE_DISCRETE = 1  # V4L2_FRMSIZE_TYPE_DISCRETE == V4L2_FRMIVAL_TYPE_DISCRETE
# sizes offered from a stepwise/continuous range (few drivers have one; webcams list discrete sizes)
COMMON_SIZES = ((3840, 2160), (1920, 1080), (1280, 720), (960, 540), (640, 480), (640, 360), (320, 240))
MAX_ENTRIES = 200  # a driver that never says EINVAL must not hang us

Ioctl = Callable[[int, bytearray], None]  # (request, buffer written in place); raises OSError


BIG_ENDIAN_FLAG = 1 << 31  # v4l2_fourcc_be: e.g. "Y16 " big-endian; OpenCV does not read those


def fourcc_text(code: int) -> str:
    """"YUYV" for its code; "" for a code that is no printable fourcc (a big-endian variant)."""
    text = struct.pack("<I", code).decode("latin-1")
    return text if text.isascii() and text.isprintable() else ""


def fourcc_code(text: str) -> int:
    return int(struct.unpack("<I", text.encode("ascii"))[0])


def parse_fmtdesc(buf: bytes) -> tuple[int, str]:
    """(pixel format code, description) of a ``struct v4l2_fmtdesc``."""
    _index, _type, _flags, desc, pixelformat, _mbus = FMTDESC.unpack(buf)
    return pixelformat, desc.split(b"\0")[0].decode("utf-8", "replace")


def parse_framesize(buf: bytes) -> list[tuple[int, int]]:
    """The sizes a ``struct v4l2_frmsizeenum`` stands for: one when discrete, the common sizes
    within the range (and its largest) when stepwise or continuous."""
    _index, _fmt, kind, *u = FRMSIZE.unpack(buf)
    if kind == TYPE_DISCRETE:
        return [(u[0], u[1])]
    min_w, max_w, _step_w, min_h, max_h, _step_h = u
    sizes = [(w, h) for w, h in COMMON_SIZES if min_w <= w <= max_w and min_h <= h <= max_h]
    return [(max_w, max_h)] + [s for s in sizes if s != (max_w, max_h)]


def parse_frameinterval(buf: bytes) -> list[float]:
    """The frame rates of a ``struct v4l2_frmivalenum``: one when discrete, the fastest (the
    shortest interval) when stepwise or continuous."""
    _index, _fmt, _w, _h, kind, num, den, *_rest = FRMIVAL.unpack(buf)
    if num <= 0 or den <= 0:
        return []
    return [den / num]


def _entries(ioctl: Ioctl, request: int, make: Callable[[int], bytes]) -> list[bytes]:
    """Call an ENUM ioctl with index 0, 1, ... until the driver says EINVAL."""
    found = []
    for index in range(MAX_ENTRIES):
        buf = bytearray(make(index))
        try:
            ioctl(request, buf)
        except OSError as exc:
            if exc.errno != errno.EINVAL:
                log.debug("enumeration stopped: %s", exc)
            break
        found.append(bytes(buf))
    return found


def _size_request(code: int, index: int) -> bytes:
    return FRMSIZE.pack(index, code, 0, *[0] * 6)


def _interval_request(code: int, wh: tuple[int, int], index: int) -> bytes:
    return FRMIVAL.pack(index, code, wh[0], wh[1], 0, *[0] * 6)


def enumerate_modes(ioctl: Ioctl) -> list[CameraMode]:
    """Every (format, size, rate) a capture device lists, through ``ioctl(request, buf)``."""
    modes: list[CameraMode] = []
    for fmt in _entries(ioctl, VIDIOC_ENUM_FMT, lambda i: FMTDESC.pack(i, BUF_TYPE_VIDEO_CAPTURE, 0, b"", 0, 0)):
        code, _desc = parse_fmtdesc(fmt)
        fourcc = fourcc_text(code)
        if not fourcc:
            continue  # not a format we could ask OpenCV for
        for size in _entries(ioctl, VIDIOC_ENUM_FRAMESIZES, functools.partial(_size_request, code)):
            for w, h in parse_framesize(size):
                if w <= 0 or h <= 0:
                    continue
                for ival in _entries(ioctl, VIDIOC_ENUM_FRAMEINTERVALS,
                                     functools.partial(_interval_request, code, (w, h))):
                    modes += [CameraMode(fourcc, w, h, round(fps, 3)) for fps in parse_frameinterval(ival)]
    return modes


def list_modes(device: str) -> list[CameraMode]:
    """The modes of capture device ``device`` (e.g. "/dev/video0"). Raises ``OSError`` if it
    cannot be opened; an empty list when it lists none (a loopback device with no writer)."""
    fd = os.open(device, os.O_RDONLY | os.O_NONBLOCK)
    try:
        return enumerate_modes(lambda request, buf: fcntl.ioctl(fd, request, buf))
    finally:
        os.close(fd)
