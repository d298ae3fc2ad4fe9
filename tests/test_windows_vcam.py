"""Windows: "FaceBlur Cam" by name through Unity Capture, else OBS Virtual Camera with a notice.

Runs on every platform: the registry is ``MemoryClassesRoot`` laid out as Unity Capture's
regsvr32 registration writes it (checked against Unity Capture's and pyvirtualcam's sources:
see ``platform/windows_filters.py``), and pyvirtualcam's own ``Camera`` runs with stand-in
``unitycapture`` and ``obs`` backends put in its backend registry (``register_backend``) that
behave like the native ones: Unity Capture opens only a device name registered in the (fake)
registry, OBS only "OBS Virtual Camera". The real ``winreg`` adapter is read on Windows only.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import pyvirtualcam

from faceblur_cam import platform
from faceblur_cam.commands import run as run_cmd
from faceblur_cam.commands import setup as setup_cmd
from faceblur_cam.config import Config
from faceblur_cam.doctor import format_report
from faceblur_cam.doctor.result import Status
from faceblur_cam.frames import FrameKind, PublishedFrame
from faceblur_cam.platform import windows
from faceblur_cam.platform.windows_filters import (
    VIDEO_INPUT_INSTANCES,
    MemoryClassesRoot,
    find_unity_capture,
    unity_capture_clsid,
    unity_capture_devices,
    video_input_names,
)
from faceblur_cam.sinks.fake_vcam import FakeCameraBackend
from faceblur_cam.sinks.vcam import NoVirtualCamera, VirtualCameraSink

LABEL = "FaceBlur Cam"
OBS_CLSID = "{A3FCE0F5-3493-419F-958A-ABA1250EC20B}"
WH = (64, 48)


def register_unity(reg: MemoryClassesRoot, name: str, dll: Path | None, number: int = 0, bits: int = 64) -> None:
    """What ``regsvr32 UnityCaptureFilter64.dll "/i:UnityCaptureName=NAME"`` writes (device 0)."""
    clsid = unity_capture_clsid(number, bits)
    reg.set(f"CLSID\\{clsid}", "", name, bits)
    reg.set(f"CLSID\\{clsid}\\InprocServer32", "", str(dll or r"C:\gone\UnityCaptureFilter64.dll"), bits)
    reg.set(f"CLSID\\{clsid}\\InprocServer32", "ThreadingModel", "Both", bits)
    reg.set(f"{VIDEO_INPUT_INSTANCES}\\{clsid}", "FriendlyName", name, bits)
    reg.set(f"{VIDEO_INPUT_INSTANCES}\\{clsid}", "CLSID", clsid, bits)


def install_obs(reg: MemoryClassesRoot) -> None:
    reg.set(f"{VIDEO_INPUT_INSTANCES}\\{OBS_CLSID}", "FriendlyName", windows.OBS_NAME)


@pytest.fixture
def dll(tmp_path: Path) -> Path:
    path = tmp_path / "UnityCapture" / "Install" / "UnityCaptureFilter64.dll"
    path.parent.mkdir(parents=True)
    path.write_bytes(b"MZ")
    return path


@pytest.fixture
def reg() -> MemoryClassesRoot:
    return MemoryClassesRoot()


# --- the registry layout -------------------------------------------------------------------

def test_unity_capture_clsids_follow_its_numbering() -> None:
    assert unity_capture_clsid(0) == "{5C2CD55C-92AD-4999-8666-912BD3E70010}"
    assert unity_capture_clsid(1) == "{5C2CD55C-92AD-4999-8666-912BD3E70012}"  # 0x11 is skipped
    assert unity_capture_clsid(2) == "{5C2CD55C-92AD-4999-8666-912BD3E70013}"
    assert unity_capture_clsid(0, bits=32) == "{5C2CD55C-92AD-4999-8666-912BD3E70020}"


def test_devices_are_read_from_their_class_keys(reg: MemoryClassesRoot, dll: Path) -> None:
    register_unity(reg, LABEL, dll)
    register_unity(reg, f"{LABEL} #2", None, number=1)
    register_unity(reg, "Unity Video Capture", None, bits=32)
    install_obs(reg)

    devices = unity_capture_devices(reg)
    assert [(d.name, d.dll_found) for d in devices] == [(LABEL, True), (f"{LABEL} #2", False)]
    assert find_unity_capture(LABEL, reg) == devices[0] and devices[0].dll == str(dll)
    assert find_unity_capture("Unity Video Capture", reg) is None  # 32-bit only
    assert find_unity_capture("Unity Video Capture", reg, bits=32) is not None
    assert set(video_input_names(reg)) == {LABEL, f"{LABEL} #2", windows.OBS_NAME}


def test_a_name_with_trailing_blanks_matches_like_pyvirtualcam(reg: MemoryClassesRoot, dll: Path) -> None:
    register_unity(reg, LABEL + " \x00", dll)  # pyvirtualcam trims trailing blanks/controls too
    assert find_unity_capture(LABEL, reg) is not None


# --- publishing: pyvirtualcam's Camera with stand-ins of the native backends ------------------

class FakeUnityCapture(FakeCameraBackend):
    """Like pyvirtualcam's native unitycapture backend: a device name must be registered."""

    registry: MemoryClassesRoot = MemoryClassesRoot()
    broken = False

    def __init__(self, *, device: str | None, **kw: Any) -> None:
        names = [d.name for d in unity_capture_devices(self.registry)]
        if self.broken:
            raise RuntimeError("shared memory unavailable")
        if device is not None and device not in names:
            raise RuntimeError("No camera registered with this name.")
        if not names:
            raise RuntimeError("No camera registered. Did you install any camera?")
        super().__init__(device=device or names[0], **kw)


class FakeObs(FakeCameraBackend):
    """Like the native obs backend: only "OBS Virtual Camera", and only when OBS is installed."""

    installed = True

    def __init__(self, *, device: str | None, **kw: Any) -> None:
        if device not in (None, windows.OBS_NAME):
            raise ValueError(f"This backend supports only the '{windows.OBS_NAME}' device.")
        if not self.installed:
            raise RuntimeError("OBS Virtual Camera is not installed in your system.")
        super().__init__(device=windows.OBS_NAME, **kw)


@pytest.fixture
def on_windows(monkeypatch: pytest.MonkeyPatch, reg: MemoryClassesRoot) -> Iterator[MemoryClassesRoot]:
    """The Windows platform module, this fake registry, and the two stand-in backends."""
    saved = dict(pyvirtualcam.camera.BACKENDS)
    monkeypatch.setattr(platform, "_impl", lambda: windows)
    monkeypatch.setattr(windows, "system_registry", lambda: reg)
    monkeypatch.setattr(FakeUnityCapture, "registry", reg)
    monkeypatch.setattr(FakeUnityCapture, "broken", False)
    monkeypatch.setattr(FakeObs, "installed", True)
    pyvirtualcam.register_backend("obs", FakeObs)
    pyvirtualcam.register_backend("unitycapture", FakeUnityCapture)
    FakeCameraBackend.instances.clear()
    yield reg
    pyvirtualcam.camera.BACKENDS.clear()
    pyvirtualcam.camera.BACKENDS.update(saved)


def send_one(sink: VirtualCameraSink) -> np.ndarray:
    image = np.full((WH[1], WH[0], 3), (10, 20, 30), np.uint8)
    sink.send(PublishedFrame(image=image, t=0.0, kind=FrameKind.REDACTED))
    return image


def test_the_device_named_faceblur_cam_is_preferred(on_windows: MemoryClassesRoot, dll: Path) -> None:
    register_unity(on_windows, "Unity Video Capture", dll)
    register_unity(on_windows, LABEL, dll, number=1)
    install_obs(on_windows)

    sink = VirtualCameraSink(WH, 30, label=LABEL)

    backend = FakeCameraBackend.instances[-1]
    assert isinstance(backend, FakeUnityCapture) and sink.device == LABEL
    assert sink.notice is None  # nothing to explain: apps list "FaceBlur Cam"
    image = send_one(sink)
    assert np.array_equal(backend.frames[-1], image)
    sink.close()


def test_without_it_obs_is_used_and_the_status_line_says_its_name(
        on_windows: MemoryClassesRoot, dll: Path, capsys: pytest.CaptureFixture[str]) -> None:
    register_unity(on_windows, "Unity Video Capture", dll)  # another name: not ours
    install_obs(on_windows)

    sink = run_cmd.open_outputs(Config()).vcam

    assert isinstance(FakeCameraBackend.instances[-1], FakeObs)
    assert isinstance(sink, VirtualCameraSink) and sink.device == windows.OBS_NAME
    err = capsys.readouterr().err
    assert 'apps list it as "OBS Virtual Camera", not "FaceBlur Cam"' in err
    assert "faceblur-cam setup" in err
    sink.close()


def test_a_registered_device_that_fails_to_open_falls_back_to_obs(
        on_windows: MemoryClassesRoot, dll: Path, caplog: pytest.LogCaptureFixture) -> None:
    register_unity(on_windows, LABEL, dll)
    FakeUnityCapture.broken = True

    sink = VirtualCameraSink(WH, 30, label=LABEL)

    assert sink.device == windows.OBS_NAME and sink.notice and "OBS Virtual Camera" in sink.notice
    assert "shared memory unavailable" in caplog.text  # why the better choice was not used
    sink.close()


def test_with_neither_the_message_says_how_to_get_faceblur_cam(on_windows: MemoryClassesRoot) -> None:
    FakeObs.installed = False

    with pytest.raises(NoVirtualCamera) as caught:
        VirtualCameraSink(WH, 30, label=LABEL)

    message = str(caught.value)
    assert "OBS Virtual Camera is not installed" in message
    assert 'regsvr32 "UnityCaptureFilter64.dll" "/i:UnityCaptureName=FaceBlur Cam"' in message


def test_a_backend_named_by_hand_is_used_as_is(on_windows: MemoryClassesRoot, dll: Path) -> None:
    register_unity(on_windows, LABEL, dll)
    sink = VirtualCameraSink(WH, 30, label=LABEL, backend="obs")
    assert sink.device == windows.OBS_NAME and sink.notice is None
    sink.close()


# --- setup ------------------------------------------------------------------------------------

def setup_args() -> argparse.Namespace:
    return argparse.Namespace(label=LABEL, apply=True, yes=False)


def test_setup_prints_the_exact_steps_and_runs_nothing(reg: MemoryClassesRoot,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    ran: list[object] = []
    plan = windows.setup_plan(LABEL, lambda: reg)

    assert setup_cmd.run_setup(setup_args(), plan, lambda a, s: ran.append(a) or 0) == 0

    out = capsys.readouterr().out
    assert ran == [] and not plan.ready
    assert "https://github.com/schellingb/UnityCapture" in out
    assert "downloads and installs nothing" in out
    assert '"Run as administrator"' in out
    assert '\n       regsvr32 "UnityCaptureFilter64.dll" "/i:UnityCaptureName=FaceBlur Cam"\n' in out
    assert 'regsvr32 "UnityCaptureFilter64bit.dll" "/i:UnityCaptureName=FaceBlur Cam"' in out
    assert 'apps then list it as "OBS Virtual Camera"' in out
    assert "faceblur-cam doctor" in out


def test_setup_knows_when_it_is_done(reg: MemoryClassesRoot, dll: Path) -> None:
    register_unity(reg, LABEL, dll)
    assert windows.setup_plan(LABEL, lambda: reg).ready


# --- doctor -----------------------------------------------------------------------------------

def checks(reg: MemoryClassesRoot) -> list[tuple[str, Status]]:
    return [(r.name, r.status) for r in windows.virtual_camera_checks(LABEL, lambda: reg)]


def test_doctor_passes_with_the_64_bit_filter_named_faceblur_cam(reg: MemoryClassesRoot, dll: Path) -> None:
    register_unity(reg, LABEL, dll)
    [result] = windows.virtual_camera_checks(LABEL, lambda: reg)
    assert result.status is Status.OK and str(dll) in result.detail and "64-bit" in result.detail


def test_doctor_fails_when_the_registered_filter_file_is_gone(reg: MemoryClassesRoot) -> None:
    register_unity(reg, LABEL, None)
    [result] = windows.virtual_camera_checks(LABEL, lambda: reg)
    assert result.status is Status.FAIL and "filter file is gone" in result.detail
    assert result.fix and '"/i:UnityCaptureName=FaceBlur Cam"' in result.fix


def test_doctor_says_a_32_bit_only_registration_is_not_enough(reg: MemoryClassesRoot, dll: Path) -> None:
    register_unity(reg, LABEL, dll, bits=32)
    assert checks(reg) == [("driver", Status.FAIL), ("64-bit", Status.WARN)]
    install_obs(reg)
    assert checks(reg) == [("driver", Status.OK), ("64-bit", Status.WARN), ("name", Status.WARN)]


def test_doctor_with_obs_only_works_but_warns_about_the_name(reg: MemoryClassesRoot, dll: Path) -> None:
    register_unity(reg, "Unity Video Capture", dll)
    install_obs(reg)
    results = windows.virtual_camera_checks(LABEL, lambda: reg)
    assert [(r.name, r.status) for r in results] == [("driver", Status.OK), ("name", Status.WARN),
                                                     ("name", Status.WARN)]
    assert '"Unity Video Capture", not as "FaceBlur Cam"' in results[1].detail
    report = format_report(results, "FaceBlur Cam doctor")
    assert "Ready for calls." in report and "regsvr32" in report


def test_doctor_fails_with_no_virtual_camera_at_all(reg: MemoryClassesRoot) -> None:
    [result] = windows.virtual_camera_checks(LABEL, lambda: reg)
    assert result.status is Status.FAIL
    assert result.fix and 'regsvr32 "UnityCaptureFilter64.dll" "/i:UnityCaptureName=FaceBlur Cam"' in result.fix


def test_doctor_reports_an_unreadable_registry(reg: MemoryClassesRoot) -> None:
    class Denied(MemoryClassesRoot):
        def value(self, key: str, name: str = "", bits: int = 64) -> str | None:
            raise PermissionError(5, "Access is denied")

    [result] = windows.virtual_camera_checks(LABEL, lambda: Denied())
    assert result.status is Status.FAIL and "Access is denied" in result.detail


@pytest.mark.skipif(sys.platform != "win32", reason="the real registry exists on Windows only")
def test_the_real_registry_is_readable() -> None:  # pragma: no cover - Windows only
    from faceblur_cam.platform.windows_filters import WinClassesRoot

    real = WinClassesRoot()
    assert isinstance(video_input_names(real), list)
    assert isinstance(unity_capture_devices(real), list)


def test_the_commands_read_the_system_registry_by_default(on_windows: MemoryClassesRoot, dll: Path) -> None:
    """``faceblur-cam doctor`` and ``setup`` go through ``platform`` without passing a registry."""
    assert platform.virtual_camera_checks(LABEL)[0].status is Status.FAIL
    assert not platform.setup_plan(LABEL).ready
    register_unity(on_windows, LABEL, dll)
    assert platform.virtual_camera_checks(LABEL)[0].status is Status.OK
    assert platform.setup_plan(LABEL).ready
    assert [c.backend for c in platform.output_choices(LABEL)] == ["unitycapture", "obs"]
