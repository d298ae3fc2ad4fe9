"""V4L2 mode enumeration through a fake driver, the real-camera list and resolving a setting."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest
from fake_linux import FakeLinux

from faceblur_cam.platform import linux_cameras, linux_v4l2, linux_v4l2_modes
from faceblur_cam.platform.linux_v4l2_modes import (
    FMTDESC,
    FRMIVAL,
    FRMSIZE,
    VIDIOC_ENUM_FMT,
    VIDIOC_ENUM_FRAMEINTERVALS,
    VIDIOC_ENUM_FRAMESIZES,
    fourcc_code,
    fourcc_text,
)
from faceblur_cam.sources import SourceError
from faceblur_cam.sources.camera_choice import CameraChoice, best_mode, resolve
from faceblur_cam.sources.modes import CameraMode


class FakeDriver:
    """Answers the three ENUM ioctls from a table, like uvcvideo: EINVAL past the last entry."""

    def __init__(self, table: dict[str, dict[tuple[int, int], list[tuple[int, int]]]]):
        self.table = table  # fourcc -> size -> [(numerator, denominator)] frame intervals
        self.calls = 0

    @staticmethod
    def name(code: int) -> str:
        return fourcc_text(code & ~(1 << 31)) + ("!" if code & (1 << 31) else "")

    def __call__(self, request: int, buf: bytearray) -> None:
        self.calls += 1
        fourccs = list(self.table)
        if request == VIDIOC_ENUM_FMT:
            index, kind, *_ = FMTDESC.unpack(buf)
            assert kind == linux_v4l2.BUF_TYPE_VIDEO_CAPTURE
            if index >= len(fourccs):
                raise OSError(errno.EINVAL, "no more")
            code = fourcc_code(fourccs[index].rstrip("!")) | (1 << 31 if fourccs[index].endswith("!") else 0)
            FMTDESC.pack_into(buf, 0, index, kind, 0, b"desc", code, 0)
        elif request == VIDIOC_ENUM_FRAMESIZES:
            index, code, *_ = FRMSIZE.unpack(buf)
            sizes = list(self.table[self.name(code)])
            if index >= len(sizes):
                raise OSError(errno.EINVAL, "no more")
            FRMSIZE.pack_into(buf, 0, index, code, 1, *sizes[index], 0, 0, 0, 0)
        elif request == VIDIOC_ENUM_FRAMEINTERVALS:
            index, code, w, h, *_ = FRMIVAL.unpack(buf)
            intervals = self.table[self.name(code)][(w, h)]
            if index >= len(intervals):
                raise OSError(errno.EINVAL, "no more")
            FRMIVAL.pack_into(buf, 0, index, code, w, h, 1, *intervals[index], 0, 0, 0, 0)
        else:
            raise OSError(errno.ENOTTY, "unknown ioctl")


def test_enumerates_formats_sizes_and_intervals() -> None:
    driver = FakeDriver({
        "YUYV": {(640, 480): [(1, 30), (1, 15)], (1280, 720): [(1, 10)]},
        "MJPG": {(1280, 720): [(1, 30), (2, 25)]},
        "Y16 !": {(640, 480): [(1, 30)]},  # big-endian variant (vivid lists one): skipped, not a crash
    })
    modes = linux_v4l2_modes.enumerate_modes(driver)
    assert modes == [CameraMode("YUYV", 640, 480, 30), CameraMode("YUYV", 640, 480, 15),
                     CameraMode("YUYV", 1280, 720, 10), CameraMode("MJPG", 1280, 720, 30),
                     CameraMode("MJPG", 1280, 720, 12.5)]


def test_stepwise_sizes_offer_the_common_ones() -> None:
    buf = FRMSIZE.pack(0, fourcc_code("YUYV"), 3, 160, 1920, 1, 120, 1080, 1)
    sizes = linux_v4l2_modes.parse_framesize(buf)
    assert sizes[0] == (1920, 1080) and (1280, 720) in sizes and (3840, 2160) not in sizes


def test_ioctl_numbers_match_the_struct_sizes() -> None:
    for request, struct in ((VIDIOC_ENUM_FMT, FMTDESC), (VIDIOC_ENUM_FRAMESIZES, FRMSIZE),
                            (VIDIOC_ENUM_FRAMEINTERVALS, FRMIVAL)):
        assert (request >> 16) & 0x3FFF == struct.size


def cap(card: str, caps: int, bus: str) -> linux_v4l2.Capability:
    return linux_v4l2.Capability("uvcvideo", card, caps, bus)


@pytest.fixture
def tree(tmp_path: Path) -> tuple[Path, dict[str, linux_v4l2.Capability]]:
    fake = FakeLinux(tmp_path)
    fake.loopback(0, "FaceBlur Cam")  # our own output first: never the default
    fake.camera(1, "HD Pro Webcam C920")
    fake.camera(2, "HD Pro Webcam C920", index=1)  # its metadata node
    fake.camera(3, "Integrated Camera")
    by_id = tmp_path / "dev" / "v4l" / "by-id"
    by_id.mkdir(parents=True)
    (tmp_path / "dev" / "video1").touch()
    os.symlink("../../video1", by_id / "usb-046d_HD_Pro_Webcam_C920_ABC-video-index0")
    caps = {"/dev/video1": cap("HD Pro Webcam C920", 1, "usb-0000:00:14.0-2"),
            "/dev/video2": cap("HD Pro Webcam C920", 0x00800000, "usb-0000:00:14.0-2"),  # metadata only
            "/dev/video3": cap("Integrated Camera", 1, "usb-0000:00:14.0-5")}
    return tmp_path, caps


def test_lists_real_capture_devices_with_stable_identities(tree: tuple[Path, dict[str, linux_v4l2.Capability]]) -> None:
    root, caps = tree
    cameras = linux_cameras.list_cameras(root, query=caps.__getitem__)
    assert [(c.path, c.name) for c in cameras] == [("/dev/video1", "HD Pro Webcam C920"),
                                                   ("/dev/video3", "Integrated Camera")]
    assert cameras[0].identity == "/dev/v4l/by-id/usb-046d_HD_Pro_Webcam_C920_ABC-video-index0"
    assert cameras[1].identity == "Integrated Camera @ usb-0000:00:14.0-5"


def test_default_is_the_first_real_camera_never_our_output(tree: tuple[Path, dict[str, linux_v4l2.Capability]]) -> None:
    root, caps = tree
    cameras = linux_cameras.list_cameras(root, query=caps.__getitem__)
    assert resolve(0, cameras).source == "/dev/video1"
    assert resolve("0", cameras).source == "/dev/video1"


@pytest.mark.parametrize("setting", ["Integrated Camera", "integrated camera",
                                     "Integrated Camera @ usb-0000:00:14.0-5", "/dev/video3", 3])
def test_setting_by_name_identity_or_path(tree: tuple[Path, dict[str, linux_v4l2.Capability]],
                                          setting: int | str) -> None:
    root, caps = tree
    cameras = linux_cameras.list_cameras(root, query=caps.__getitem__)
    target = resolve(setting, cameras)
    assert (target.source, target.name) == ("/dev/video3", "Integrated Camera")


def test_by_id_identity_survives_a_new_device_number(tree: tuple[Path, dict[str, linux_v4l2.Capability]]) -> None:
    root, caps = tree
    identity = linux_cameras.list_cameras(root, query=caps.__getitem__)[0].identity
    moved = [linux_cameras.CameraInfo("/dev/video4", "HD Pro Webcam C920", identity)]  # re-plugged elsewhere
    assert resolve(identity, moved).source == "/dev/video4"
    assert resolve(os.path.basename(identity), moved).source == "/dev/video4"


def test_unknown_name_says_which_cameras_there_are(tree: tuple[Path, dict[str, linux_v4l2.Capability]]) -> None:
    root, caps = tree
    cameras = linux_cameras.list_cameras(root, query=caps.__getitem__)
    with pytest.raises(SourceError, match='"Logitech Brio".*"HD Pro Webcam C920", "Integrated Camera"'):
        resolve("Logitech Brio", cameras)


def test_best_mode_reads_the_driver_and_tolerates_errors() -> None:
    def gone(_path: str) -> list[CameraMode]:
        raise OSError(errno.ENODEV, "No such device")

    assert best_mode("/dev/video1", (1280, 720), 30, modes=gone) is None
    assert best_mode(0, (1280, 720), 30, modes=gone) is None  # an index: OpenCV's defaults
    choice = best_mode("/dev/video1", (1280, 720), 30, modes=lambda _p: [
        CameraMode("YUYV", 1280, 720, 10), CameraMode("MJPG", 1280, 720, 30)])
    assert choice is not None and choice.mode == CameraMode("MJPG", 1280, 720, 30)


def test_camera_choice_reports_a_change() -> None:
    choice = CameraChoice(0)
    assert choice.choose("Integrated Camera") and not choice.choose("Integrated Camera")
    assert choice.current() == "Integrated Camera"


def test_holders_names_the_other_process_with_the_device_open(tmp_path: Path) -> None:
    device = tmp_path / "video0"
    device.touch()
    for pid, comm, target in ((101, "zoom", device), (102, "bash", tmp_path / "other")):
        fd = tmp_path / "proc" / str(pid) / "fd"
        fd.mkdir(parents=True)
        os.symlink(target, fd / "3")
        (tmp_path / "proc" / str(pid) / "comm").write_text(comm + "\n")
    assert linux_cameras.holders(str(device), proc=tmp_path / "proc") == ["zoom"]


def test_our_own_output_is_never_a_camera_even_by_name(tree: tuple[Path, dict[str, linux_v4l2.Capability]]) -> None:
    root, caps = tree
    cameras = linux_cameras.list_cameras(root, query=caps.__getitem__)
    assert "FaceBlur Cam" not in [c.name for c in cameras]
    with pytest.raises(SourceError, match="no camera named"):
        resolve("FaceBlur Cam", cameras)
