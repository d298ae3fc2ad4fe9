"""Setting up the virtual camera from the tray menu.

Started from the desktop (a menu, the tray, at login) without the "FaceBlur Cam" device, there
is no terminal to print ``faceblur-cam setup``'s instructions to. The tray then shows its error
icon and a "Set up the virtual camera..." item; choosing it runs ``faceblur-cam setup --apply``
in the background (it asks for the password through pkexec: there is no terminal for sudo) and
says in a notification how it went. The device is published to as soon as it appears (see
``outputs.Outputs``: it waits for the missing device with the backoff it reopens a failed one with).

Thread rules: ``needed`` is read from any thread; ``start`` runs on the tray thread and returns
at once, the setup runs on its own thread (at most one at a time) and ``notify`` is called from
there.
"""

from __future__ import annotations

import enum
import logging
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Callable, Sequence

from faceblur_cam import APP_NAME

log = logging.getLogger(__name__)

SETUP_TIMEOUT_S = 600.0  # the password dialog may wait for the user that long
TERMINAL_COMMAND = "faceblur-cam setup --apply"


class Route(enum.Enum):
    RUN = "run setup --apply now (root, or pkexec asks for the password)"
    INSTRUCTIONS = "nothing can be run for the user here (Windows, macOS): show what to install"
    TERMINAL = "root is needed but there is no pkexec: say what to run in a terminal"


def setup_route(has_steps: bool, is_root: bool, has_pkexec: bool) -> Route:
    """How the menu item sets the device up. Pure."""
    if not has_steps:
        return Route.INSTRUCTIONS
    if is_root or has_pkexec:
        return Route.RUN
    return Route.TERMINAL


def setup_command(label: str = APP_NAME) -> list[str]:
    """``faceblur-cam setup --apply`` with this Python (no --yes: a reload that would disconnect
    other programs is refused without a terminal, and then explained)."""
    command = [sys.executable, "-m", "faceblur_cam", "setup", "--apply"]
    return command if label == APP_NAME else [*command, "--label", label]


def _run(argv: Sequence[str]) -> tuple[int, str]:
    """Exit status and output of ``argv``, with no terminal (setup --apply then uses pkexec)."""
    try:
        done = subprocess.run(list(argv), stdin=subprocess.DEVNULL, capture_output=True, text=True,
                              timeout=SETUP_TIMEOUT_S, check=False)
    except (OSError, subprocess.SubprocessError) as exc:
        return 127, str(exc)
    return done.returncode, (done.stdout + done.stderr).strip()


def _is_root() -> bool:
    return os.name == "posix" and os.geteuid() == 0


def _has_pkexec() -> bool:
    return shutil.which("pkexec") is not None


def _has_steps(label: str) -> tuple[bool, str]:
    """(the setup plan has commands to run, its notes for the user)."""
    from faceblur_cam import platform

    plan = platform.setup_plan(label)
    return bool(plan.steps), "\n".join(plan.notes)


class VcamSetup:
    """The "Set up the virtual camera..." menu item's state and action.

    ``ready`` says when the device is there and published to (then the item goes away).
    """

    def __init__(self, ready: Callable[[], bool], label: str = APP_NAME, *,
                 run: Callable[[Sequence[str]], tuple[int, str]] | None = None,
                 plan: Callable[[str], tuple[bool, str]] | None = None,
                 is_root: Callable[[], bool] | None = None,
                 has_pkexec: Callable[[], bool] | None = None):
        """The OS seams default to the real thing."""
        self._ready = ready
        self.label = label
        self._run = run or _run
        self._plan = plan or _has_steps
        self._is_root = is_root or _is_root
        self._has_pkexec = has_pkexec or _has_pkexec
        self._busy = threading.Lock()
        self._thread: threading.Thread | None = None

    def needed(self) -> bool:
        return not self._ready()

    @property
    def explanation(self) -> str:
        return f'No "{self.label}" camera yet: video calls cannot see you'

    def start(self, notify: Callable[[str], None]) -> None:
        """Choose what to do (see ``setup_route``); a run goes on in the background."""
        has_steps, notes = self._plan(self.label)
        route = setup_route(has_steps, self._is_root(), self._has_pkexec())
        log.info("virtual camera setup from the tray: %s", route.name)
        if route is Route.INSTRUCTIONS:
            notify(notes or f'Create the "{self.label}" camera: run {TERMINAL_COMMAND} in a terminal.')
            return
        if route is Route.TERMINAL:
            notify(f'Creating the "{self.label}" camera needs administrator rights: open a terminal '
                   f"and run: {TERMINAL_COMMAND}")
            return
        if not self._busy.acquire(blocking=False):
            notify("The virtual camera is being set up already.")
            return
        self._thread = threading.Thread(target=self._apply, args=(notify,), name="faceblur-setup", daemon=True)
        self._thread.start()

    def wait(self, timeout: float | None = None) -> None:
        """For tests and shutdown: wait for a setup in progress."""
        if self._thread is not None:
            self._thread.join(timeout)

    def _apply(self, notify: Callable[[str], None]) -> None:
        try:
            argv = setup_command(self.label)
            log.info("running: %s", " ".join(argv))
            code, output = self._run(argv)
            log.info("setup ended with status %d: %s", code, output)
            if code == 0:
                notify(f'The "{self.label}" camera is ready: choose it in your video call app.')
                return
            last = output.splitlines()[-1] if output else f"exit status {code}"
            notify(f"Setting up the virtual camera did not finish ({last.removeprefix('faceblur-cam: ')}). "
                   f"Open a terminal and run: {TERMINAL_COMMAND}")
        finally:
            self._busy.release()
