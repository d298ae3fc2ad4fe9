"""The pystray adapter: renders ``build_menu``'s model, swaps icons, shows notifications.

Thread rules:

- ``TrayIcon`` is built and ``run()`` on the main thread; pystray's loop owns that thread.
- ``on_status`` is an engine subscriber: it runs on the engine's worker thread, computes the view
  (pure functions in ``faceblur_cam.tray.menu``) and hands changes to the main thread through
  ``TrayBackend.call_on_main`` (macOS: AppKit's main queue; the GTK backends queue each pystray
  update to the GLib loop themselves).
- Menu clicks arrive on the main thread and only call ``TrayActions.perform`` (engine commands
  are queued; nothing blocks the loop).
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from dataclasses import dataclass, replace
from typing import Any

from faceblur_cam.engine import EngineState, EngineStatus
from faceblur_cam.keep_me import KeepState
from faceblur_cam.tray.actions import TrayActions
from faceblur_cam.tray.backend import TrayBackend
from faceblur_cam.tray.icons import tray_icon
from faceblur_cam.tray.menu import (
    Action,
    IconName,
    MenuItem,
    TrayFlags,
    build_menu,
    icon_name,
    notification,
    tooltip,
)

log = logging.getLogger(__name__)

# clicks that change what the flags show (the menu is redrawn from them)
FLAG_ACTIONS = frozenset({Action.AUTOSTART, Action.MICROPHONE, Action.DISGUISE_VOICE, Action.CAMERA})
STATUS_TEXT_REFRESH_S = 5.0  # fps/face counts alone rebuild the menu at most this often


@dataclass(frozen=True)
class TrayView:
    state: EngineState
    menu: tuple[MenuItem, ...]
    icon: IconName
    title: str
    keep_me: KeepState = KeepState.OFF  # whether the caller is shown: news the status line must not hold back


def view_of(status: EngineStatus, flags: TrayFlags) -> TrayView:
    return TrayView(status.state, build_menu(status, flags), icon_name(status, flags), tooltip(status, flags),
                    status.keep_me)


def _fixed_items(menu: tuple[Any, ...]) -> tuple[Any, ...]:
    """The menu without its counting lines (the status line, the leak watch's line)."""
    return tuple(item for item in menu[1:] if not str(getattr(item, "text", "")).startswith("Leak watch:"))


def menu_needs_rebuild(old: TrayView, new: TrayView, elapsed: float) -> bool:
    """Rebuild at once when the state, whether "keep me visible" shows the caller, or any item but
    the status line changed; else only every few seconds: rebuilding a GTK menu closes it if it is
    open, so a status line counting frames per second must not rebuild it every second.
    """
    if old.menu == new.menu:
        return False
    if (old.state is not new.state or old.keep_me is not new.keep_me
            or _fixed_items(old.menu) != _fixed_items(new.menu)):
        return True
    return elapsed >= STATUS_TEXT_REFRESH_S


class TrayIcon:
    """The icon, its menu and notifications, kept in step with the engine's status."""

    def __init__(self, backend: TrayBackend, status: EngineStatus, actions: TrayActions):
        self._backend = backend
        self._actions = actions
        self._lock = threading.Lock()
        # guarded by _lock: what the worker last asked the main thread to show
        self._status = status
        self._flags = self._read_flags(actions)
        self._requested = view_of(status, self._flags)
        self._menu_built = time.monotonic()
        # guarded by _apply_lock (``_apply`` runs on the main thread, or, where pystray queues to
        # its own loop as the GTK backends do, on the caller's thread)
        self._apply_lock = threading.Lock()
        self._refresh_lock = threading.Lock()  # one re-read of the flags at a time (``refresh_flags``)
        self._shown_icon = self._requested.icon
        self._icon_was_shown = False
        self._icon: Any = backend.pystray.Icon(
            "faceblur-cam", tray_icon(self._shown_icon), self._requested.title,
            menu=self._to_pystray(self._requested.menu),
        )

    @staticmethod
    def _read_flags(actions: TrayActions) -> TrayFlags:
        microphones, audio, disguise = actions.sound_choice()
        cameras, camera = actions.camera_choice()
        return TrayFlags(can_record=actions.can_record, can_preview=actions.can_preview,
                         autostart=actions.autostart_enabled(), vcam_missing=actions.vcam_missing(),
                         output_notice=actions.output_notice,
                         microphones=microphones, audio=audio, disguise=disguise, cameras=cameras, camera=camera)

    # ------------------------------------------------------------------ main thread
    def run(self) -> None:
        """Show the icon and run the tray loop until ``stop()``."""
        try:
            self._icon.run(setup=self._setup)
        except Exception as exc:
            if not self._icon_was_shown:
                raise
            # pystray's GTK backend fails closing its notification when no notification
            # daemon runs; the loop itself has ended normally
            log.debug("tray loop ended with: %s", exc, exc_info=True)

    def _setup(self, icon: Any) -> None:
        icon.visible = True
        self._icon_was_shown = True
        log.info("tray icon shown (%s backend)", self._backend.name)
        self._actions.find_microphones(then=self.refresh_flags)

    def stop(self) -> None:
        self._icon.stop()

    def refresh_flags(self) -> None:
        """Re-read the flags (after "Start at login" or the sound changed) and redraw the menu. Any
        thread. Reading and storing are one step: two threads refreshing at once (a click, and the
        microphone listing that just ended) let the one that read first store last, and the menu
        kept the list from before a microphone was plugged in (the tray test, once in a clean-clone run)."""
        with self._refresh_lock:
            flags = self._read_flags(self._actions)
            with self._lock:
                self._flags = flags
        self._update(force_menu=True)

    def notify(self, message: str) -> None:
        """A desktop notification, where the backend has them; always logged."""
        log.warning("%s", message)
        if not getattr(self._icon, "HAS_NOTIFICATION", False):
            return
        try:
            self._backend.notify(self._icon, message, "FaceBlur Cam")
        except Exception as exc:  # no notification daemon on this desktop
            log.debug("notification failed: %s", exc)

    def _clicked(self, item: MenuItem, _icon: Any, _pystray_item: Any) -> None:
        try:
            if item.action is Action.FIND_MICROPHONES:
                self._actions.find_microphones(then=self.refresh_flags)
                return
            self._actions.perform(item)
            if item.action in FLAG_ACTIONS:
                self.refresh_flags()
        except Exception:  # never let a click take the tray loop down
            log.exception("menu action %s failed", item.action)

    def _apply(self, view: TrayView, rebuild_menu: bool) -> None:
        icon = self._icon
        with self._apply_lock:
            if view.icon is not self._shown_icon:
                self._shown_icon = view.icon
                icon.icon = tray_icon(view.icon)
            if view.title != icon.title:
                icon.title = view.title
            if rebuild_menu:
                icon.menu = self._to_pystray(view.menu)  # the setter rebuilds the native menu

    def _to_pystray(self, items: tuple[MenuItem, ...]) -> Any:
        pystray = self._backend.pystray

        def convert(item: MenuItem) -> Any:
            if item.is_separator:
                return pystray.Menu.SEPARATOR
            if item.submenu:
                return pystray.MenuItem(item.text, pystray.Menu(*map(convert, item.submenu)))
            checked = None if item.checked is None else functools.partial(_constant, item.checked)
            return pystray.MenuItem(
                item.text, functools.partial(self._clicked, item), checked=checked,
                radio=item.radio, enabled=item.enabled and item.action is not None,
            )

        return pystray.Menu(*map(convert, items))

    # ------------------------------------------------------------------ any thread
    def on_status(self, status: EngineStatus) -> None:
        """Engine subscriber (worker thread): marshal what changed to the main thread."""
        missing = self._actions.vcam_missing()  # the device may have appeared (after setup)
        with self._lock:
            before, self._status = self._status, status
            flags_changed = missing != self._flags.vcam_missing
            if flags_changed:
                self._flags = replace(self._flags, vcam_missing=missing)
        self._update(force_menu=flags_changed)
        if before.state is not status.state and status.state in (EngineState.NO_CAMERA, EngineState.PROTECTING):
            self._backend.call_on_main(self.refresh_flags)  # a camera came or went: list them again
        if before.recording and not status.recording:  # the microphone is free: see what is there now
            self._actions.find_microphones(then=self.refresh_flags)
        news = notification(before, status)
        if news:
            self._backend.call_on_main(functools.partial(self.notify, news))
        if status.state is EngineState.STOPPED:
            self._backend.call_on_main(self.stop)

    def _update(self, force_menu: bool = False) -> None:
        with self._lock:
            view = view_of(self._status, self._flags)
            old, now = self._requested, time.monotonic()
            rebuild = force_menu or menu_needs_rebuild(old, view, now - self._menu_built)
            if not rebuild:
                view = replace(view, menu=old.menu)
            if view == old and not force_menu:
                return
            self._requested = view
            if rebuild:
                self._menu_built = now
            # handed over under the lock, so views reach the icon in the order they were made
            self._backend.call_on_main(functools.partial(self._apply, view, rebuild))


def _constant(value: bool, _item: Any) -> bool:
    return value
