#!/usr/bin/env bash
# Installs everything the test suite needs on a fresh Debian/Ubuntu machine and runs it:
#   bash tests/run.sh [--fast] [pytest args...]
# --fast: the same install and checks, then only the tests that need no VM, no tray and no sweep
# over the whole evaluation data (day-to-day work); without it, everything (what CI runs).
# - Debian packages from tests/apt-packages.txt (apt-get as root, or sudo -n);
# - a virtualenv in .venv with the package installed editable plus its test extras;
# - ruff and mypy over src/, tests/ and bench/ (the lint and type checks fail the run);
# - pytest over tests/ on two or more workers (real inference on ../shared/eval when it is there).
set -euo pipefail
cd "$(dirname "$0")/.."

PY=${PYTHON:-python3}
want=$(grep -v '^\s*#' tests/apt-packages.txt | awk 'NF{print $1}')
missing=()
for pkg in $want; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
# Debian/Ubuntu split venv's pip bootstrap (ensurepip) into python3-venv: without it
# "python3 -m venv" fails
if [ ! -x .venv/bin/python ] && ! "$PY" -c "import ensurepip, venv" 2>/dev/null; then
    missing+=("python3-venv")
fi
if [ ${#missing[@]} -gt 0 ]; then
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo -n"
    echo "tests/run.sh: installing Debian packages: ${missing[*]}"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

[ -x .venv/bin/python ] || "$PY" -m venv .venv
# an older .venv may hold the full opencv-python, which Linux no longer uses (it is
# opencv-python-headless now): both in one environment overwrite each other's cv2
if [ "$(uname -s)" = Linux ] && .venv/bin/python -m pip show -q opencv-python >/dev/null 2>&1; then
    .venv/bin/python -m pip uninstall -q -y opencv-python opencv-python-headless
fi
.venv/bin/python -m pip install -q --disable-pip-version-check -e ".[test]"

fast=()
if [ "${1:-}" = "--fast" ]; then
    shift
    fast=(--ignore=tests/e2e -m "not slow and not e2e and not vm and not alone")
fi
echo "tests/run.sh: ruff check"
.venv/bin/python -m ruff check --quiet src tests bench
echo "tests/run.sh: mypy"
.venv/bin/python -m mypy src
.venv/bin/python -m mypy --config-file tests/mypy-tests.ini tests bench
# Three runs of pytest, one exit status:
# - the VM tests (marker "vm"), in the background, their output shown when they end;
# - beside them, at a lower priority (nice 10: the emulated CPU of a VM sharing the cores evenly
#   with the other tests ran three times slower), everything else on two workers (pytest-xdist;
#   more where there are more cores, up to 4; the sweeps over the evaluation data start first,
#   see tests/conftest.py);
# - then the tests marked "alone" by themselves: they make their own load (a CPU hog, a stalled
#   encoder) and judge what it does, or time sound in real time.
# The fast tier leaves out the VM and "alone" tests: it runs the middle run only. "-n 0" after
# the command runs the middle run in one process. Exit status 5 (nothing selected, e.g.
# "tests/run.sh tests/test_keep_me.py" has no VM test) counts as success unless every run says it.
py=.venv/bin/python
if [ ${#fast[@]} -gt 0 ]; then
    exec "$py" -m pytest -n auto --maxprocesses 4 --dist loadgroup "${fast[@]}" "$@"
fi
vm_log=$(mktemp)
# the VM's waits are caps scaled by the load it sees at its start, before the others begin: 1.5x at least
FACEBLUR_TEST_SLOWDOWN="${FACEBLUR_TEST_SLOWDOWN:-1.5}" "$py" -m pytest -n 0 --part=vm "$@" >"$vm_log" 2>&1 &
vm_pid=$!
trap 'kill $vm_pid 2>/dev/null || true; rm -f "$vm_log"' EXIT
rest=0
nice -n 10 "$py" -m pytest -n auto --maxprocesses 4 --dist loadgroup --part=rest "$@" || rest=$?
vm=0
wait $vm_pid || vm=$?
echo "tests/run.sh: the VM tests (run beside the others):"
cat "$vm_log"
alone=0
"$py" -m pytest -n 0 --part=alone "$@" || alone=$?
if [ $rest -eq 5 ] && [ $vm -eq 5 ] && [ $alone -eq 5 ]; then
    exit 5
fi
for status in $rest $vm $alone; do
    if [ "$status" -ne 0 ] && [ "$status" -ne 5 ]; then
        exit "$status"
    fi
done
exit 0
