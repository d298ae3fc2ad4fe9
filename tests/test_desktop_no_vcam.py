"""Launched from the desktop (tray, menu, at login: no terminal) without the virtual camera: the
app keeps going, the tray shows its error icon and a "Set up the virtual camera..." item that
runs ``faceblur-cam setup --apply`` (pkexec asks for the password), and the device is published
to as soon as it appears. From a terminal the message and exit status 2 stay.

Pure decisions first (launch context, what to do without a device, how setup runs, the menu),
then the engine waiting for the device, the setup runner with real threads, then the real CLI.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import threading
from collections.abc import Sequence
from pathlib import Path

import pytest
from fake_engine_parts import WH, Clock, MarkingPipeline, PatternSource

from faceblur_cam.commands.run import NoDevicePlan, launched_from_desktop, when_no_virtual_camera
from faceblur_cam.config import Config, OutputConfig
from faceblur_cam.engine import Engine, EngineParts, EngineState, EngineStatus
from faceblur_cam.frames import PublishedFrame
from faceblur_cam.placeholders import PlaceholderCards
from faceblur_cam.sinks.vcam import NoVirtualCamera
from faceblur_cam.tray.menu import SETUP_VCAM_TEXT, Action, IconName, TrayFlags, build_menu, icon_name, tooltip
from faceblur_cam.tray.vcam_setup import Route, VcamSetup, setup_command, setup_route


def args(**kw: object) -> argparse.Namespace:
    return argparse.Namespace(**{"no_tray": False, "at_login": False, **kw})


# ----------------------------------------------------------------------------- decisions
@pytest.mark.parametrize(("no_tray", "at_login", "terminal", "desktop"), [
    (False, False, True, False),   # typed in a terminal: the message stays
    (False, False, False, True),   # a menu entry / the tray: no terminal
    (False, True, True, True),     # at login (even if something gave it a terminal)
    (True, True, False, False),    # --no-tray: headless, nothing to show a menu in
    (True, False, False, False),
])
def test_launched_from_desktop(no_tray: bool, at_login: bool, terminal: bool, desktop: bool) -> None:
    assert launched_from_desktop(args(no_tray=no_tray, at_login=at_login), terminal) is desktop


@pytest.mark.parametrize(("preview", "device", "desktop", "plan"), [
    (False, "", False, NoDevicePlan.FAIL),
    (False, "", True, NoDevicePlan.WAIT_FOR_SETUP),
    (True, "", True, NoDevicePlan.PREVIEW_ONLY),
    (True, "", False, NoDevicePlan.PREVIEW_ONLY),
    (False, "/dev/video9", True, NoDevicePlan.FAIL),  # a device named by hand is not ours to create
])
def test_what_to_do_without_a_virtual_camera(preview: bool, device: str, desktop: bool, plan: NoDevicePlan) -> None:
    config = Config(output=OutputConfig(preview=preview, device=device))
    assert when_no_virtual_camera(config, desktop) is plan


@pytest.mark.parametrize(("steps", "root", "pkexec", "route"), [
    (True, False, True, Route.RUN),
    (True, True, False, Route.RUN),
    (True, False, False, Route.TERMINAL),
    (False, False, True, Route.INSTRUCTIONS),  # Windows, macOS: nothing to run for the user
])
def test_setup_route(steps: bool, root: bool, pkexec: bool, route: Route) -> None:
    assert setup_route(steps, root, pkexec) is route


def test_setup_command_is_this_python_without_yes() -> None:
    assert setup_command() == [sys.executable, "-m", "faceblur_cam", "setup", "--apply"]
    assert setup_command("Other")[-2:] == ["--label", "Other"]


def test_the_menu_while_the_virtual_camera_is_missing() -> None:
    status = EngineStatus(state=EngineState.PROTECTING, style="blur", faces=1, fps=30)
    missing = TrayFlags(can_record=True, autostart=False, vcam_missing='No "FaceBlur Cam" camera yet')
    menu = build_menu(status, missing)
    assert [i.text for i in menu[:3]] == ["Protecting: 1 face, 30 fps", 'No "FaceBlur Cam" camera yet',
                                          SETUP_VCAM_TEXT]
    assert not menu[1].enabled and menu[2].action is Action.SETUP_VCAM and menu[2].enabled
    assert [i for i in menu if i.enabled and i.action][0].action is Action.SETUP_VCAM  # first with Down
    assert icon_name(status, missing) is IconName.ERROR
    assert "camera yet" in tooltip(status, missing)
    ready = TrayFlags(can_record=True, autostart=False)
    assert Action.SETUP_VCAM not in [i.action for i in build_menu(status, ready)]
    assert icon_name(status, ready) is IconName.ACTIVE and icon_name(status) is IconName.ACTIVE


# ----------------------------------------------------------------------------- waiting for the device
class FakeSink:
    name = "virtual camera /dev/video9"

    def __init__(self) -> None:
        self.sent: list[float] = []
        self.closed = False

    def send(self, frame: PublishedFrame) -> None:
        self.sent.append(frame.t)

    def close(self) -> None:
        self.closed = True


def test_the_engine_waits_for_the_missing_device_with_backoff_then_publishes() -> None:
    """The missing device is waited for with the engine's one backoff (``outputs.Outputs``), and
    the ``vcam_appeared`` event the tray reads is set by the composition root's opener."""
    tries: list[float] = []
    device_there = [False]
    real = FakeSink()
    appeared = threading.Event()

    def open_real() -> FakeSink:
        tries.append(clock())
        if not device_there[0]:
            raise NoVirtualCamera('No virtual camera named "FaceBlur Cam" was found.')
        appeared.set()
        return real

    clock = Clock()
    parts = EngineParts(open_source=lambda: PatternSource([], fps=30, clock=clock),
                        build_pipeline=lambda: MarkingPipeline([]), placeholders=PlaceholderCards(WH),
                        reopen_output=open_real, virtual_camera_missing=True, fps=30, retry_delays=(0.5, 1.0, 2.0))
    engine = Engine(parts, clock=clock, sleep=clock.sleep)
    start = clock()
    while clock() < start + 3.3:
        assert engine.step()
    frame_s = 1 / 30  # tries happen on frames: each may come up to a frame late
    assert len(tries) == 3 and tries[0] == start and not appeared.is_set()
    assert [b - a for a, b in zip(tries, tries[1:])] == pytest.approx([0.5, 1.0], abs=2 * frame_s)
    assert real.sent == [] and engine.status().event is None  # quiet: the tray says it is missing
    device_there[0] = True  # setup created it
    while clock() < tries[2] + 3.0:
        assert engine.step()
    assert appeared.is_set() and len(tries) == 4 and tries[3] - tries[2] == pytest.approx(2.0, abs=2 * frame_s)
    assert real.sent[0] == pytest.approx(tries[3], abs=frame_s) and len(real.sent) >= 25
    engine.quit()
    while engine.step():
        pass
    assert real.closed


# ----------------------------------------------------------------------------- the setup runner
def test_setup_runs_once_in_the_background_and_says_how_it_went() -> None:
    release = threading.Event()
    ran: list[list[str]] = []
    said: list[str] = []

    def run(argv: Sequence[str]) -> tuple[int, str]:
        ran.append(list(argv))
        release.wait(10)
        return 0, 'Done: "FaceBlur Cam" is /dev/video10.'

    setup = VcamSetup(lambda: False, run=run, plan=lambda label: (True, ""), is_root=lambda: False,
                      has_pkexec=lambda: True)
    assert setup.needed()
    setup.start(said.append)
    setup.start(said.append)  # a second click while the first runs
    release.set()
    setup.wait(10)
    assert ran == [setup_command()]
    assert said == ["The virtual camera is being set up already.",
                    'The "FaceBlur Cam" camera is ready: choose it in your video call app.']


def test_a_failed_setup_says_why_and_what_to_run() -> None:
    said: list[str] = []
    setup = VcamSetup(lambda: False, run=lambda argv: (2, "-> load\nfaceblur-cam: the steps above disconnect "
                                                         "other programs; rerun with --apply --yes"),
                      plan=lambda label: (True, ""), is_root=lambda: False, has_pkexec=lambda: True)
    setup.start(said.append)
    setup.wait(10)
    assert said == ["Setting up the virtual camera did not finish (the steps above disconnect other programs; "
                    "rerun with --apply --yes). Open a terminal and run: faceblur-cam setup --apply"]


def test_without_pkexec_or_steps_it_explains_instead_of_running() -> None:
    said: list[str] = []

    def never(argv: Sequence[str]) -> tuple[int, str]:
        raise AssertionError("must not run")

    VcamSetup(lambda: False, run=never, plan=lambda label: (True, ""), is_root=lambda: False,
              has_pkexec=lambda: False).start(said.append)
    VcamSetup(lambda: False, run=never, plan=lambda label: (False, "Install OBS Studio 26+"), is_root=lambda: False,
              has_pkexec=lambda: True).start(said.append)
    assert "open a terminal and run: faceblur-cam setup --apply" in said[0]
    assert said[1] == "Install OBS Studio 26+"


# ----------------------------------------------------------------------------- the real CLI
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="finds the device through Linux sysfs")
def test_from_a_terminal_a_missing_device_is_still_a_message_and_exit_2(tmp_path: Path, eval_dir: Path) -> None:
    from faceblur_cam import platform

    if platform.find_virtual_camera("FaceBlur Cam") is not None:
        pytest.skip("this machine has the virtual camera")
    runtime = tmp_path / "runtime"
    runtime.mkdir(mode=0o700)
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    env.update(XDG_RUNTIME_DIR=str(runtime), XDG_STATE_HOME=str(tmp_path / "state"),
               XDG_CONFIG_HOME=str(tmp_path / "config"), HOME=str(tmp_path))
    master, slave = os.openpty()  # stdin is a terminal: someone typed the command and reads it
    try:
        result = subprocess.run([sys.executable, "-m", "faceblur_cam", "run", "--source",
                                 str(eval_dir / "otb_girl" / "img")], env=env, capture_output=True, text=True,
                                timeout=60, stdin=slave, check=False)
    finally:
        os.close(master)
        os.close(slave)
    assert result.returncode == 2, result.stderr
    assert 'No virtual camera named "FaceBlur Cam" was found' in result.stderr
    assert "faceblur-cam setup --apply" in result.stderr and "Traceback" not in result.stderr
