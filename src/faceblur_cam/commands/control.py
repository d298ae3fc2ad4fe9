"""``faceblur-cam pause`` / ``resume`` / ``show`` / ``keep-me on|off|pick``: control the running
FaceBlur Cam (e.g. from a desktop keyboard shortcut). Talks to it through the single-instance
channel; the commands are declared in ``faceblur_cam.remote``."""

from __future__ import annotations

import argparse

from faceblur_cam.errors import UserError
from faceblur_cam.remote import GROUPS, RemoteCommand

CONTROL_TIMEOUT_S = 10.0  # retries while the channel is busy (or the app is still starting)


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    groups: dict[str, dict[str, RemoteCommand]] = {}
    for command in RemoteCommand:
        name, what = command.cli_words
        if what is None:
            text = command.help
            p = sub.add_parser(name, help=text, description=text[0].upper() + text[1:] + ".")
            p.set_defaults(func=send, command_name=command.value)
        else:
            groups.setdefault(name, {})[what] = command
    for name, choices in groups.items():
        text = f"{GROUPS[name]}: " + ", ".join(f"{what} ({c.help})" for what, c in choices.items())
        p = sub.add_parser(name, help=text, description=text[0].upper() + text[1:] + ".")
        p.add_argument("what", choices=tuple(choices))
        p.set_defaults(func=send, command_name=None, group=name)


def send(args: argparse.Namespace) -> int:
    from faceblur_cam.single_instance import Answer, request_running_instance

    name = args.command_name or f"{args.group}-{args.what}"
    answer = request_running_instance(name, timeout=CONTROL_TIMEOUT_S)
    if answer is Answer.NOT_RUNNING:
        raise UserError("FaceBlur Cam is not running (start it with: faceblur-cam)")
    if answer is Answer.BUSY:
        raise UserError(f"FaceBlur Cam is running but was busy with other requests for {CONTROL_TIMEOUT_S:g} s "
                        f"(retried); {name} was not done. Try again")
    if answer is Answer.UNKNOWN:
        raise UserError(f"the running FaceBlur Cam does not know '{name}' (an older version?); "
                        "restart it")
    print(f"FaceBlur Cam: {name} requested.")
    return 0
