"""Logging set-up: console (warnings, or everything with ``--verbose``) and, for the daemon, a
rotating file in the user log dir (``~/.local/state/faceblur-cam/log/faceblur-cam.log`` on
Linux, ``~/Library/Logs/faceblur-cam`` on macOS, ``%LOCALAPPDATA%\\faceblur-cam\\Logs`` on
Windows).
"""

from __future__ import annotations

import logging
import logging.handlers
from pathlib import Path

import platformdirs

from faceblur_cam.config import APP_DIR_NAME

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
LOG_FILE_BYTES = 1_000_000
LOG_FILE_BACKUPS = 3


def setup_console_logging(verbose: bool = False) -> None:
    root = logging.getLogger()
    if any(getattr(h, "_faceblur_console", False) for h in root.handlers):
        return
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    handler.setLevel(logging.DEBUG if verbose else logging.WARNING)
    handler._faceblur_console = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(logging.DEBUG if verbose else logging.INFO)


def log_dir() -> Path:
    return Path(platformdirs.user_log_dir(APP_DIR_NAME, appauthor=False))


def setup_file_logging(folder: Path | None = None) -> Path | None:
    """Log INFO and above to ``<folder>/faceblur-cam.log`` (rotated at 1 MB, 3 kept).

    Returns the file's path, or None when the folder cannot be created (logged to the console).
    """
    root = logging.getLogger()
    for handler in root.handlers:
        if getattr(handler, "_faceblur_file", None):
            return Path(handler._faceblur_file)  # type: ignore[attr-defined]
    path = (folder or log_dir()) / "faceblur-cam.log"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        file_handler = logging.handlers.RotatingFileHandler(
            path, maxBytes=LOG_FILE_BYTES, backupCount=LOG_FILE_BACKUPS, encoding="utf-8")
    except OSError as exc:
        logging.getLogger(__name__).warning("cannot write the log file %s: %s", path, exc)
        return None
    file_handler.setFormatter(logging.Formatter(LOG_FORMAT))
    file_handler.setLevel(logging.INFO)
    file_handler._faceblur_file = str(path)  # type: ignore[attr-defined]
    root.addHandler(file_handler)
    if root.level > logging.INFO or root.level == logging.NOTSET:
        root.setLevel(logging.INFO)
    return path
