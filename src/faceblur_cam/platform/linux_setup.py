"""Linux: the commands that create the "FaceBlur Cam" v4l2loopback device now and at boot.

``observe()`` reads the system (sysfs, /etc, PATH); ``plan()`` is pure and turns those facts
into a ``SetupPlan``, so every case is testable with hand-written facts:

- module not installed: install the distribution package first;
- module not loaded: ``modprobe v4l2loopback devices=1 video_nr=N card_label=... exclusive_caps=1``;
- loaded without our device, v4l2loopback 0.13+: ``v4l2loopback-ctl add`` (no reload);
- loaded without our device (or without exclusive_caps), 0.12.x (Debian 12 ships 0.12.7,
  which cannot add devices at run time): unload and reload it, with a warning, because that
  removes the other loopback devices and disconnects the programs using them;
- always: ``/etc/modprobe.d/faceblur-cam.conf`` and ``/etc/modules-load.d/faceblur-cam.conf``.
"""

from __future__ import annotations

import getpass
import logging
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from faceblur_cam.platform import linux_sysfs, linux_v4l2
from faceblur_cam.platform.linux_sysfs import LoopbackModule, VideoDevice
from faceblur_cam.platform.plan import SetupPlan, Step

log = logging.getLogger(__name__)

Query = Callable[[str], linux_v4l2.Capability]

MODPROBE_CONF = "/etc/modprobe.d/faceblur-cam.conf"
MODULES_LOAD_CONF = "/etc/modules-load.d/faceblur-cam.conf"
PREFERRED_VIDEO_NR = 10

_INSTALL = {  # package manager -> command installing v4l2loopback for the running kernel
    "apt-get": ("apt-get", "install", "-y", "v4l2loopback-dkms", "linux-headers-{release}"),
    "dnf": ("dnf", "install", "-y", "v4l2loopback"),
    "pacman": ("pacman", "-S", "--needed", "--noconfirm", "v4l2loopback-dkms"),
    "zypper": ("zypper", "install", "-y", "v4l2loopback-kmp-default"),
}


@dataclass
class LinuxFacts:
    """What ``plan()`` needs to know about the machine."""

    devices: list[VideoDevice]
    module: LoopbackModule | None
    installed: bool  # a v4l2loopback.ko exists for the running kernel
    release: str  # uname -r
    has_ctl: bool  # v4l2loopback-ctl on PATH
    package_manager: str | None  # a key of _INSTALL, or None
    files: dict[str, str] = field(default_factory=dict)  # /etc path -> current content
    other_options: list[str] = field(default_factory=list)  # other modprobe.d files setting v4l2loopback options
    user: str = ""
    needs_video_group: bool = False  # user is not root and not in the "video" group


def observe(root: Path | None = None, release: str | None = None) -> LinuxFacts:
    """Read the facts from the running system (``root``/``release``: a fake tree and kernel
    for tests)."""
    root = root or linux_sysfs.ROOT
    files = {}
    for path in (MODPROBE_CONF, MODULES_LOAD_CONF):
        try:
            files[path] = (root / path.lstrip("/")).read_text(encoding="utf-8")
        except OSError:
            pass
    other = []
    for conf in sorted((root / "etc" / "modprobe.d").glob("*.conf")):
        if conf.name == Path(MODPROBE_CONF).name:
            continue
        try:
            text = conf.read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        if any(line.split()[:2] == ["options", "v4l2loopback"] for line in text.splitlines()):
            other.append(f"/etc/modprobe.d/{conf.name}")
    user = _user()
    release = release or os.uname().release
    return LinuxFacts(
        devices=linux_sysfs.video_devices(root),
        module=linux_sysfs.loopback_module(root, release),
        installed=linux_sysfs.loopback_installed(root, release),
        release=release,
        has_ctl=shutil.which("v4l2loopback-ctl") is not None,
        package_manager=next((pm for pm in _INSTALL if shutil.which(pm)), None),
        files=files,
        other_options=other,
        user=user,
        # no "video" group: device access comes from elsewhere (e.g. logind's uaccess)
        needs_video_group=os.geteuid() != 0 and _group_exists("video") and not in_group("video"),
    )


def _user() -> str:
    try:
        return os.environ.get("SUDO_USER") or getpass.getuser()
    except Exception:  # no passwd entry (containers)
        return str(os.getuid())


def in_group(name: str) -> bool:
    """This process has group ``name`` (False if there is no such group)."""
    import grp

    try:
        gid = grp.getgrnam(name).gr_gid
    except KeyError:
        return False
    return gid in os.getgroups() or gid == os.getegid()


def _group_exists(name: str) -> bool:
    import grp

    try:
        grp.getgrnam(name)
    except KeyError:
        return False
    return True


def module_options(label: str, video_nr: int) -> tuple[str, ...]:
    """The module parameters we load v4l2loopback with (exclusive_caps for Chrome-based apps)."""
    return ("devices=1", f"video_nr={video_nr}", f"card_label={label}", "exclusive_caps=1")


def modprobe_conf(label: str, video_nr: int) -> str:
    """Content of /etc/modprobe.d/faceblur-cam.conf."""
    values = [f'card_label="{label}"' if o.startswith("card_label=") else o
              for o in module_options(label, video_nr)]
    return "options v4l2loopback " + " ".join(values) + "\n"


def plan(facts: LinuxFacts, label: str, query: Query = linux_v4l2.query_capability) -> SetupPlan:
    """The steps that make the loopback device labelled ``label`` exist now and at boot.
    ``query`` is VIDIOC_QUERYCAP (faked in tests), used to see whether our device has
    exclusive_caps."""
    result = SetupPlan()
    ours = next((d for d in facts.devices if d.loopback and d.name == label), None)
    module = facts.module
    if module is None:
        action = "install" if not facts.installed else "load"
    elif ours is not None and is_exclusive(facts, ours, query):
        action = "none"
    elif ours is None and module.can_add_devices and facts.has_ctl:
        action = "add"
    else:
        action = "reload"
    # a reload removes every loopback device, so their numbers are free again
    staying = [d for d in facts.devices if not (action == "reload" and d.loopback)]
    video_nr = ours.number if ours else linux_sysfs.free_video_number(staying, PREFERRED_VIDEO_NR)
    load = Step(f'create /dev/video{video_nr} labelled "{label}"',
                ("modprobe", "v4l2loopback", *module_options(label, video_nr)))

    if action == "install":
        result.steps += [_install_step(facts, result), load]
    elif action == "load":
        result.steps.append(load)
    elif action == "none":
        result.ready = True
    elif action == "add":
        assert module is not None
        result.steps.append(Step(
            f'add /dev/video{video_nr} labelled "{label}" (v4l2loopback {module.version})',
            ("v4l2loopback-ctl", "add", "-n", label, "-x", "1", f"/dev/video{video_nr}")))
    else:
        result.warnings.append(_reload_warning(facts, label, ours))
        result.steps += [Step("unload v4l2loopback", ("modprobe", "-r", "v4l2loopback")), load]

    for path, content, why in (
        (MODPROBE_CONF, modprobe_conf(label, video_nr), "create the device at every boot"),
        (MODULES_LOAD_CONF, "v4l2loopback\n", "load v4l2loopback at every boot"),
    ):
        if facts.files.get(path) != content:
            result.steps.append(Step(why, ("tee", path), stdin=content))
    if facts.other_options:
        result.warnings.append(
            "Other v4l2loopback options are set in " + ", ".join(facts.other_options)
            + "; they are combined with ours at boot. Remove them if the device does not appear.")
    if facts.needs_video_group and facts.user:
        result.steps.append(Step(f"let {facts.user} use video devices (log out and in afterwards)",
                                 ("usermod", "-aG", "video", facts.user)))
    return result


def is_exclusive(facts: LinuxFacts, device: VideoDevice, query: Query) -> bool:
    """Whether ``device`` was created with exclusive_caps=1 (needed by Chrome-based apps):
    such a device never offers CAPTURE and OUTPUT at once. If it cannot be queried (no
    permission), the module parameter says, by the device's position among loopback devices."""
    try:
        cap = query(device.path)
        return not (cap.capture and cap.output)
    except OSError:
        pass
    loops = [d for d in facts.devices if d.loopback]
    position = loops.index(device) if device in loops else 0
    flags = facts.module.exclusive_caps if facts.module else ()
    return flags[position] if position < len(flags) else True


def _install_step(facts: LinuxFacts, result: SetupPlan) -> Step:
    pm = facts.package_manager
    if pm is None:
        result.warnings.append("Install v4l2loopback for your kernel from your distribution, "
                               "then run 'faceblur-cam setup' again.")
        return Step("install v4l2loopback", ("false",), root=False)
    argv = tuple(a.format(release=facts.release) for a in _INSTALL[pm])
    return Step("install the v4l2loopback kernel module", argv)


def _reload_warning(facts: LinuxFacts, label: str, ours: VideoDevice | None) -> str:
    assert facts.module is not None
    others = [f'{d.path} "{d.name}"' for d in facts.devices if d.loopback and d is not ours]
    why = (f'v4l2loopback {facts.module.version or "(old version)"} is loaded '
           + ("without exclusive_caps on our device" if ours else f'without a "{label}" device')
           + " and cannot add one while loaded, so it must be reloaded.")
    if others:
        return (why + " Reloading removes " + ", ".join(others)
                + ": close the programs using them first (e.g. OBS); they are disconnected.")
    return why + " Programs using a loopback camera now are disconnected."
