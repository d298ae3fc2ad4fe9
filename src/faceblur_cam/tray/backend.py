"""Which pystray backend this desktop offers, and the few things that differ between backends.

``import pystray`` picks its backend at import time and, on Linux, raises an Xlib error (not an
``ImportError``) when there is no display; without PyGObject it silently falls back to the xorg
backend, which has no menu. ``load_backend()`` imports it lazily and turns each of these into a
``TrayUnavailable`` whose message says what to install, or to run ``--no-tray``.

Backend differences live here only: ``call_on_main`` (macOS needs icon/menu updates on the main
thread; the GTK backends already marshal through GLib), ``notify`` (on Linux sent without
waiting for the notification daemon's answer: pystray waits up to 25 s for it on the tray's own
loop, and a slow or hung daemon froze the menu), ``tray_host_available`` (is a panel there to dock
in), ``notify_without_tray`` (a desktop notification when the tray cannot start).
"""

from __future__ import annotations

import logging
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType

from faceblur_cam.errors import UserError

log = logging.getLogger(__name__)

GTK_BACKENDS = ("appindicator", "gtk")

INSTALL_HINT = (
    "The tray icon needs a menu-capable pystray backend. On Debian/Ubuntu:\n"
    "  sudo apt install gir1.2-ayatanaappindicator3-0.1 libgirepository1.0-dev libcairo2-dev\n"
    "  pip install 'faceblur-cam[tray]'\n"
    "Or run without a tray icon: faceblur-cam run --no-tray"
)


class TrayUnavailable(UserError):
    """No tray icon with a menu can be shown here; the message says why and what to do."""


@dataclass(frozen=True)
class TrayBackend:
    """The imported pystray module and its backend's name ("appindicator", "darwin", ...)."""

    name: str
    pystray: ModuleType

    def call_on_main(self, fn: Callable[[], None]) -> None:
        """Run ``fn`` on the tray's (main) thread, now or soon; callable from any thread."""
        if self.name == "darwin":
            from PyObjCTools import AppHelper

            AppHelper.callAfter(fn)
        else:  # GTK backends queue their updates with GLib.idle_add; win32 posts messages
            fn()

    def notify(self, icon: object, message: str, title: str) -> None:
        """Show a desktop notification through ``icon`` (a pystray Icon). May raise when the
        desktop has no notifications; never waits for the desktop to answer."""
        if self.name in GTK_BACKENDS:
            _notify_dbus(title, message)
        else:
            icon.notify(message, title)  # type: ignore[attr-defined]


def load_backend() -> TrayBackend:
    """Import pystray and check its backend can show a menu. Raises ``TrayUnavailable``."""
    from faceblur_cam import platform

    problem = platform.display_problem()
    if problem is not None:
        raise TrayUnavailable(f"cannot show a tray icon, no desktop session: {problem}. Start FaceBlur Cam from your "
                              "desktop, or run: faceblur-cam run --no-tray")
    try:
        import pystray
    except ImportError as exc:
        raise TrayUnavailable(f"cannot show a tray icon: {exc}\n{INSTALL_HINT}") from exc
    except Exception as exc:  # Xlib errors when the display cannot be reached
        raise TrayUnavailable(f"cannot show a tray icon: {exc}\n"
                              "Or run without a tray icon: faceblur-cam run --no-tray") from exc
    name = pystray.Icon.__module__.rsplit("._", 1)[-1]
    if not pystray.Icon.HAS_MENU:
        raise TrayUnavailable(
            f"the only tray backend available here ({name}) has no menu, so FaceBlur Cam could "
            f"not be paused or quit from it.\n{INSTALL_HINT}"
        )
    if name in GTK_BACKENDS and not _session_bus_available():
        raise TrayUnavailable(
            "cannot show a tray icon: no D-Bus session bus (DBUS_SESSION_BUS_ADDRESS is not set). "
            "Start FaceBlur Cam from your desktop session, or run: faceblur-cam run --no-tray"
        )
    log.debug("tray backend: %s", name)
    return TrayBackend(name, pystray)


NOTIFY_TIMEOUT_MS = 10_000  # how long an unanswered notification is waited for, off the tray's loop
NOTIFICATIONS = "org.freedesktop.Notifications"


def _notify_dbus(title: str, message: str) -> None:
    """The freedesktop Notify call, sent asynchronously: the answer (or its absence) is only
    logged, from GLib's loop."""
    from gi.repository import Gio, GLib

    from faceblur_cam.tray.icons import app_icon_path

    def answered(bus: Gio.DBusConnection, result: Gio.AsyncResult) -> None:
        try:
            bus.call_finish(result)
        except Exception as exc:  # no notification daemon, or it did not answer in time
            log.debug("notification not shown: %s", exc)

    bus = Gio.bus_get_sync(Gio.BusType.SESSION, None)
    bus.call(NOTIFICATIONS, "/org/freedesktop/Notifications", NOTIFICATIONS, "Notify",
             GLib.Variant("(susssasa{sv}i)", ("FaceBlur Cam", 0, app_icon_path(), title, message, [], {}, -1)),
             GLib.VariantType("(u)"), Gio.DBusCallFlags.NONE, NOTIFY_TIMEOUT_MS, None, answered)


def _session_bus_available() -> bool:
    try:
        from gi.repository import Gio

        Gio.bus_get_sync(Gio.BusType.SESSION, None)
    except Exception as exc:
        log.debug("no session bus: %s", exc)
        return False
    return True


def tray_host_available(backend: TrayBackend) -> bool:
    """True when a panel is there to show the icon (always True off the GTK backends).

    On Linux that is an XEmbed system tray (``_NET_SYSTEM_TRAY_S0``, e.g. trayer, XFCE, MATE)
    or a StatusNotifier host (KDE, GNOME with the AppIndicator extension).
    """
    if backend.name not in GTK_BACKENDS:
        return True
    hosts = tray_hosts()
    log.info("tray: pystray backend %s; panels found: %s", backend.name, ", ".join(hosts) or "none yet")
    return bool(hosts)


def tray_hosts() -> list[str]:
    """The panels on this X/D-Bus session an icon can dock in: "XEmbed system tray" and/or
    "StatusNotifier host" (what a log needs to tell why an icon does not show)."""
    found = []
    if _xembed_tray_present():
        found.append("XEmbed system tray")
    if _status_notifier_present():
        found.append("StatusNotifier host")
    return found


def _xembed_tray_present() -> bool:
    try:
        from Xlib import X, display

        disp = display.Display()
        try:
            atom = disp.intern_atom(f"_NET_SYSTEM_TRAY_S{disp.get_default_screen()}")
            return bool(disp.get_selection_owner(atom) != X.NONE)
        finally:
            disp.close()
    except Exception as exc:
        log.debug("no X system tray: %s", exc)
        return False


def _status_notifier_present() -> bool:
    try:
        from gi.repository import Gio, GLib

        bus = Gio.bus_get_sync(Gio.BusType.SESSION, None)
        reply = bus.call_sync(
            "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
            "NameHasOwner", GLib.Variant("(s)", ("org.kde.StatusNotifierWatcher",)),
            GLib.VariantType("(b)"), Gio.DBusCallFlags.NONE, 1000, None,
        )
        return bool(reply.unpack()[0])
    except Exception as exc:
        log.debug("no StatusNotifier host: %s", exc)
        return False


def notify_without_tray(title: str, message: str) -> None:
    """Best effort desktop notification when there is no tray icon to notify through."""
    log.info("notification: %s: %s", title, message)
    notify_send = shutil.which("notify-send")
    if notify_send is None:
        return
    try:
        subprocess.run([notify_send, "--app-name=FaceBlur Cam", title, message],
                       timeout=5, check=False, capture_output=True)
    except (OSError, subprocess.SubprocessError) as exc:
        log.debug("notify-send failed: %s", exc)
