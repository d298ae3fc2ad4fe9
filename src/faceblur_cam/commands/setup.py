"""``faceblur-cam setup``: create the "FaceBlur Cam" virtual camera (Linux) or say how (others).

Without ``--apply`` it only prints the commands. With ``--apply`` it runs them, through
``sudo`` (``pkexec`` when there is no terminal to ask for a password) unless already root,
after showing any warning (reloading v4l2loopback disconnects its other users).
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Sequence

from faceblur_cam import APP_NAME, platform
from faceblur_cam.errors import UserError
from faceblur_cam.platform.plan import SetupPlan, shell_line

log = logging.getLogger(__name__)

# runs argv (stdin fed to it); returns its exit status, or (status, what it said on stderr)
Runner = Callable[[Sequence[str], str | None], "int | tuple[int, str]"]
STDERR_TAIL = 20  # lines of a step's error output kept to say why it failed


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "setup",
        help=f'create the "{APP_NAME}" virtual camera (prints the commands; --apply runs them)',
        description=f'Show the commands that create the "{APP_NAME}" virtual camera now and at '
        "every boot (Linux: v4l2loopback), or the steps to install one (Windows, macOS).",
    )
    p.add_argument("--apply", action="store_true",
                   help="run the commands (asks for your password through sudo or pkexec)")
    p.add_argument("--yes", action="store_true", help="with --apply: do not ask before reloading")
    p.add_argument("--label", default=APP_NAME, help=argparse.SUPPRESS)
    p.set_defaults(func=run_setup)


def elevation() -> tuple[str, ...]:
    """How to run a command as root: nothing if we are root, else sudo or pkexec."""
    if os.geteuid() == 0:
        return ()
    if shutil.which("sudo") and sys.stdin.isatty():
        return ("sudo",)
    if shutil.which("pkexec"):
        return ("pkexec",)
    if shutil.which("sudo"):
        return ("sudo",)
    raise UserError("setup --apply needs sudo or pkexec; run the commands above as root instead")


def _run(argv: Sequence[str], stdin: str | None) -> tuple[int, str]:
    """Run a step; its error output is passed through to ours and its last lines kept."""
    try:
        proc = subprocess.Popen(list(argv), stdin=subprocess.PIPE if stdin is not None else None, text=True,
                                stdout=subprocess.DEVNULL if stdin is not None else None, stderr=subprocess.PIPE,
                                errors="replace")
    except OSError as exc:
        log.error("cannot run %s: %s", argv[0], exc)
        return 127, f"cannot run {argv[0]}: {exc.strerror or exc}"
    if stdin is not None and proc.stdin is not None:
        try:
            proc.stdin.write(stdin)
            proc.stdin.close()
        except OSError:
            pass
    tail: list[str] = []
    assert proc.stderr is not None
    for line in proc.stderr:
        sys.stderr.write(line)
        tail = [*tail, line.rstrip()][-STDERR_TAIL:]
    return proc.wait(), "\n".join(tail)


def why_step_failed(argv: Sequence[str], code: int, said: str) -> str:
    """One sentence from a failed step's error output (apt's, modprobe's...), not just a number."""
    lines = [line.strip() for line in said.splitlines() if line.strip()]
    missing = next((line for line in lines if "Unable to locate package" in line), None)
    if missing is not None:
        package = missing.rsplit(" ", 1)[-1]
        what = "the kernel headers package" if package.startswith("linux-headers") else "the package"
        return (f"apt could not find {what} {package} (v4l2loopback is built against the running kernel's "
                "headers; run 'sudo apt update', or boot a kernel of your distribution that has them)")
    errors = [line for line in lines if line.startswith(("E:", "error", "Error", "modprobe:", "FATAL"))]
    last = (errors or lines or [""])[-1].removeprefix("E: ")
    if code == 126 and "pkexec" in argv[:1]:
        return "the password was not given (pkexec was cancelled)"
    return f"{last} (exit status {code})" if last else f"exit status {code}"


def apply_plan(plan: SetupPlan, prefix: Sequence[str], run: Runner = _run) -> int:
    """Run the steps in order; stop at the first failure. Returns 0 or the failing status."""
    for step in plan.steps:
        argv = [*(prefix if step.root else ()), *step.argv]
        print(f"-> {step.why}: {shell_line(step, sudo=' '.join(prefix) if step.root else '')}", flush=True)
        result = run(argv, step.stdin)
        code, said = result if isinstance(result, tuple) else (result, "")
        if code != 0:
            print(f"faceblur-cam: the step \"{step.why}\" failed: {why_step_failed(argv, code, said)}; "
                  "nothing after it was run.", file=sys.stderr)
            return code or 1
    return 0


def show_plan(plan: SetupPlan, label: str) -> None:
    for note in plan.notes:
        print(note)
    for warning in plan.warnings:
        print(f"Warning: {warning}")
    if not plan.steps:
        if not plan.notes:
            print(f'The "{label}" virtual camera is ready and is created at every boot.')
        return
    if plan.ready:
        print(f'The "{label}" virtual camera exists; to finish setting it up, run:')
    else:
        print(f'To create the "{label}" virtual camera, run:')
    for step in plan.steps:
        print(f"  {shell_line(step)}")
        print(f"      # {step.why}")


def run_setup(args: argparse.Namespace, plan: SetupPlan | None = None, run: Runner = _run) -> int:
    plan = plan or platform.setup_plan(args.label)
    show_plan(plan, args.label)
    if not args.apply or not plan.steps:
        if plan.steps:
            print("\nOr let FaceBlur Cam run them: faceblur-cam setup --apply")
        elif args.apply and plan.notes:
            print("\nNothing here can be run for you; follow the steps above.")
        return 0
    if any(s.argv == ("false",) for s in plan.steps):
        raise UserError("install v4l2loopback first (see above), then run setup again")
    if plan.warnings and not args.yes:
        if not sys.stdin.isatty():
            raise UserError("the steps above disconnect other programs; rerun with --apply --yes")
        if input("Continue? [y/N] ").strip().lower() not in ("y", "yes"):
            print("Nothing was changed.")
            return 1
    print()
    code = apply_plan(plan, elevation(), run)
    if code == 0:
        device = platform.find_virtual_camera(args.label)
        print(f'\nDone: "{args.label}" is {device}.' if device else
              f'\nThe commands ran, but no "{args.label}" device appeared; run: faceblur-cam doctor')
        return 0 if device else 1
    return code
