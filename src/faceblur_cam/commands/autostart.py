"""``faceblur-cam autostart enable|disable|status``: start FaceBlur Cam at login, or stop that.

Output is for people: one headline (``Start at login: on`` / ``off`` / ``broken: ...``), then
where the entry lives and what it runs. Exit status 0 on success (``status`` exits 0 whatever
the state); 2 with a message when the entry cannot be changed.
"""

from __future__ import annotations

import argparse
from typing import Any

from faceblur_cam.autostart import (
    AutostartError,
    AutostartState,
    AutostartStatus,
    get_autostart,
)
from faceblur_cam.autostart.model import format_argv

ACTIONS = ("enable", "disable", "status")


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "autostart",
        help="start FaceBlur Cam in the tray when you log in (enable, disable, status)",
        description=(
            "Start FaceBlur Cam quietly in the tray when you log in, so your camera is already "
            "protected when the first call starts. 'enable' adds (or repairs) the login entry "
            "for this installation, 'disable' removes it, 'status' shows whether it is on."
        ),
    )
    parser.add_argument("action", choices=ACTIONS, help="enable, disable or status")
    parser.set_defaults(func=run_autostart)


def run_autostart(args: argparse.Namespace) -> int:
    autostart = get_autostart()
    before = autostart.status()
    if args.action == "status":
        lines = describe(before)
    elif args.action == "enable":
        after = autostart.enable()
        if not after.enabled:
            raise AutostartError(
                f"wrote the login entry {after.location}, but it reads back as "
                f"{after.state.value}: {after.reason or 'no reason given'}"
            )
        lines = describe(after, note=_enable_note(before))
    else:
        after = autostart.disable()
        had_entry = before.state is not AutostartState.DISABLED or bool(before.command)
        lines = describe(
            after, note=f"removed {before.location}" if had_entry else "it already was"
        )
    print("\n".join(lines))
    return 0


def _enable_note(before: AutostartStatus) -> str:
    if before.state is AutostartState.ENABLED:
        return "it already was"
    if before.state is AutostartState.STALE:
        return f"repaired: {before.reason}"
    return "switched back on" if before.reason else ""


def describe(status: AutostartStatus, note: str = "") -> list[str]:
    """The user-facing lines for ``status``; ``note`` is added to the headline in brackets."""
    suffix = f" ({note})" if note else ""
    if status.state is AutostartState.ENABLED:
        return [
            f"Start at login: on{suffix}",
            "  FaceBlur Cam will start quietly in the tray when you log in.",
            f"  entry:   {status.location}",
            f"  command: {format_argv(status.command)}",
        ]
    if status.state is AutostartState.STALE:
        return [
            f"Start at login: broken: {status.reason}.",
            f"  entry:   {status.location}",
            *([f"  command: {format_argv(status.command)}"] if status.command else []),
            "  Repair it with: faceblur-cam autostart enable",
        ]
    why = f" ({status.reason})" if status.reason else suffix
    return [
        f"Start at login: off{why}",
        *([f"  entry:   {status.location}"] if status.command else []),
        "  Turn it on with: faceblur-cam autostart enable",
    ]
