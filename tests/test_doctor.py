"""``faceblur-cam doctor``: one test per diagnosis, with fake OS probes (a fake sysfs tree and
fake ioctl/permission functions), plus the report, the exit code and the real command."""

from __future__ import annotations

import errno
import subprocess
import sys
from pathlib import Path

import pytest
from fake_linux import RELEASE, FakeLinux

from faceblur_cam.doctor import exit_code, format_report, run_checks
from faceblur_cam.doctor.app_checks import detector_check, recording_check, tray_check
from faceblur_cam.doctor.result import CheckResult, Status, fail, ok
from faceblur_cam.platform import linux_setup, linux_v4l2, macos
from faceblur_cam.platform.linux_checks import LinuxProbe, camera_checks, virtual_camera_checks

LABEL = "FaceBlur Cam"
CONF = 'options v4l2loopback devices=1 video_nr=10 card_label="FaceBlur Cam" exclusive_caps=1\n'
IDLE, WRITING, STUCK, BOTH = 0x05200002, 0x05200001, 0x05200000, 0x05200003


def cap(caps: int) -> linux_v4l2.Capability:
    return linux_v4l2.Capability("v4l2 loopback", LABEL, caps)


def probe(root: Path, caps: int | None = IDLE, can_open: bool = True, in_group: bool = False,
          listed: bool = False, busy: set[str] = frozenset()) -> LinuxProbe:  # type: ignore[assignment]
    def query(dev: str) -> linux_v4l2.Capability:
        if caps is None:
            raise OSError(errno.EACCES, "denied")
        return cap(caps)

    return LinuxProbe(
        root=root,
        facts=lambda r: linux_setup.observe(r, release=RELEASE),
        query=query,
        in_use=lambda dev: dev in busy,
        can_open=lambda dev: can_open,
        group_of=lambda dev: "video",
        in_group=lambda g: in_group,
        listed_in_group=lambda g: listed,
    )


@pytest.fixture
def fake(tmp_path: Path) -> FakeLinux:
    return FakeLinux(tmp_path)


def ready(fake: FakeLinux) -> None:
    fake.module("0.12.7", version_file=False)
    fake.loopback(10, LABEL)
    fake.etc(linux_setup.MODPROBE_CONF, CONF)
    fake.etc(linux_setup.MODULES_LOAD_CONF, "v4l2loopback\n")


def by_name(results: list[CheckResult]) -> dict[str, CheckResult]:
    return {r.name: r for r in results}


def test_all_green_when_the_device_is_ready(fake: FakeLinux) -> None:
    ready(fake)
    results = virtual_camera_checks(LABEL, probe(fake.root))
    assert [(r.name, r.status) for r in results] == [
        ("driver", Status.OK), ("device", Status.OK), ("permission", Status.OK),
        ("exclusive_caps", Status.OK), ("at boot", Status.OK)]
    assert "0.12.7" in results[0].detail and "/dev/video10" in results[1].detail


def test_module_not_installed(fake: FakeLinux) -> None:
    results = by_name(virtual_camera_checks(LABEL, probe(fake.root)))
    driver = results["driver"]
    assert driver.status is Status.FAIL and "not installed" in driver.detail
    assert driver.fix is not None and "apt-get install -y v4l2loopback-dkms" in driver.fix
    assert 'card_label="FaceBlur Cam" exclusive_caps=1' in driver.fix
    assert results["device"].status is Status.FAIL


def test_module_installed_but_not_loaded(fake: FakeLinux) -> None:
    fake.installed("0.12.7")
    driver = by_name(virtual_camera_checks(LABEL, probe(fake.root)))["driver"]
    assert driver.status is Status.FAIL and "not loaded" in driver.detail
    assert driver.fix is not None and driver.fix.startswith("sudo modprobe v4l2loopback devices=1")
    assert "apt-get" not in driver.fix


def test_module_loaded_without_our_device(fake: FakeLinux) -> None:
    fake.module("0.12.7", version_file=False)
    fake.loopback(2, "OBS Virtual Camera")
    device = by_name(virtual_camera_checks(LABEL, probe(fake.root)))["device"]
    assert device.status is Status.FAIL and "no device labelled" in device.detail
    assert device.fix is not None and "sudo modprobe -r v4l2loopback" in device.fix
    assert '/dev/video2 "OBS Virtual Camera"' in device.fix  # the reload warning


def test_not_in_the_video_group(fake: FakeLinux) -> None:
    ready(fake)
    perm = by_name(virtual_camera_checks(LABEL, probe(fake.root, can_open=False)))["permission"]
    assert perm.status is Status.FAIL and perm.fix is not None
    assert perm.fix.startswith("sudo usermod -aG video $USER")


def test_added_to_the_group_but_not_logged_in_again(fake: FakeLinux) -> None:
    ready(fake)
    perm = by_name(virtual_camera_checks(LABEL, probe(fake.root, can_open=False, listed=True)))["permission"]
    assert perm.status is Status.FAIL and perm.fix is not None and "log out" in perm.fix


def test_exclusive_caps_off(fake: FakeLinux) -> None:
    ready(fake)
    check = by_name(virtual_camera_checks(LABEL, probe(fake.root, caps=BOTH)))["exclusive_caps"]
    assert check.status is Status.FAIL and "Chrome" in check.detail
    assert check.fix is not None and "modprobe -r v4l2loopback" in check.fix


def test_exclusive_caps_off_from_the_parameter_when_the_device_cannot_be_queried(fake: FakeLinux) -> None:
    fake.module("0.12.7", exclusive_caps="N,N,N,N,N,N,N,N")
    fake.loopback(10, LABEL)
    check = by_name(virtual_camera_checks(LABEL, probe(fake.root, caps=None)))["exclusive_caps"]
    assert check.status is Status.FAIL


@pytest.mark.parametrize("caps, words", [(WRITING, "publishing to it now"), (STUCK, "repaired")])
def test_busy_or_stuck_device_is_explained_not_failed(fake: FakeLinux, caps: int, words: str) -> None:
    ready(fake)
    check = by_name(virtual_camera_checks(LABEL, probe(fake.root, caps=caps)))["exclusive_caps"]
    assert check.status is Status.OK and words in check.detail


def test_not_created_at_boot(fake: FakeLinux) -> None:
    fake.module("0.12.7", version_file=False)
    fake.loopback(10, LABEL)
    boot = by_name(virtual_camera_checks(LABEL, probe(fake.root)))["at boot"]
    assert boot.status is Status.WARN and boot.fix is not None
    assert "sudo tee /etc/modprobe.d/faceblur-cam.conf" in boot.fix
    assert "sudo tee /etc/modules-load.d/faceblur-cam.conf" in boot.fix


def test_no_physical_camera(fake: FakeLinux) -> None:
    fake.loopback(10, LABEL)  # our own output is not a camera
    results = camera_checks(probe(fake.root))
    assert [(r.name, r.status) for r in results] == [("present", Status.FAIL)]


def test_camera_present_and_free(fake: FakeLinux) -> None:
    fake.camera(0, "USB Camera")
    fake.camera(1, "USB Camera", index=1)  # metadata node: not a second camera
    results = camera_checks(probe(fake.root))
    assert [(r.name, r.status) for r in results] == [("present", Status.OK), ("available", Status.OK)]
    assert "/dev/video1" not in results[0].detail


def test_camera_busy(fake: FakeLinux) -> None:
    fake.camera(0, "USB Camera")
    results = camera_checks(probe(fake.root, busy={"/dev/video0"}))
    assert [r.status for r in results] == [Status.OK, Status.WARN, Status.FAIL]
    assert "in use by another program" in results[1].detail


def test_camera_permission(fake: FakeLinux) -> None:
    fake.camera(0, "USB Camera")
    results = camera_checks(probe(fake.root, can_open=False))
    assert results[1].status is Status.FAIL and results[1].fix is not None
    assert "usermod -aG video" in results[1].fix


def test_detector_that_cannot_load_fails() -> None:
    def broken() -> str:
        raise RuntimeError("model file damaged (sha256 mismatch)")
    check = detector_check(broken)
    assert check.status is Status.FAIL and "sha256" in check.detail
    assert detector_check(lambda: "CenterFace").status is Status.OK


def test_real_detector_loads() -> None:
    assert detector_check().status is Status.OK


def test_tray_unavailable_is_a_warning_with_the_install_hint() -> None:
    def no_tray() -> str:
        raise RuntimeError('cannot show a tray icon: Bad display name ""\n  sudo apt install gir1.2-x')
    check = tray_check(no_tray)
    assert check.status is Status.WARN and "Bad display" in check.detail
    assert check.fix is not None and "sudo apt install gir1.2-x" in check.fix


def test_missing_encoder_is_a_warning() -> None:
    check = recording_check(lambda: (False, "recording needs ffmpeg, which was not found; pip"))
    assert check.status is Status.WARN and check.fix is not None and "ffmpeg" in check.fix
    assert recording_check(lambda: (True, "H.264 (libx264)")).status is Status.OK


def test_macos_obs_extension() -> None:
    def on_13(version: str | None, state: str) -> list:
        return macos.virtual_camera_checks(LABEL, lambda: version, lambda: state, darwin=lambda: 22)

    assert on_13(None, "")[0].status is Status.FAIL
    old = on_13("29.1.3", "")
    assert old[0].status is Status.FAIL and "30" in (old[0].fix or "")
    waiting = on_13("30.2.0", f"*\t*\tX\t{macos.EXTENSION_ID} [activated waiting for user]")
    assert [r.status for r in waiting] == [Status.OK, Status.FAIL]
    approved = on_13("30.2.0", f"*\t*\tX\t{macos.EXTENSION_ID} [activated enabled]")
    assert all(r.ok for r in approved)


def test_a_crashing_check_becomes_a_finding_and_the_exit_code_follows_failures() -> None:
    def crash() -> list[CheckResult]:
        raise KeyError("boom")
    results = run_checks([lambda: [ok("tray", "icon", "fine")], crash])
    assert results[1].status is Status.FAIL and "boom" in results[1].detail
    assert exit_code(results) == 1
    assert exit_code([ok("a", "b", "c"), CheckResult("x", "y", Status.WARN, "z")]) == 0


def test_report_shows_each_fix_under_its_problem() -> None:
    text = format_report([ok("camera", "present", "/dev/video0"),
                          fail("virtual camera", "driver", "not loaded", "sudo modprobe x\nor run: y")],
                         "FaceBlur Cam doctor (Linux)")
    assert "[ ok ] present: /dev/video0" in text and "[FAIL] driver: not loaded" in text
    assert "fix: sudo modprobe x\n              or run: y" in text
    assert "1 problem(s)" in text


def test_doctor_command_runs_on_this_machine() -> None:
    """The real command, real probes: a report, no traceback, exit 0/1 matching FAIL lines."""
    proc = subprocess.run([sys.executable, "-m", "faceblur_cam", "doctor"], capture_output=True,
                          text=True, timeout=120)
    assert "Traceback" not in proc.stdout + proc.stderr
    assert "Virtual camera" in proc.stdout and "Detector" in proc.stdout
    assert proc.returncode == (1 if "[FAIL]" in proc.stdout else 0), proc.stdout
