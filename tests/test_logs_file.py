"""The daemon's log file: in the user log dir, rotated, set up once."""

from __future__ import annotations

import logging
import logging.handlers
from collections.abc import Iterator
from pathlib import Path

import pytest

from faceblur_cam.logs import LOG_FILE_BACKUPS, LOG_FILE_BYTES, log_dir, setup_file_logging


@pytest.fixture
def root_handlers() -> Iterator[None]:
    root = logging.getLogger()
    before, level = list(root.handlers), root.level
    yield
    for handler in root.handlers:
        if handler not in before:
            handler.close()
    root.handlers[:] = before
    root.setLevel(level)


def test_the_log_file_rotates_and_is_set_up_once(tmp_path: Path, root_handlers: None) -> None:
    path = setup_file_logging(tmp_path / "log")
    assert path == tmp_path / "log" / "faceblur-cam.log"
    assert setup_file_logging(tmp_path / "elsewhere") == path  # a second call adds nothing
    log = logging.getLogger("faceblur_cam.test")
    log.debug("not kept: below INFO")
    line = "x" * 1000
    for _ in range(LOG_FILE_BYTES // 1000 + 50):
        log.info(line)
    assert path.exists() and path.stat().st_size <= LOG_FILE_BYTES
    assert (tmp_path / "log" / "faceblur-cam.log.1").exists()
    assert not (tmp_path / "log" / f"faceblur-cam.log.{LOG_FILE_BACKUPS + 1}").exists()
    assert "not kept" not in path.read_text() + (tmp_path / "log" / "faceblur-cam.log.1").read_text()


def test_the_default_folder_is_the_user_log_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))  # Linux; other OSes ignore it
    folder = log_dir()
    assert "faceblur-cam" in str(folder)


def test_an_unwritable_folder_does_not_stop_the_app(tmp_path: Path, root_handlers: None) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    assert setup_file_logging(blocker / "log") is None
