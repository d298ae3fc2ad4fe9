"""End-to-end on a real V4L2 capture driver: the kernel's vivid test webcam, in the vcam VM.

``run-in-vm --webcam`` loads vivid at /dev/video0 next to the v4l2loopback "FaceBlur Cam" at
/dev/video10; the guest script (``guest_webcam_app.py``) runs the real app with its default
settings and checks that it reads vivid (never its own output), in a mode of >= 25 fps as the
driver itself reports, that nothing but cards is published before protection runs, the size of
what is published, the published rate (reported, not promised: the guest CPU is emulated), and
the "no camera" card and recovery within 5 s after vivid's Disconnect control.

Skipped, with the reason, only when the VM itself cannot start (run-in-vm exit status 125, or
the rig is not there). Caps grow with the machine's load like test_vcam_vm.py's.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from test_vcam_vm import GUEST_MARGIN_S, HERE, ROOT, RUN_IN_VM, artifacts_dir, load_scale

pytestmark = pytest.mark.e2e

WEBCAM_VM_TIMEOUT_S = 480  # devices (4 s measurement) + one app start + 10 s of rate + disconnect, emulated


def test_app_reads_the_vivid_webcam_by_default_at_a_fluent_rate_and_recovers(tmp_path: Path) -> None:
    if not RUN_IN_VM.exists():
        pytest.skip(f"the VM rig is not there ({RUN_IN_VM}): cannot start the VM")
    art = artifacts_dir(tmp_path, "webcam")
    timeout = int(WEBCAM_VM_TIMEOUT_S * load_scale())
    cmd = [str(RUN_IN_VM), "--webcam", "--timeout", str(timeout), "--rw", str(art), "--",
           sys.executable, str(HERE / "guest_webcam_app.py"), str(art)]
    budget = {"FACEBLUR_E2E_BUDGET_S": str(max(60, timeout - GUEST_MARGIN_S))}
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=timeout + 120,
                          env={**os.environ, **budget})
    output = proc.stdout + proc.stderr
    print(output)
    if proc.returncode == 125:
        pytest.skip("the VM could not start (run-in-vm exit 125): " + proc.stderr.strip()[-1500:])
    assert proc.returncode != 124, f"the VM run timed out after {timeout}s:\n{output[-4000:]}"
    assert proc.returncode == 0 and "ALL PASSED" in proc.stdout, \
        f"guest checks failed (exit {proc.returncode}):\n{output[-6000:]}"
    for phase in ("devices: vivid is listed", "is not offered as a camera", "default: the app opened the vivid",
                  "mode: the driver runs the stream at", "start-up:", "published frames are",
                  "disconnect: the 'no camera' card", "disconnect: camera frames are back"):
        assert any(line.startswith("PASS") and phase in line for line in output.splitlines()), \
            f"phase missing from the guest output: {phase}"
