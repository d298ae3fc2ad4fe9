"""``faceblur-cam pause`` / ``resume`` / ``show`` / ``keep-me on|off|pick``: control the running
FaceBlur Cam (e.g. from a desktop keyboard shortcut). Talks to it through the single-instance
channel."""

from __future__ import annotations

import argparse

from faceblur_cam.errors import UserError

CONTROL_TIMEOUT_S = 10.0  # retries while the channel is busy (or the app is still starting)

HELP = {
    "pause": "pause the running FaceBlur Cam (camera released, the call sees a Paused card)",
    "resume": "resume protecting in the running FaceBlur Cam",
    "show": "show the running FaceBlur Cam's preview window",
}


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    for name, text in HELP.items():
        p = sub.add_parser(name, help=text, description=text[0].upper() + text[1:] + ".")
        p.set_defaults(func=send, command_name=name)
    text = ("keep me visible in the running FaceBlur Cam: on (picks the largest face nearest the centre), "
            "off (every face covered), pick (that's me: pick again)")
    p = sub.add_parser("keep-me", help=text, description=text[0].upper() + text[1:] + ".")
    p.add_argument("what", choices=("on", "off", "pick"))
    p.set_defaults(func=send_keep_me)


def send_keep_me(args: argparse.Namespace) -> int:
    args.command_name = f"keep-me-{args.what}"
    return send(args)


def send(args: argparse.Namespace) -> int:
    from faceblur_cam.single_instance import Answer, request_running_instance

    answer = request_running_instance(args.command_name, timeout=CONTROL_TIMEOUT_S)
    if answer is Answer.NOT_RUNNING:
        raise UserError("FaceBlur Cam is not running (start it with: faceblur-cam)")
    if answer is Answer.BUSY:
        raise UserError(f"FaceBlur Cam is running but was busy with other requests for {CONTROL_TIMEOUT_S:g} s "
                        f"(retried); {args.command_name} was not done. Try again")
    if answer is Answer.UNKNOWN:
        raise UserError(f"the running FaceBlur Cam does not know '{args.command_name}' (an older version?); "
                        "restart it")
    print(f"FaceBlur Cam: {args.command_name} requested.")
    return 0
