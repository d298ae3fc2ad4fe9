"""The pystray adapter and the tray runner, driven through a recording pystray backend.

``RecordingIcon`` is a pystray ``Icon`` backend (same contract as pystray's own: ``_run``,
``_stop``, ``_update_*``, ``_notify``) that records what the tray asked for, so menu clicks,
icon swaps and notifications are checked against a real ``Engine`` without a desktop.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pystray
import pytest
from evaluate import eval_dir
from fake_engine_parts import PatternSource, Rig
from pystray import _base

from faceblur_cam.autostart import get_autostart
from faceblur_cam.config import Config, RecordingConfig
from faceblur_cam.engine import EngineState
from faceblur_cam.keep_me import KeepState
from faceblur_cam.recording_choice import RecordingChoice
from faceblur_cam.sources import SourceError
from faceblur_cam.sources.microphone import InputDevice
from faceblur_cam.tray import runner
from faceblur_cam.tray.actions import TrayActions
from faceblur_cam.tray.adapter import STATUS_TEXT_REFRESH_S, TrayIcon, TrayView, menu_needs_rebuild
from faceblur_cam.tray.backend import TrayBackend, TrayUnavailable, load_backend
from faceblur_cam.tray.icons import load_icon
from faceblur_cam.tray.menu import IconName, MenuItem

# caps for a loaded 2-core run: each wait ends as soon as its condition holds (quiet: well
# under a second); CI once took more than 5 s to list the microphones again
CAP_S = 60.0


class RecordingIcon(_base.Icon):
    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.notifications: list[str] = []
        self.menu_updates = 0
        self._stopped = threading.Event()

    def _show(self) -> None: ...
    def _hide(self) -> None: ...
    def _update_icon(self) -> None: ...
    def _update_title(self) -> None: ...
    def _remove_notification(self) -> None: ...

    def _update_menu(self) -> None:
        self.menu_updates += 1

    def _notify(self, message: str, title: str | None = None) -> None:
        self.notifications.append(message)

    def _run(self) -> None:
        self._mark_ready()
        self._stopped.wait(5 * CAP_S)  # the loop: until stopped (the cap only ends a test that never quits)

    def _stop(self) -> None:
        self._stopped.set()


BACKEND = TrayBackend("recording", SimpleNamespace(Icon=RecordingIcon, Menu=pystray.Menu,
                                                     MenuItem=pystray.MenuItem))


class Tray:
    """A TrayIcon on a Rig's engine, its loop on a thread (the fake backend does not care)."""

    icon: TrayIcon

    def __init__(self, rig: Rig, tmp_path: Path, **sound: Any):
        self.rig = rig
        self.opened: list[Path] = []
        self.folder = tmp_path / "Videos" / "FaceBlur Cam"
        self.actions = TrayActions(rig.engine, autostart=get_autostart(), folder=self.folder,
                                   open_folder=self.opened.append, notify=lambda m: None,
                                   on_quit=lambda: self.icon.stop(), **sound)
        self.icon = TrayIcon(BACKEND, rig.engine.status(), self.actions)
        rig.engine.subscribe(self.icon.on_status)
        self.pystray_icon: RecordingIcon = self.icon._icon
        self.thread = threading.Thread(target=self.icon.run, daemon=True)
        self.thread.start()

    def items(self, menu: Any = None) -> list[Any]:
        return [i for i in (menu or self.pystray_icon.menu).items if i is not pystray.Menu.SEPARATOR]

    def texts(self) -> list[str]:
        return [i.text for i in self.items()]

    def item(self, text: str, menu: Any = None) -> Any:
        (found,) = [i for i in self.items(menu) if i.text == text]
        return found

    def click(self, text: str, parent: str | None = None) -> None:
        menu = self.item(parent).submenu if parent else None
        item = self.item(text, menu)
        assert item.enabled, f"{text} is disabled"
        item(self.pystray_icon)

    def wait_until(self, predicate: Callable[[], bool], what: str, timeout: float = CAP_S) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            assert time.monotonic() < deadline, what
            time.sleep(0.01)

    def wait_menu(self, text: str, timeout: float = CAP_S) -> None:
        deadline = time.monotonic() + timeout
        while text not in self.texts() and not any(t.startswith(text) for t in self.texts()):
            assert time.monotonic() < deadline, f"{text!r} not in {self.texts()}"
            time.sleep(0.01)

    def shows_icon(self, name: str) -> bool:
        return np.array_equal(np.asarray(self.pystray_icon.icon), np.asarray(load_icon(name)))


@pytest.fixture(autouse=True)
def private_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The login entry is written for real, so under a temporary home."""
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))


def test_menu_clicks_drive_the_engine_and_the_icon_follows(tmp_path: Path) -> None:
    with Rig(recorder=True, threaded=True) as rig:
        tray = Tray(rig, tmp_path)
        tray.wait_menu("Protecting")
        assert tray.shows_icon("active")
        assert tray.texts()[1:] == ["Pause", "Start recording", "Style", "Keep me visible", "Show preview",
                                    "Start at login", "Open recordings folder", "Quit"]

        tray.click("Pause")
        rig.wait_state(EngineState.PAUSED)
        tray.wait_menu("Resume")
        assert tray.shows_icon("paused")
        assert rig.log[-1] == "close"

        tray.click("Resume")
        rig.wait_state(EngineState.PROTECTING)
        tray.wait_menu("Pause")
        assert tray.shows_icon("active")

        tray.click("Solid", parent="Style")
        rig.wait_for(lambda s: s.style == "solid")
        tray.wait_menu("Pause")
        tray.wait_until(lambda: any(i.checked for i in tray.item("Style").submenu if i.text == "Solid"),
                        "the menu rebuilt with the new style")
        style = tray.item("Style").submenu
        assert [i.text for i in style if i.checked] == ["Solid"]

        tray.click("Start recording")
        rig.wait_for(lambda s: s.recording)
        tray.wait_menu("Stop recording")
        assert tray.shows_icon("recording")
        tray.click("Stop recording")
        rig.wait_for(lambda s: not s.recording)

        tray.click("Open recordings folder")
        assert tray.opened == [tray.folder] and tray.folder.is_dir()

        tray.click("Quit")
        tray.thread.join(CAP_S)
        assert not tray.thread.is_alive()
        assert rig.engine.wait(CAP_S)
    rig.assert_never_raw()


def test_a_menu_refresh_that_read_first_does_not_store_last(tmp_path: Path) -> None:
    """Two refreshes of the menu at once: one read the flags before a microphone was plugged in
    and is slow to finish (listing the cameras), the other, after the new listing, reads the
    newer list. The menu must end with the newer list, not with what the slow one read (seen once
    in a clean-clone run: "Headset" never appeared after "Look for microphones again")."""
    from faceblur_cam.platform.linux_cameras import CameraInfo
    from faceblur_cam.sources.camera_choice import CameraChoice

    mics = [InputDevice("USB Mic", "USB Mic", default=True)]
    slow, inside, release = threading.Event(), threading.Event(), threading.Event()

    def list_cameras() -> list[CameraInfo]:
        if slow.is_set() and not inside.is_set():
            inside.set()
            release.wait(CAP_S)
        return [CameraInfo("/dev/video0", "Integrated Camera", "Integrated Camera @ usb-1")]

    with Rig(recorder=True, threaded=True) as rig:
        tray = Tray(rig, tmp_path, recording=RecordingChoice(RecordingConfig()), list_microphones=lambda: list(mics),
                    camera=CameraChoice(0), list_cameras=list_cameras)
        tray.wait_until(lambda: "USB Mic" in [i.text for i in tray.item("Microphone").submenu], "not listed")
        slow.set()
        stale = threading.Thread(target=tray.icon.refresh_flags)  # reads the old list, then waits
        stale.start()
        assert inside.wait(CAP_S), "the slow refresh did not start"
        mics.append(InputDevice("Headset", "Headset"))
        finder = tray.actions.find_microphones(then=tray.icon.refresh_flags)
        assert finder is not None
        time.sleep(0.2)  # the listing ends and its refresh runs (or waits for the slow one)
        release.set()
        stale.join(CAP_S)
        finder.join(CAP_S)
        tray.wait_until(lambda: "Headset" in [i.text for i in tray.item("Microphone").submenu],
                        "the menu kept the list read before the microphone was plugged in", timeout=10)
        tray.icon.stop()


def test_the_microphone_menu_is_listed_when_the_icon_shows_and_follows_clicks(tmp_path: Path) -> None:
    listed: list[int] = []
    mics = [InputDevice("USB Mic", "USB Mic", default=True)]

    def list_microphones() -> list[InputDevice]:
        listed.append(1)
        return list(mics)

    choice = RecordingChoice(RecordingConfig())
    with Rig(recorder=True, threaded=True) as rig:
        tray = Tray(rig, tmp_path, recording=choice, list_microphones=list_microphones)
        tray.wait_until(lambda: "USB Mic" in [i.text for i in tray.item("Microphone").submenu],
                        "the microphones were not listed when the icon showed")
        assert tray.texts()[1:5] == ["Pause", "Start recording", "Microphone", "Disguise voice"]

        def checked() -> list[str]:
            return [i.text for i in tray.item("Microphone").submenu if i.checked]

        assert checked() == ["System default (USB Mic)"]
        tray.click("USB Mic", parent="Microphone")
        assert choice.current().audio == "USB Mic"
        tray.wait_until(lambda: checked() == ["USB Mic"], "the radio did not move")
        tray.click("Disguise voice")
        assert choice.current().voice == "disguise"
        tray.wait_until(lambda: tray.item("Disguise voice").checked, "the box did not tick")

        mics.append(InputDevice("Headset", "Headset"))  # plugged in: found on asking again
        tray.click("Look for microphones again", parent="Microphone")
        tray.wait_until(lambda: "Headset" in [i.text for i in tray.item("Microphone").submenu], "not found again")

        tray.click("Start recording")
        rig.wait_for(lambda s: s.recording)
        tray.wait_until(lambda: not tray.item("Headset", tray.item("Microphone").submenu).enabled,
                        "the choice stayed changeable while recording")
        assert not tray.item("Disguise voice").enabled
        before = len(listed)
        tray.click("Stop recording")
        tray.wait_until(lambda: len(listed) > before, "the list was not read again after the recording")
        tray.wait_until(lambda: tray.item("Headset", tray.item("Microphone").submenu).enabled, "still greyed")
        tray.click("Quit")
        tray.thread.join(CAP_S)


def test_an_older_microphone_listing_ending_last_does_not_hide_a_newer_one(tmp_path: Path) -> None:
    """A listing (slow: PortAudio on a real machine) still running when the user asks again
    after plugging a headset in must not put its older list back when it ends."""
    entered, release = threading.Event(), threading.Event()
    calls: list[int] = []

    def list_microphones() -> list[InputDevice]:
        calls.append(1)
        if len(calls) == 1:  # the first listing hangs until released, then tells the old list
            entered.set()
            release.wait(CAP_S)
            return [InputDevice("USB Mic", "USB Mic", default=True)]
        return [InputDevice("USB Mic", "USB Mic", default=True), InputDevice("Headset", "Headset")]

    with Rig(recorder=True, threaded=True) as rig:
        actions = TrayActions(rig.engine, autostart=None, folder=tmp_path, open_folder=lambda p: None,
                              notify=lambda m: None, on_quit=lambda: None, recording=RecordingChoice(RecordingConfig()),
                              list_microphones=list_microphones)
        older = actions.find_microphones(then=lambda: None)
        assert entered.wait(CAP_S)
        newer = actions.find_microphones(then=lambda: None)
        assert older is not None and newer is not None
        newer.join(CAP_S)
        assert [m.name for m in actions.sound_choice()[0] or ()] == ["USB Mic", "Headset"]
        release.set()
        older.join(CAP_S)
        assert not older.is_alive()
        assert [m.name for m in actions.sound_choice()[0] or ()] == ["USB Mic", "Headset"]


def test_start_at_login_shows_and_changes_the_real_entry(tmp_path: Path) -> None:
    entry = tmp_path / "config" / "autostart" / "faceblur-cam.desktop"
    with Rig(threaded=True) as rig:
        tray = Tray(rig, tmp_path)
        tray.wait_menu("Protecting")
        assert not tray.item("Start at login").checked and not entry.exists()
        tray.click("Start at login")
        assert entry.exists() and get_autostart().status().enabled
        deadline = time.monotonic() + 2
        while not tray.item("Start at login").checked:
            assert time.monotonic() < deadline, "the box did not tick"
            time.sleep(0.01)
        tray.click("Start at login")
        assert not entry.exists()
        tray.click("Quit")
        tray.thread.join(CAP_S)


def test_camera_trouble_is_notified_once_and_shown_in_the_icon(tmp_path: Path) -> None:
    opened: list[int] = []

    def unplugged_then_gone(log: list[str]) -> PatternSource:
        opened.append(1)
        if len(opened) == 1:
            return PatternSource(log, fail_after=3)
        raise SourceError("camera 0 is not connected")

    with Rig(source_factory=unplugged_then_gone, retry_delays=(0.05,), threaded=True) as rig:
        tray = Tray(rig, tmp_path)
        rig.wait_state(EngineState.NO_CAMERA)
        tray.wait_menu("Camera disconnected")
        deadline = time.monotonic() + 2
        while len(opened) < 4:  # several retries...
            assert time.monotonic() < deadline
            time.sleep(0.01)
        assert tray.shows_icon("error")
        # ...but one notification: retries are not news
        assert len(tray.pystray_icon.notifications) == 1
        assert tray.pystray_icon.notifications[0].startswith("Camera disconnected, retrying")
        tray.click("Quit")
        tray.thread.join(CAP_S)


def test_engine_stopping_by_itself_ends_the_tray_loop(tmp_path: Path) -> None:
    rig = Rig(threaded=True)
    rig.engine.start()
    tray = Tray(rig, tmp_path)
    rig.wait_state(EngineState.PROTECTING)
    rig.engine.quit()  # e.g. the source file ended
    tray.thread.join(CAP_S)
    assert not tray.thread.is_alive()


def test_status_text_alone_rebuilds_the_menu_only_every_few_seconds() -> None:
    def view(state: EngineState, *texts: str) -> TrayView:
        return TrayView(state, tuple(MenuItem(t) for t in texts), IconName.ACTIVE, "")

    a = view(EngineState.PROTECTING, "Protecting: 1 face, 30 fps", "Pause")
    b = view(EngineState.PROTECTING, "Protecting: 1 face, 29 fps", "Pause")
    assert not menu_needs_rebuild(a, a, 100)
    assert not menu_needs_rebuild(a, b, 1.0)  # an open menu would close every second
    assert menu_needs_rebuild(a, b, STATUS_TEXT_REFRESH_S)
    # a real change shows at once: another state, or another item
    assert menu_needs_rebuild(view(EngineState.STARTING, "Starting protection...", "Pause"), a, 0.0)
    assert menu_needs_rebuild(a, view(EngineState.PROTECTING, "Protecting: 1 face, 30 fps", "Stop"), 0.0)
    # and so does "keep me visible" showing the caller or covering them again (only the status line says it)
    waiting = TrayView(EngineState.PROTECTING, (MenuItem("Protecting: 1 face, waiting to see you"), MenuItem("Pause")),
                       IconName.ACTIVE, "", KeepState.WAITING)
    shown = TrayView(EngineState.PROTECTING, (MenuItem("Protecting: you visible, 0 others covered"), MenuItem("Pause")),
                     IconName.ACTIVE, "", KeepState.VISIBLE)
    assert menu_needs_rebuild(waiting, shown, 0.0)


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def sleep(self, s: float) -> None:
        self.now += s


def test_at_login_waits_for_the_panel_then_gives_up() -> None:
    clock = FakeClock()
    hosts = iter([False, False, True])
    found = runner.wait_for_tray(60, 3, load=lambda: BACKEND, host=lambda b: next(hosts),
                                 sleep=clock.sleep, clock=lambda: clock.now)
    assert found is BACKEND and clock.now == 6

    clock = FakeClock()

    def no_backend() -> TrayBackend:
        raise TrayUnavailable("no display")

    with pytest.raises(TrayUnavailable, match="no display"):
        runner.wait_for_tray(60, 3, load=no_backend, sleep=clock.sleep, clock=lambda: clock.now)
    assert 57 <= clock.now <= 60


def test_a_manual_start_without_a_panel_still_shows_the_icon_when_one_appears() -> None:
    assert runner.wait_for_tray(0, 3, load=lambda: BACKEND, host=lambda b: False) is BACKEND


def test_at_login_without_a_tray_protects_headless_and_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    said: list[str] = []

    def unavailable(*_a: Any, **_k: Any) -> TrayBackend:
        raise TrayUnavailable("no menu-capable tray backend")

    monkeypatch.setattr(runner, "wait_for_tray", unavailable)
    monkeypatch.setattr(runner, "notify_without_tray", lambda title, message: said.append(message))
    with Rig(threaded=True) as rig:
        code = runner.run_tray(rig.engine, Config(), at_login=True, headless=lambda engine: 7)
        assert code == 7 and rig.engine.status().state is not EngineState.STOPPED
    assert "no menu-capable tray backend" in said[0] and "keeps protecting" in said[0]

    with Rig(threaded=True) as rig:
        with pytest.raises(TrayUnavailable):
            runner.run_tray(rig.engine, Config(), at_login=False, headless=lambda engine: 7)
        assert rig.engine.wait(0)  # a manual start quits cleanly and explains


def test_a_backend_without_menus_is_refused_with_install_instructions(monkeypatch: pytest.MonkeyPatch) -> None:
    xorg_icon = type("Icon", (), {"HAS_MENU": False, "__module__": "pystray._xorg"})
    monkeypatch.setitem(sys.modules, "pystray", SimpleNamespace(Icon=xorg_icon))
    from faceblur_cam import platform

    monkeypatch.setattr(platform, "display_problem", lambda x11_only=False: None)  # a desktop session,
    # whose only tray backend has no menu
    with pytest.raises(TrayUnavailable) as info:
        load_backend()
    message = str(info.value)
    assert "xorg" in message and "gir1.2-ayatanaappindicator3-0.1" in message and "--no-tray" in message


def test_an_unreachable_display_gives_a_message_not_an_xlib_traceback() -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("WAYLAND_DISPLAY", "PYSTRAY_BACKEND")}
    env["DISPLAY"] = ":987"  # nothing listens there
    code = ("from faceblur_cam.tray.backend import load_backend, TrayUnavailable\n"
            "try:\n    load_backend()\nexcept TrayUnavailable as e:\n    print('UNAVAILABLE', e)\n")
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                            timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("UNAVAILABLE cannot show a tray icon"), result.stdout
    assert ":987" in result.stdout and "--no-tray" in result.stdout


def test_the_app_without_a_display_explains_and_exits(tmp_path: Path) -> None:
    runtime = tmp_path / "runtime"
    runtime.mkdir(mode=0o700)
    env = {k: v for k, v in os.environ.items()
           if k not in ("DISPLAY", "WAYLAND_DISPLAY", "PYSTRAY_BACKEND")}
    env.update(XDG_RUNTIME_DIR=str(runtime), XDG_STATE_HOME=str(tmp_path / "state"),
               XDG_CONFIG_HOME=str(tmp_path / "config"))
    images = eval_dir() / "otb_girl" / "img"
    result = subprocess.run(
        [sys.executable, "-m", "faceblur_cam", "run", "--source", str(images),
         "--vcam-backend", "faceblur_cam.sinks.fake_vcam:FakeCameraBackend"],
        env=env, capture_output=True, text=True, timeout=120, check=False,
    )
    assert result.returncode == 2, result.stderr
    assert "no desktop session" in result.stderr and "--no-tray" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("xembed, sni, expected", [
    (True, False, "XEmbed system tray"),
    (False, True, "StatusNotifier host"),
    (True, True, "XEmbed system tray, StatusNotifier host"),
    (False, False, "none yet"),
])
def test_the_log_names_the_backend_and_the_panels_found(monkeypatch: pytest.MonkeyPatch,
                                                         caplog: pytest.LogCaptureFixture,
                                                         xembed: bool, sni: bool, expected: str) -> None:
    """An icon that does not show is explained by the log: which backend, which panels."""
    from faceblur_cam.tray import backend as tray_backend

    monkeypatch.setattr(tray_backend, "_xembed_tray_present", lambda: xembed)
    monkeypatch.setattr(tray_backend, "_status_notifier_present", lambda: sni)
    gtk = TrayBackend("appindicator", pystray)
    with caplog.at_level("INFO", logger="faceblur_cam.tray.backend"):
        assert tray_backend.tray_host_available(gtk) is (xembed or sni)
    assert f"pystray backend appindicator; panels found: {expected}" in caplog.text


def test_the_virtual_camera_s_other_name_reaches_the_real_menu(tmp_path: Path) -> None:
    """``run_tray(output_notice=...)``'s line, through TrayActions and the adapter, into pystray's menu."""
    notice = 'Publishing to the OBS virtual camera: apps list it as "OBS Virtual Camera", not "FaceBlur Cam"'
    with Rig(recorder=True, threaded=True) as rig:
        tray = Tray(rig, tmp_path, output_notice=notice)
        tray.wait_menu("Protecting")
        assert tray.texts()[1] == notice and not tray.item(notice).enabled
        tray.icon.stop()
