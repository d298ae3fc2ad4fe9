"""tests/run.sh on a stock Debian/Ubuntu: installs python3-venv when ``python3 -m venv`` cannot work.

The real script runs in a copy of the repository layout, with ``apt-get``, ``dpkg-query`` and
the Python it is given replaced by recording stand-ins on PATH (nothing is installed for real).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="a Debian/Ubuntu script")

FAKE_PYTHON = """#!/bin/sh
echo "python $*" >> "$CALLS"
if [ "$1" = "-c" ]; then  # "import ensurepip, venv": only once python3-venv is installed
    [ -f "$STATE/python3-venv" ]; exit $?
fi
if [ "$1 $2" = "-m venv" ]; then
    mkdir -p "$3/bin" && cp "$0" "$3/bin/python"
fi
if [ "$1 $2" = "-m pytest" ]; then
    case "$*" in
        *--part=vm*) exit "${VM_STATUS:-0}" ;;
        *--part=alone*) exit "${ALONE_STATUS:-0}" ;;
        *) exit "${REST_STATUS:-0}" ;;
    esac
fi
exit 0
"""
FAKE_APT = """#!/bin/sh
echo "apt-get $*" >> "$CALLS"
for arg in "$@"; do [ "$arg" = python3-venv ] && touch "$STATE/python3-venv"; done
exit 0
"""
FAKE_DPKG_QUERY = """#!/bin/sh
echo "install ok installed"
"""


def run_script(tmp_path: Path, venv_available: bool, expect: int = 0, args: tuple[str, ...] = ("-q",),
               **statuses: int) -> list[str]:
    repo, bin_dir, state = tmp_path / "repo", tmp_path / "bin", tmp_path / "state"
    (repo / "tests").mkdir(parents=True)
    shutil.copy(ROOT / "tests" / "run.sh", repo / "tests" / "run.sh")
    shutil.copy(ROOT / "tests" / "apt-packages.txt", repo / "tests" / "apt-packages.txt")
    for d in (bin_dir, state):
        d.mkdir()
    for name, text in [("python3", FAKE_PYTHON), ("apt-get", FAKE_APT), ("dpkg-query", FAKE_DPKG_QUERY),
                       ("sudo", '#!/bin/sh\nexec "$@"\n')]:
        (bin_dir / name).write_text(text)
        (bin_dir / name).chmod(0o755)
    if venv_available:
        (state / "python3-venv").touch()
    calls = tmp_path / "calls"
    env = {"PATH": f"{bin_dir}:/usr/bin:/bin", "CALLS": str(calls), "STATE": str(state), "HOME": str(tmp_path),
           **{name.upper(): str(code) for name, code in statuses.items()}}
    result = subprocess.run(["bash", str(repo / "tests" / "run.sh"), *args], env=env, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == expect, result.stderr
    return calls.read_text().splitlines()


def test_installs_python3_venv_when_venv_cannot_work_then_creates_the_venv(tmp_path: Path) -> None:
    calls = run_script(tmp_path, venv_available=False)
    installs = [i for i, c in enumerate(calls) if c.startswith("apt-get install")]
    assert len(installs) == 1 and "python3-venv" in calls[installs[0]].split()
    created = calls.index("python -m venv .venv")
    assert installs[0] < created
    assert sorted(calls[-3:]) == ["python -m pytest -n 0 --part=alone -q", "python -m pytest -n 0 --part=vm -q",
                                  "python -m pytest -n auto --maxprocesses 4 --dist loadgroup --part=rest -q"]
    assert calls[-1] == "python -m pytest -n 0 --part=alone -q"


def test_leaves_apt_alone_when_everything_is_there(tmp_path: Path) -> None:
    calls = run_script(tmp_path, venv_available=True)
    assert not any(c.startswith("apt-get") for c in calls)
    assert "python -m venv .venv" in calls
    assert os.path.basename(calls[-1].split()[0]) == "python"


@pytest.mark.parametrize(("rest", "vm", "alone", "expect"), [
    (1, 0, 0, 1),  # a failure in one run is not hidden by the others
    (0, 1, 0, 1),
    (0, 0, 1, 1),
    (2, 0, 1, 2),  # the first failure's status
    (5, 0, 5, 0),  # nothing selected in some runs (a single test file): fine
    (0, 5, 5, 0),
    (5, 5, 5, 5),  # nothing selected at all: pytest's own "no tests ran"
])
def test_every_pytest_run_decides_the_exit_status(tmp_path: Path, rest: int, vm: int, alone: int,
                                                  expect: int) -> None:
    calls = run_script(tmp_path, venv_available=True, expect=expect, rest_status=rest, vm_status=vm,
                       alone_status=alone)
    assert sum(c.startswith("python -m pytest") for c in calls) == 3  # every run happens either way


def test_the_fast_tier_is_one_run_on_the_workers(tmp_path: Path) -> None:
    calls = run_script(tmp_path, venv_available=True, expect=3, args=("--fast", "-q"), rest_status=3)
    runs = [c for c in calls if c.startswith("python -m pytest")]
    assert runs == ["python -m pytest -n auto --maxprocesses 4 --dist loadgroup --ignore=tests/e2e "
                    "-m not slow and not e2e and not vm and not alone -q"]
