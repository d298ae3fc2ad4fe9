"""A stand-in desktop notification daemon for the tray tests: it owns
``org.freedesktop.Notifications`` on the session bus, writes each notification it gets to a JSON
lines file, and answers only ``--answer-after`` seconds later (a slow desktop: the tray must not
wait for it). ``python notification_daemon.py RECORD [--answer-after S]``.

Each line: ``{"event": "ready"}`` once the name is owned; ``{"event": "notify", "id": n, "app": ...,
"summary": ..., "body": ..., "icon": ...}`` when a notification arrives; ``{"event":
"answered", "id": n}`` when its answer is sent.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from gi.repository import Gio, GLib

NAME = "org.freedesktop.Notifications"
INTERFACE = """
<node>
  <interface name="org.freedesktop.Notifications">
    <method name="Notify">
      <arg type="s" direction="in"/><arg type="u" direction="in"/><arg type="s" direction="in"/>
      <arg type="s" direction="in"/><arg type="s" direction="in"/><arg type="as" direction="in"/>
      <arg type="a{sv}" direction="in"/><arg type="i" direction="in"/><arg type="u" direction="out"/>
    </method>
    <method name="CloseNotification"><arg type="u" direction="in"/></method>
    <method name="GetCapabilities"><arg type="as" direction="out"/></method>
    <method name="GetServerInformation">
      <arg type="s" direction="out"/><arg type="s" direction="out"/>
      <arg type="s" direction="out"/><arg type="s" direction="out"/>
    </method>
  </interface>
</node>
"""


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("record", type=Path)
    parser.add_argument("--answer-after", type=float, default=0.0)
    args = parser.parse_args()
    loop = GLib.MainLoop()
    interface = Gio.DBusNodeInfo.new_for_xml(INTERFACE).interfaces[0]
    sent = [0]

    def write(**line: Any) -> None:
        with args.record.open("a") as f:
            f.write(json.dumps(line) + "\n")

    def answer(invocation: Gio.DBusMethodInvocation, nid: int) -> bool:
        invocation.return_value(GLib.Variant("(u)", (nid,)))
        write(event="answered", id=nid)
        return False

    def on_call(_bus: Any, _sender: str, _path: str, _iface: str, method: str, params: GLib.Variant,
                invocation: Gio.DBusMethodInvocation) -> None:
        if method == "Notify":
            app, _replaces, icon, summary, body, *_ = params.unpack()
            sent[0] += 1
            write(event="notify", id=sent[0], app=app, summary=summary, body=body, icon=icon)
            GLib.timeout_add(max(1, round(args.answer_after * 1000)), answer, invocation, sent[0])
        elif method == "GetCapabilities":
            invocation.return_value(GLib.Variant("(as)", (["body"],)))
        elif method == "GetServerInformation":
            invocation.return_value(GLib.Variant("(ssss)", ("stand-in", "faceblur-cam tests", "1", "1.2")))
        else:
            invocation.return_value(None)

    def acquired(bus: Gio.DBusConnection, _name: str) -> None:
        bus.register_object("/org/freedesktop/Notifications", interface, on_call, None, None)

    Gio.bus_own_name(Gio.BusType.SESSION, NAME, Gio.BusNameOwnerFlags.NONE, acquired,
                     lambda *_: write(event="ready"), lambda *_: loop.quit())
    loop.run()


if __name__ == "__main__":
    main()
