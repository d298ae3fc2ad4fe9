"""Logging set-up: console (warnings, or everything with ``--verbose``)."""

from __future__ import annotations

import logging


def setup_console_logging(verbose: bool = False) -> None:
    root = logging.getLogger()
    if any(getattr(h, "_faceblur_console", False) for h in root.handlers):
        return
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.setLevel(logging.DEBUG if verbose else logging.WARNING)
    handler._faceblur_console = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
