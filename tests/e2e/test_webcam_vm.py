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

from pathlib import Path

import pytest
from test_vcam_vm import artifacts_dir, run_in_vm

pytestmark = [pytest.mark.e2e, pytest.mark.vm]

WEBCAM_VM_TIMEOUT_S = 480  # devices (4 s measurement) + one app start + 10 s of rate + disconnect, emulated


def test_app_reads_the_vivid_webcam_by_default_at_a_fluent_rate_and_recovers(tmp_path: Path) -> None:
    output = run_in_vm("guest_webcam_app.py", [], artifacts_dir(tmp_path, "webcam"), timeout=WEBCAM_VM_TIMEOUT_S,
                       webcam=True)
    for phase in ("devices: vivid is listed", "is not offered as a camera", "default: the app opened the vivid",
                  "mode: the driver runs the stream at", "start-up:", "published frames are",
                  "disconnect: the 'no camera' card", "disconnect: camera frames are back"):
        assert any(line.startswith("PASS") and phase in line for line in output.splitlines()), \
            f"phase missing from the guest output: {phase}"
