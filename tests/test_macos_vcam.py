"""macOS: what pyvirtualcam's OBS backend needs on this Mac, checked with fakes on every platform.

pyvirtualcam talks to OBS's camera extension on macOS 13+ (Darwin 22+) and to OBS's DAL plug-in
on macOS 11-12; the doctor checks the one this Mac's pyvirtualcam will use. Publishing goes to
"OBS Virtual Camera", and the status line says so.
"""

from __future__ import annotations

from typing import Any

import pytest
import pyvirtualcam

from faceblur_cam import platform
from faceblur_cam.doctor.result import Status
from faceblur_cam.platform import macos
from faceblur_cam.sinks.fake_vcam import FakeCameraBackend
from faceblur_cam.sinks.vcam import VirtualCameraSink

LABEL = "FaceBlur Cam"
APPROVED = f"*\t*\tABCDE12345\t{macos.EXTENSION_ID} (30.2.0/30.2.0)\t[activated enabled]"


def checks(darwin: int, plugin: bool = False, version: str | None = "30.2.0", state: str = APPROVED) -> list:
    return macos.virtual_camera_checks(LABEL, lambda: version, lambda: state, darwin=lambda: darwin,
                                       exists=lambda path: plugin and path == macos.DAL_PLUGIN)


def test_macos_11_and_12_need_the_dal_plugin_not_the_extension() -> None:
    for darwin in (20, 21):  # macOS 11, 12
        [found] = checks(darwin, plugin=True, version=None, state="")
        assert found.status is Status.OK and macos.DAL_PLUGIN in found.detail
        assert '"OBS Virtual Camera"' in found.detail
        [missing] = checks(darwin, plugin=False, version="30.2.0", state=APPROVED)
        assert missing.status is Status.FAIL and missing.fix and "Start Virtual Camera" in missing.fix


def test_macos_13_and_newer_need_the_approved_extension() -> None:
    for darwin in (22, 23, 24, 25):
        assert all(r.ok for r in checks(darwin))
        assert [r.status for r in checks(darwin, plugin=True, state="")] == [Status.OK, Status.FAIL]
        assert checks(darwin, version="29.1.3")[0].status is Status.FAIL


def test_publishing_goes_to_obs_and_says_apps_list_it_as_obs_virtual_camera(
        monkeypatch: pytest.MonkeyPatch) -> None:
    class FakeObs(FakeCameraBackend):
        def __init__(self, *, device: str | None, **kw: Any) -> None:
            super().__init__(device="OBS Virtual Camera", **kw)

    saved = dict(pyvirtualcam.camera.BACKENDS)
    monkeypatch.setattr(platform, "_impl", lambda: macos)
    pyvirtualcam.register_backend("obs", FakeObs)
    try:
        sink = VirtualCameraSink((64, 48), 30, label=LABEL)
        assert sink.device == "OBS Virtual Camera"
        assert sink.notice and 'apps list it as "OBS Virtual Camera"' in sink.notice
        sink.close()
    finally:
        pyvirtualcam.camera.BACKENDS.clear()
        pyvirtualcam.camera.BACKENDS.update(saved)


def test_setup_says_plainly_what_works() -> None:
    notes = "\n".join(macos.setup_plan(LABEL).notes)
    assert "OBS Studio 30" in notes and '"OBS Virtual Camera"' in notes
