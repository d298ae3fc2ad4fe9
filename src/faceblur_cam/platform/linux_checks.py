"""Linux doctor checks: the v4l2loopback driver and device, and the physical cameras.

All OS access goes through a ``LinuxProbe`` (sysfs/etc under ``root``, ioctls, permission
tests), so each diagnosis is tested with a fake probe. Fix texts are exact commands, taken
from the same ``linux_setup.plan`` that ``faceblur-cam setup`` prints.
"""

from __future__ import annotations

import errno
import grp
import logging
import os
import pwd
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from faceblur_cam.doctor.result import CheckResult, fail, ok, warn
from faceblur_cam.platform import linux_setup, linux_sysfs, linux_v4l2
from faceblur_cam.platform.linux_setup import LinuxFacts
from faceblur_cam.platform.linux_sysfs import VideoDevice
from faceblur_cam.platform.plan import SetupPlan, shell_line

log = logging.getLogger(__name__)

VCAM = "virtual camera"
CAMERA = "camera"
SETUP_HINT = "or run: faceblur-cam setup --apply"


def _can_open(path: str) -> bool:
    return os.access(path, os.R_OK | os.W_OK)


def _group_of(path: str) -> str | None:
    try:
        return grp.getgrgid(os.stat(path).st_gid).gr_name
    except (OSError, KeyError):
        return None


def _listed_in_group(name: str) -> bool:
    """The account database puts us in ``name`` (maybe not yet active in this session)."""
    try:
        user = pwd.getpwuid(os.getuid()).pw_name
        group = grp.getgrnam(name)
    except KeyError:
        return False
    return user in group.gr_mem or pwd.getpwnam(user).pw_gid == group.gr_gid


@dataclass
class LinuxProbe:
    """The OS seams of the Linux checks; defaults are the real thing."""

    root: Path | None = None  # None: linux_sysfs.ROOT ("/")
    facts: Callable[[Path | None], LinuxFacts] = linux_setup.observe
    query: Callable[[str], linux_v4l2.Capability] = linux_v4l2.query_capability
    in_use: Callable[[str], bool] = linux_v4l2.capture_in_use
    can_open: Callable[[str], bool] = _can_open
    group_of: Callable[[str], str | None] = _group_of
    in_group: Callable[[str], bool] = linux_setup.in_group
    listed_in_group: Callable[[str], bool] = _listed_in_group


def virtual_camera_checks(label: str, probe: LinuxProbe | None = None) -> list[CheckResult]:
    """Driver loaded, device labelled ``label``, usable by us, exclusive_caps, persistent."""
    probe = probe or LinuxProbe()
    facts = probe.facts(probe.root)
    setup = linux_setup.plan(facts, label, probe.query)
    results = [_driver(facts, setup)]
    ours = next((d for d in facts.devices if d.loopback and d.name == label), None)
    if ours is None:
        if facts.module is None:
            results.append(fail(VCAM, "device", f'no "{label}" device (the driver is not loaded)',
                                "see the driver fix above"))
        else:
            results.append(fail(VCAM, "device", f'v4l2loopback has no device labelled "{label}"',
                                _fix_lines(setup)))
        return results
    results.append(ok(VCAM, "device", f'{ours.path} is labelled "{label}"'))
    results.append(_permission(ours.path, probe))
    results.append(_exclusive_caps(ours, facts, setup, probe))
    missing = [s for s in setup.steps if s.argv[0] == "tee"]
    if missing:
        results.append(warn(VCAM, "at boot", "the device is not created again after a reboot",
                            "\n".join(shell_line(s) for s in missing)))
    else:
        results.append(ok(VCAM, "at boot", f"created at boot ({linux_setup.MODPROBE_CONF})"))
    return results


def _fix_lines(setup: SetupPlan) -> str:
    lines = [f"# {w}" for w in setup.warnings]
    lines += [shell_line(s) for s in setup.steps]
    return "\n".join(lines + [SETUP_HINT])


def _driver(facts: LinuxFacts, setup: SetupPlan) -> CheckResult:
    if facts.module is not None:
        version = facts.module.version or "(unknown version)"
        note = ("; restarts use the built-in work-around for its output bug"
                if facts.module.version_tuple and facts.module.version_tuple < (0, 13) else "")
        return ok(VCAM, "driver", f"v4l2loopback {version} is loaded{note}")
    now = [s for s in setup.steps if s.argv[0] != "tee" and s.argv[0] != "usermod"]
    fix = "\n".join([shell_line(s) for s in now] + [SETUP_HINT])
    if facts.installed:
        return fail(VCAM, "driver", "v4l2loopback is installed but not loaded", fix)
    return fail(VCAM, "driver", f"v4l2loopback is not installed for kernel {facts.release}", fix)


def _permission(path: str, probe: LinuxProbe, area: str = VCAM) -> CheckResult:
    if probe.can_open(path):
        return ok(area, "permission", f"{path} can be opened for reading and writing")
    group = probe.group_of(path) or "video"
    if probe.in_group(group):
        return fail(area, "permission", f"{path} is not writable even for the {group} group",
                    f"sudo chmod 0660 {path} && sudo chgrp {group} {path}")
    if probe.listed_in_group(group):
        return fail(area, "permission", f"you were added to the {group} group, but this session "
                    "started before that", "log out and back in (or reboot)")
    return fail(area, "permission", f"{path} belongs to the {group} group and you are not in it",
                f"sudo usermod -aG {group} $USER   # then log out and back in")


def _exclusive_caps(device: VideoDevice, facts: LinuxFacts, setup: SetupPlan,
                    probe: LinuxProbe) -> CheckResult:
    name = "exclusive_caps"
    problem = (f"{device.path} was created without exclusive_caps=1: Chrome, Edge and web apps "
               "(Meet, Teams, Zoom web) will not list it")
    try:
        cap = probe.query(device.path)
    except OSError as exc:
        log.debug("QUERYCAP %s: %s", device.path, exc)
        cap = None
    if not linux_setup.is_exclusive(facts, device, probe.query):
        return fail(VCAM, name, problem, _fix_lines(setup))
    if cap is None:
        return ok(VCAM, name, "exclusive_caps=1 (module parameter)")
    if cap.output:
        return ok(VCAM, name, "exclusive_caps=1 (Chrome-based apps list it while we publish)")
    if cap.capture:
        return ok(VCAM, name, "exclusive_caps=1; a program is publishing to it now")
    return ok(VCAM, name, "exclusive_caps=1; a previous writer left it without output "
              "(v4l2loopback 0.12 bug, repaired when FaceBlur Cam starts)")


def camera_checks(probe: LinuxProbe | None = None) -> list[CheckResult]:
    """A physical camera exists, we may open it, and no other program is using it."""
    probe = probe or LinuxProbe()
    cameras = [d for d in linux_sysfs.video_devices(probe.root) if not d.virtual and d.index == 0]
    if not cameras:
        return [fail(CAMERA, "present", "no physical camera found",
                     "plug in a webcam (then check 'faceblur-cam devices')")]
    results = [ok(CAMERA, "present", ", ".join(f'{c.path} "{c.name}"' for c in cameras))]
    free = []
    for camera in cameras:
        if not probe.can_open(camera.path):
            results.append(_permission(camera.path, probe, CAMERA))
            continue
        try:
            busy = probe.in_use(camera.path)
        except OSError as exc:
            if exc.errno in (errno.ENOENT, errno.ENODEV):
                results.append(fail(CAMERA, "available", f"{camera.path} was unplugged", None))
                continue
            busy = False
        if busy:
            results.append(warn(CAMERA, "available", f'{camera.path} "{camera.name}" is in use by '
                                "another program", "close the other app using the camera "
                                f"(fuser -v {camera.path} shows which)"))
        else:
            free.append(camera)
    if free:
        results.append(ok(CAMERA, "available", ", ".join(c.path for c in free) + " not in use"))
    elif all(r.ok for r in results):
        results.append(fail(CAMERA, "available", "every camera is in use by another program",
                            "close the app using the camera, then try again"))
    return results
