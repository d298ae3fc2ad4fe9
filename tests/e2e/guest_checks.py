"""What every guest script (``guest_*.py``, run inside the vcam VM) reports and waits with.

``check`` prints one PASS/FAIL line (the host's test reads them) and remembers the failures;
``left`` is a wait's cap: the caller's seconds times the host's load factor
(``FACEBLUR_E2E_SLOWDOWN``), cut to what is left of the guest's budget (``FACEBLUR_E2E_BUDGET_S``,
which ends before the VM is killed) so that the guest reports instead of being killed.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

failures: list[str] = []
t_start = time.monotonic()
BUDGET_S = float(os.environ.get("FACEBLUR_E2E_BUDGET_S", "540"))
SLOWDOWN = float(os.environ.get("FACEBLUR_E2E_SLOWDOWN", "1"))
APP_MAIN = Path(__file__).resolve().parent / "guest_app_main.py"


def left(timeout: float) -> float:
    """``timeout`` times the host's load factor, cut to what is left of the budget (at least 5 s)."""
    return max(5.0, min(timeout * SLOWDOWN, t_start + BUDGET_S - time.monotonic()))


def check(ok: bool, what: str) -> bool:
    print(f"{'PASS' if ok else 'FAIL'} [{time.monotonic() - t_start:6.1f}s] {what}", flush=True)
    if not ok:
        failures.append(what)
    return ok


def device_by_label(label: str) -> str | None:
    """Independent of the app's own lookup: the video device whose sysfs name is ``label``."""
    base = Path("/sys/class/video4linux")
    for entry in sorted(base.iterdir()):
        if (entry / "name").read_text().strip() == label:
            return f"/dev/{entry.name}"
    return None


def start_app(log_path: Path, *run_args: str) -> subprocess.Popen[bytes]:
    """``faceblur-cam -v run --no-tray RUN_ARGS...`` (through guest_app_main.py), output to ``log_path``."""
    return subprocess.Popen([sys.executable, str(APP_MAIN), "-v", "run", "--no-tray", *run_args],
                            stdout=open(log_path, "wb"), stderr=subprocess.STDOUT)


def stop_app(proc: subprocess.Popen[bytes], log_path: Path, what: str = "app") -> None:
    """SIGTERM, then check the exit status is 0 with no traceback (the log's tail printed if not)."""
    proc.send_signal(signal.SIGTERM)
    try:
        code = proc.wait(60)
    except subprocess.TimeoutExpired:
        proc.kill()
        code = proc.wait()
    output = log_path.read_text(errors="replace")
    check(code == 0 and "Traceback" not in output, f"{what}: SIGTERM -> exit status {code}, no traceback")
    if code != 0 or "Traceback" in output:
        print(output[-3000:])
