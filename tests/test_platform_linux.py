"""Linux platform layer: finding "FaceBlur Cam" by label, telling loopback from real cameras,
the v4l2loopback 0.12.7 "unstick", and the messages for busy / removed / no permission.

sysfs is a fake tree laid out like the real one (tests/fake_linux.py); ioctls are faked only
where a real device would be needed (the VM tests in tests/e2e run them for real).
"""

from __future__ import annotations

import errno
import struct
from pathlib import Path

import pytest
from fake_linux import RELEASE, FakeLinux

from faceblur_cam.platform import linux, linux_sysfs, linux_v4l2


@pytest.fixture
def fake(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> FakeLinux:
    monkeypatch.setattr(linux_sysfs, "ROOT", tmp_path)
    return FakeLinux(tmp_path)


def test_devices_are_sorted_numerically_and_classified(fake: FakeLinux) -> None:
    fake.loopback(10, "FaceBlur Cam")
    fake.camera(0, "Integrated Camera: Integrated C")
    fake.camera(1, "Integrated Camera: Integrated C", index=1)
    fake.loopback(2, "OBS Virtual Camera")
    devices = linux_sysfs.video_devices()
    assert [d.path for d in devices] == ["/dev/video0", "/dev/video1", "/dev/video2", "/dev/video10"]
    assert [(d.loopback, d.virtual, d.index) for d in devices] == [
        (False, False, 0), (False, False, 1), (True, True, 0), (True, True, 0)]
    assert linux.list_video_devices()[3] == ("/dev/video10", "FaceBlur Cam", True)


def test_finds_our_device_by_label_only_among_loopback_devices(fake: FakeLinux) -> None:
    fake.camera(0, "FaceBlur Cam")  # a physical camera with our name must never be the output
    fake.loopback(3, "OBS Virtual Camera")
    assert linux.find_virtual_camera("FaceBlur Cam") is None
    fake.loopback(11, "FaceBlur Cam")
    assert linux.find_virtual_camera("FaceBlur Cam") == "/dev/video11"
    assert linux.find_virtual_camera("Other") is None


def test_never_reads_a_virtual_camera_as_input(fake: FakeLinux, tmp_path: Path) -> None:
    fake.camera(0, "USB Camera")
    fake.loopback(10, "FaceBlur Cam")
    assert linux.is_virtual_camera(10) and linux.is_virtual_camera("10")
    assert linux.is_virtual_camera("/dev/video10")
    assert not linux.is_virtual_camera(0) and not linux.is_virtual_camera("/dev/video0")
    video = tmp_path / "clip.mp4"
    video.write_bytes(b"")
    assert not linux.is_virtual_camera(str(video))


def test_no_sysfs_means_no_devices(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(linux_sysfs, "ROOT", tmp_path / "nothing")
    assert linux_sysfs.video_devices() == [] and linux.find_virtual_camera("FaceBlur Cam") is None


def test_module_version_from_sysfs_or_from_the_dkms_build(fake: FakeLinux) -> None:
    assert linux_sysfs.loopback_module() is None
    fake.module("0.13.2", exclusive_caps="Y,N")
    module = linux_sysfs.loopback_module()
    assert module is not None and module.version == "0.13.2" and module.can_add_devices
    assert module.exclusive_caps == (True, False)


def test_debian_0_12_7_version_comes_from_the_module_file(fake: FakeLinux,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(linux_sysfs.os, "uname", lambda: type("U", (), {"release": RELEASE})())
    fake.module("0.12.7", version_file=False)
    module = linux_sysfs.loopback_module()
    assert module is not None and module.version == "0.12.7" and not module.can_add_devices
    assert linux_sysfs.loopback_installed(release=RELEASE)
    assert not linux_sysfs.loopback_installed(release="5.10.0-other")


def test_versions_and_free_numbers() -> None:
    assert linux_sysfs.parse_version("0.12.7") == (0, 12, 7)
    assert linux_sysfs.parse_version("0.13.2-1ubuntu1") == (0, 13, 2)
    assert linux_sysfs.parse_version("") == ()
    used = [linux_sysfs.VideoDevice(f"/dev/video{n}", n, "x", False, False, 0) for n in (0, 10, 11)]
    assert linux_sysfs.free_video_number(used, 10) == 12
    assert linux_sysfs.free_video_number(used, 5) == 5


def _capability(caps: int, device_caps: int = 0) -> bytes:
    buf = bytearray(104)
    buf[0:12] = b"v4l2 loopback"[:12]
    buf[16:28] = b"FaceBlur Cam"
    struct.pack_into("<III", buf, 80, 0x000c07, caps, device_caps)
    return bytes(buf)


def test_querycap_parsing_prefers_device_caps() -> None:
    cap = linux_v4l2.parse_capability(_capability(0x85200003, 0x05200002))
    assert cap.card == "FaceBlur Cam" and cap.output and not cap.capture
    old = linux_v4l2.parse_capability(_capability(0x00000001))
    assert old.capture and not old.output


def test_ioctls_on_a_non_video_file_fail_cleanly(tmp_path: Path) -> None:
    with pytest.raises(OSError):
        linux_v4l2.query_capability("/dev/null")
    assert linux_v4l2.restore_output(str(tmp_path / "video99")) is False  # never raises
    linux.prepare_virtual_camera(str(tmp_path / "video99"))  # never raises
    linux.prepare_virtual_camera(None)


@pytest.mark.parametrize("caps, repaired", [
    (0x05200002, False),  # idle: OUTPUT offered
    (0x05200001, False),  # another writer is active: CAPTURE only; must not be disturbed
    (0x05200000, True),  # stuck after a write()-only writer closed (0.12.7): neither
])
def test_unstick_only_when_the_device_offers_neither(monkeypatch: pytest.MonkeyPatch,
                                                     caps: int, repaired: bool) -> None:
    calls: list[str] = []
    monkeypatch.setattr(linux_v4l2, "query_capability",
                        lambda dev: linux_v4l2.Capability("v4l2 loopback", "FaceBlur Cam", caps))
    monkeypatch.setattr(linux_v4l2, "restore_output", lambda dev: calls.append(dev) or True)
    linux.prepare_virtual_camera("/dev/video10")
    assert calls == (["/dev/video10"] if repaired else [])


def test_output_error_messages_say_what_to_do(tmp_path: Path) -> None:
    present = tmp_path / "video10"
    present.write_bytes(b"")
    gone = linux.explain_output_error(str(tmp_path / "video77"), "FaceBlur Cam", OSError(errno.ENOENT, "x"))
    assert "not there" in gone and "faceblur-cam setup" in gone
    denied = linux.explain_output_error(str(present), "FaceBlur Cam", RuntimeError(
        "Could not access /dev/video10 due to missing permissions. Did you add your user..."))
    assert "usermod -aG video" in denied
    busy = linux.explain_output_error(str(present), "FaceBlur Cam",
                                      RuntimeError("Device /dev/video10 is not a video output device."))
    assert "Another program" in busy and "retries" in busy
    assert "Another program" in linux.explain_output_error(str(present), "FaceBlur Cam",
                                                           OSError(errno.EBUSY, "busy"))


def test_module_file_is_found_through_modules_dep(tmp_path: Path) -> None:
    base = tmp_path / "lib" / "modules" / RELEASE
    (base / "kernel" / "misc").mkdir(parents=True)
    (base / "kernel" / "misc" / "v4l2loopback.ko.xz").write_bytes(b"")
    assert linux_sysfs.module_file(tmp_path, RELEASE) is None  # not where DKMS puts it, no dep
    (base / "modules.dep").write_text("kernel/drivers/media/mc/mc.ko:\n"
                                      "kernel/misc/v4l2loopback.ko.xz: kernel/drivers/media/v4l2-core/videodev.ko\n")
    assert linux_sysfs.module_file(tmp_path, RELEASE) == base / "kernel" / "misc" / "v4l2loopback.ko.xz"
