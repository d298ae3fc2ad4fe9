"""What a failed virtual-camera setup and a missing device say (issue 24): which step failed and
why (apt could not find the kernel headers), not "exit status 100"; the log line about the
missing device is whole, not cut after "Create it with:"."""

from __future__ import annotations

import logging
import stat
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest

from faceblur_cam.commands import run as run_cmd
from faceblur_cam.commands import setup as setup_cmd
from faceblur_cam.config import Config
from faceblur_cam.platform.linux import virtual_camera_hint
from faceblur_cam.platform.plan import SetupPlan, Step
from faceblur_cam.sinks.vcam import NoVirtualCamera
from faceblur_cam.tray.vcam_setup import VcamSetup

HEADERS = "linux-headers-6.1.0-99-amd64"


def fake_apt(folder: Path) -> Path:
    """An ``apt-get`` that fails the way Debian's does on a kernel without a headers package."""
    script = folder / "apt-get"
    script.write_text(f"#!{sys.executable}\nimport sys\n"
                      "print('Reading package lists...')\n"
                      f"print('E: Unable to locate package {HEADERS}', file=sys.stderr)\n"
                      "sys.exit(100)\n")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return script


def test_failed_install_step_says_which_step_and_why(tmp_path: Path, capsys) -> None:
    apt = fake_apt(tmp_path)
    plan = SetupPlan(steps=[Step("install v4l2loopback for this kernel", (str(apt), "install", "-y", HEADERS)),
                            Step("load it", ("true",))])
    assert setup_cmd.apply_plan(plan, ()) == 100
    err = capsys.readouterr().err
    said = [line for line in err.splitlines() if line.startswith("faceblur-cam:")]
    assert len(said) == 1, err
    assert "install v4l2loopback for this kernel" in said[0]
    assert "kernel headers" in said[0] and HEADERS in said[0]
    assert f"Unable to locate package {HEADERS}" in err  # apt's own words still reach the terminal

    # the tray's "Set up the virtual camera..." shows that same sentence in its notification
    notes: list[str] = []

    def run(argv: Sequence[str]) -> tuple[int, str]:
        return 100, err.strip()

    setup = VcamSetup(lambda: False, run=run, plan=lambda label: (True, ""), is_root=lambda: False,
                      has_pkexec=lambda: True)
    setup.start(notes.append)
    setup.wait(10)
    assert len(notes) == 1 and "exit status 100" not in notes[0]
    assert "kernel headers" in notes[0] and "install v4l2loopback" in notes[0]


def test_missing_device_log_line_is_whole(monkeypatch: pytest.MonkeyPatch, caplog) -> None:
    import faceblur_cam.app as app
    import faceblur_cam.tray.backend as backend

    def no_device(config: Config) -> object:
        raise NoVirtualCamera(virtual_camera_hint("FaceBlur Cam"))

    shown: list[str] = []
    monkeypatch.setattr(app, "open_virtual_camera", no_device)
    monkeypatch.setattr(backend, "notify_without_tray", lambda title, message: shown.append(message))
    caplog.set_level(logging.WARNING, "faceblur_cam.commands.run")
    outputs = run_cmd.open_outputs(Config(), from_desktop=True)
    assert outputs.vcam is None and outputs.vcam_missing  # the engine waits for the device
    line = next(r.getMessage() for r in caplog.records if "no virtual camera" in r.getMessage())
    assert not line.rstrip().endswith(":"), line
    assert "faceblur-cam setup --apply" in line and "Set up the virtual camera" in line
    assert shown and "Create it with: Choose" not in shown[0] and "faceblur-cam setup --apply" in shown[0]
