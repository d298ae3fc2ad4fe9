"""Shared fixtures. Evaluation data comes from ../shared/eval (never copied into the repo)."""

from __future__ import annotations

import atexit
import json
import logging
import os
import shutil
import sys
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))  # bench/evaluate.py: the scoring code shared with bench

os.environ.setdefault("PYSTRAY_BACKEND", "dummy")


def _own_user_dirs() -> None:
    """This test process's own runtime, state and config folders (the instance lock, the log file,
    settings): tests never touch the user's real ones, and test processes run side by side
    (pytest-xdist workers) never take each other's instance lock or settings."""
    base = Path(tempfile.mkdtemp(prefix="faceblur-tests-"))
    atexit.register(shutil.rmtree, base, ignore_errors=True)
    for kind in ("RUNTIME_DIR", "STATE_HOME", "CONFIG_HOME"):
        folder = base / kind.lower()
        folder.mkdir(mode=0o700)
        os.environ[f"XDG_{kind}"] = str(folder)


_own_user_dirs()


def _eval_dir() -> Path:
    return Path(os.environ.get("FACEBLUR_EVAL_DIR", ROOT.parent / "shared" / "eval"))


@pytest.fixture(scope="session")
def eval_dir() -> Path:
    path = _eval_dir()
    if not path.is_dir():
        if os.environ.get("FACEBLUR_ALLOW_NO_EVAL"):
            pytest.skip(f"no evaluation data at {path}")
        pytest.fail(f"evaluation data missing at {path}: check out ../shared beside the repo "
                    "(or set FACEBLUR_ALLOW_NO_EVAL=1 to skip these tests)")
    return path


@pytest.fixture(scope="session")
def detector():
    from faceblur_cam.detect import load_detector

    return load_detector()


@pytest.fixture(scope="session")
def dlib_images(eval_dir):
    """[(image BGR, [[x, y, w, h], ...])] for the 9 dlib photos (43 faces)."""
    import cv2

    gt = json.loads((eval_dir / "dlib_faces" / "gt.json").read_text())
    return [(cv2.imread(str(eval_dir / "dlib_faces" / im["file"])), [b["xywh"] for b in im["boxes"]])
            for im in gt["images"]]


def textured_frame(wh=(320, 240), seed=0) -> np.ndarray:
    """A deterministic frame full of fine detail (so any blur or copy is detectable)."""
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (wh[1], wh[0], 3), dtype=np.uint8)


PARTS = ("all", "rest", "vm", "alone")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--part", choices=PARTS, default="all",
                     help="which tests: all (default); vm: those marked 'vm' (a VM); alone: those marked "
                          "'alone' (they make their own load); rest: the others. tests/run.sh runs the VM "
                          "ones beside the rest, then the 'alone' ones by themselves")


def _part(item: pytest.Item) -> str:
    for name in ("vm", "alone"):
        if item.get_closest_marker(name) is not None:
            return name
    return "rest"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """``--part``, then the longest tests first (the sweeps over the evaluation data): with ``-n 2``
    (tests/run.sh) each worker starts on one while the other takes the short ones, so neither
    is left with a long test at the end. The order is otherwise unchanged."""
    part = config.getoption("--part")
    if part != "all":
        keep: list[pytest.Item] = []
        drop: list[pytest.Item] = []
        for item in items:
            (keep if _part(item) == part else drop).append(item)
        if drop:
            config.hook.pytest_deselected(items=drop)
            items[:] = keep
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)


@pytest.fixture(autouse=True)
def _instance_clients_finish() -> Iterator[None]:
    """A test that served the single-instance channel (``InstanceLock.serve``) may leave a client
    thread dropping a silent client up to 2 s later, and logging it: it ends inside its test,
    not after pytest has closed that test's log capture ("Logging error ... closed file")."""
    yield
    for thread in threading.enumerate():
        if thread.name == "faceblur-instance-client":
            thread.join(30)


@pytest.fixture(autouse=True)
def _app_logging_removed() -> Iterator[None]:
    """A test that runs the CLI in this process (``cli.main``) leaves the app's console and file
    log handlers on the root logger; the console one writes to that test's captured stderr, which
    pytest closes after it, so a later log line from any thread printed "Logging error ... I/O
    operation on closed file". The app's handlers a test added are removed after it."""
    root = logging.getLogger()
    before = set(root.handlers)
    yield
    for handler in list(root.handlers):
        if handler not in before and (getattr(handler, "_faceblur_console", False)
                                      or getattr(handler, "_faceblur_file", None)):
            root.removeHandler(handler)
            handler.close()
