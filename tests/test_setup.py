"""``faceblur-cam setup``: the plan for every v4l2loopback situation, how it is printed, and
how ``--apply`` runs it (with a fake runner; the VM test runs it for real as root)."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest
from fake_linux import RELEASE, FakeLinux

from faceblur_cam.commands import setup as setup_cmd
from faceblur_cam.errors import UserError
from faceblur_cam.platform import linux_setup, linux_sysfs, linux_v4l2
from faceblur_cam.platform.linux_setup import LinuxFacts, plan
from faceblur_cam.platform.plan import SetupPlan, Step, shell_line

LABEL = "FaceBlur Cam"
LOAD = 'modprobe v4l2loopback devices=1 video_nr=10 card_label="FaceBlur Cam" exclusive_caps=1'
CONF = 'options v4l2loopback devices=1 video_nr=10 card_label="FaceBlur Cam" exclusive_caps=1\n'


def loop(n: int, name: str) -> linux_sysfs.VideoDevice:
    return linux_sysfs.VideoDevice(f"/dev/video{n}", n, name, True, True, 0)


def facts(**kw: object) -> LinuxFacts:
    base: dict[str, object] = dict(devices=[], module=None, installed=True, release=RELEASE,
                                   has_ctl=False, package_manager="apt-get", user="ana")
    base.update(kw)
    return LinuxFacts(**base)  # type: ignore[arg-type]


def lines(p: SetupPlan) -> list[str]:
    return [shell_line(s) for s in p.steps]


@pytest.fixture(autouse=True)
def no_real_ioctls(monkeypatch: pytest.MonkeyPatch) -> None:
    """Exclusive-caps probing falls back to the module parameter (no device nodes here)."""
    def fail(_dev: str) -> linux_v4l2.Capability:
        raise OSError(2, "no device")
    monkeypatch.setattr(linux_v4l2, "query_capability", fail)


def test_not_installed_installs_loads_and_persists() -> None:
    p = plan(facts(installed=False), LABEL)
    assert lines(p) == [
        f"sudo apt-get install -y v4l2loopback-dkms linux-headers-{RELEASE}",
        f"sudo {LOAD}",
        f"echo '{CONF.strip()}' | sudo tee /etc/modprobe.d/faceblur-cam.conf >/dev/null",
        "echo v4l2loopback | sudo tee /etc/modules-load.d/faceblur-cam.conf >/dev/null",
    ]
    assert not p.ready and not p.warnings


def test_installed_but_not_loaded_just_loads() -> None:
    p = plan(facts(), LABEL)
    assert lines(p)[0] == f"sudo {LOAD}" and len(p.steps) == 3
    assert p.steps[0].argv == ("modprobe", "v4l2loopback", "devices=1", "video_nr=10",
                               "card_label=FaceBlur Cam", "exclusive_caps=1")


def test_old_module_loaded_without_our_device_is_reloaded_with_a_warning() -> None:
    module = linux_sysfs.LoopbackModule("0.12.7", (True,))
    camera = linux_sysfs.VideoDevice("/dev/video0", 0, "USB Camera", False, False, 0)
    p = plan(facts(module=module, devices=[camera, loop(10, "OBS Virtual Camera")], has_ctl=True), LABEL)
    # the reload frees /dev/video10, so ours takes it
    assert lines(p)[:2] == ["sudo modprobe -r v4l2loopback", f"sudo {LOAD}"]
    assert len(p.warnings) == 1 and '/dev/video10 "OBS Virtual Camera"' in p.warnings[0]
    assert "0.12.7" in p.warnings[0] and "disconnected" in p.warnings[0]


def test_new_module_adds_a_device_without_reloading() -> None:
    module = linux_sysfs.LoopbackModule("0.13.2", (True,))
    p = plan(facts(module=module, devices=[loop(10, "OBS Virtual Camera")], has_ctl=True), LABEL)
    assert lines(p)[0] == 'sudo v4l2loopback-ctl add -n "FaceBlur Cam" -x 1 /dev/video11'
    assert not p.warnings and not any(line.startswith("sudo modprobe") for line in lines(p))


def test_new_module_without_the_ctl_tool_falls_back_to_reloading() -> None:
    module = linux_sysfs.LoopbackModule("0.13.2", ())
    p = plan(facts(module=module), LABEL)
    assert lines(p)[0] == "sudo modprobe -r v4l2loopback" and p.warnings


def test_our_device_ready_and_persistent_means_nothing_to_do() -> None:
    module = linux_sysfs.LoopbackModule("0.12.7", (True,))
    p = plan(facts(module=module, devices=[loop(10, LABEL)], files={
        linux_setup.MODPROBE_CONF: CONF, linux_setup.MODULES_LOAD_CONF: "v4l2loopback\n"}), LABEL)
    assert p.ready and p.steps == [] and p.warnings == []


def test_our_device_without_exclusive_caps_must_be_reloaded() -> None:
    module = linux_sysfs.LoopbackModule("0.12.7", (False,))
    p = plan(facts(module=module, devices=[loop(10, LABEL)]), LABEL)
    assert not p.ready and lines(p)[0] == "sudo modprobe -r v4l2loopback"
    assert "exclusive_caps" in p.warnings[0]


def test_video_group_and_conflicting_options_are_reported() -> None:
    p = plan(facts(needs_video_group=True, other_options=["/etc/modprobe.d/obs.conf"]), LABEL)
    assert lines(p)[-1] == "sudo usermod -aG video ana"
    assert "/etc/modprobe.d/obs.conf" in p.warnings[0]


def test_observe_reads_the_machine(tmp_path: Path) -> None:
    fake = FakeLinux(tmp_path)
    fake.module("0.12.7", version_file=False)
    fake.loopback(10, LABEL)
    fake.etc("/etc/modprobe.d/faceblur-cam.conf", CONF)
    fake.etc("/etc/modprobe.d/obs.conf", "options v4l2loopback exclusive_caps=1\n")
    fake.etc("/etc/modprobe.d/blacklist.conf", "blacklist pcspkr\n")
    seen = linux_setup.observe(tmp_path, release=RELEASE)
    assert seen.installed and seen.module is not None and seen.module.version == "0.12.7"
    assert [d.name for d in seen.devices] == [LABEL]
    assert seen.files == {linux_setup.MODPROBE_CONF: CONF}
    assert seen.other_options == ["/etc/modprobe.d/obs.conf"]
    p = plan(seen, LABEL)
    assert p.ready and lines(p) == [
        "echo v4l2loopback | sudo tee /etc/modules-load.d/faceblur-cam.conf >/dev/null"]


def test_apply_runs_steps_in_order_with_elevation_and_stops_at_failure(capsys) -> None:
    p = SetupPlan(steps=[Step("a", ("modprobe", "x")), Step("b", ("tee", "/etc/f"), stdin="v\n"),
                         Step("c", ("true",))])
    ran: list[tuple[list[str], str | None]] = []

    def runner(argv, stdin):  # type: ignore[no-untyped-def]
        ran.append((list(argv), stdin))
        return 1 if argv[-1] == "/etc/f" else 0

    assert setup_cmd.apply_plan(p, ("pkexec",), runner) == 1
    assert ran == [(["pkexec", "modprobe", "x"], None), (["pkexec", "tee", "/etc/f"], "v\n")]
    assert "nothing after it was run" in capsys.readouterr().err


def args(**kw: object) -> argparse.Namespace:
    return argparse.Namespace(**{"apply": False, "yes": False, "label": LABEL, **kw})


def test_without_apply_only_prints(capsys) -> None:
    p = plan(facts(), LABEL)
    ran: list[object] = []
    assert setup_cmd.run_setup(args(), p, lambda a, s: ran.append(a) or 0) == 0
    out = capsys.readouterr().out
    assert ran == [] and f"sudo {LOAD}" in out and "faceblur-cam setup --apply" in out


def test_reload_needs_consent(monkeypatch: pytest.MonkeyPatch) -> None:
    p = plan(facts(module=linux_sysfs.LoopbackModule("0.12.7", (True,)),
                   devices=[loop(3, "OBS")]), LABEL)
    monkeypatch.setattr("sys.stdin.isatty", lambda: False)
    with pytest.raises(UserError, match="--yes"):
        setup_cmd.run_setup(args(apply=True), p, lambda a, s: 0)


def test_nothing_to_do_says_ready(capsys) -> None:
    assert setup_cmd.run_setup(args(apply=True), SetupPlan(ready=True), lambda a, s: 1) == 0
    assert "is ready" in capsys.readouterr().out


def test_windows_and_macos_get_instructions_only(capsys) -> None:
    from faceblur_cam.platform import macos

    ran: list[object] = []
    assert setup_cmd.run_setup(args(apply=True), macos.setup_plan(LABEL), lambda a, s: ran.append(a) or 0) == 0
    out = capsys.readouterr().out
    assert ran == [] and "OBS Studio 30" in out and "Nothing here can be run for you" in out


def test_windows_instructions_register_unity_capture_under_our_name() -> None:
    from faceblur_cam.platform import windows

    plan = windows.setup_plan(LABEL)
    assert not plan.steps and not plan.ready
    assert any('regsvr32 "UnityCaptureFilter64.dll" "/i:UnityCaptureName=FaceBlur Cam"' in n for n in plan.notes)
