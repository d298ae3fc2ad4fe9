"""Linux autostart: the XDG ``.desktop`` entry, written for real into temp XDG folders.

Fake interpreters here are small scripts created as new files in ``tmp_path`` (never symlinks to
a real Python: writing through such a symlink would overwrite the real interpreter).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from evaluate import eval_dir
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image
from processes import signal_when

from faceblur_cam.autostart import AutostartState, desktop_entry, get_autostart, launch_command
from faceblur_cam.autostart.linux import XdgAutostart, xdg_dir

NASTY_DIR = "my apps/50% $HOME \"quoted\" back\\slash 'single' #hash ~tilde (x) ünï"
AT_LOGIN = ["-m", "faceblur_cam", "run", "--at-login"]
EVAL_IMAGES = eval_dir() / "otb_girl" / "img"


def make_interpreter(path: Path, script: str = "#!/bin/sh\nexit 0\n") -> str:
    """A new executable file at ``path`` standing in for a Python interpreter."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(script)
    path.chmod(0o755)
    return str(path)


@pytest.fixture
def xdg(tmp_path: Path) -> tuple[Path, Path]:
    return tmp_path / "config", tmp_path / "data"


def tree(root: Path) -> set[Path]:
    return {p for p in root.rglob("*") if p.is_file()}


# --- the Desktop Entry format ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "exec_value"),
    [
        (["/usr/bin/python3", "-m", "faceblur_cam"], "/usr/bin/python3 -m faceblur_cam"),
        (["/opt/my app/python"], '"/opt/my app/python"'),
        (["/opt/100%/python"], "/opt/100%%/python"),
        (["/a $b/python"], '"/a \\$b/python"'),
        (['/a "b"/python'], '"/a \\"b\\"/python"'),
        (["/a\\b/python"], '"/a\\\\b/python"'),
        (["/a`b`/python"], '"/a\\`b\\`/python"'),
        (["/a'b/python"], '"/a\'b/python"'),
        (["x", ""], 'x ""'),
    ],
)
def test_format_exec_follows_the_spec_quoting_rules(argv: list[str], exec_value: str) -> None:
    assert desktop_entry.format_exec(argv) == exec_value
    assert desktop_entry.parse_exec(exec_value) == argv


def test_string_escaping_doubles_backslashes_after_exec_quoting() -> None:
    exec_value = desktop_entry.format_exec(["/a\\b/python"])  # "/a\\b/python"
    text = desktop_entry.render([("Exec", exec_value)])
    assert 'Exec="/a\\\\\\\\b/python"' in text  # four backslashes in the file
    assert desktop_entry.parse_exec(desktop_entry.parse(text)["Exec"]) == ["/a\\b/python"]


arg_text = st.text(st.characters(codec="utf-8", exclude_characters="\x00"))


@given(st.lists(arg_text, min_size=1, max_size=5))
def test_exec_round_trips_any_argv_through_a_file(argv: list[str]) -> None:
    text = desktop_entry.render([("Exec", desktop_entry.format_exec(argv))])
    assert desktop_entry.parse_exec(desktop_entry.parse(text)["Exec"]) == argv


@given(arg_text)
def test_string_values_round_trip(value: str) -> None:
    assert desktop_entry.unescape_string(desktop_entry.escape_string(value)) == value
    assert "\n" not in desktop_entry.escape_string(value)


def test_other_field_codes_are_kept_so_a_foreign_command_differs() -> None:
    assert desktop_entry.parse_exec("app %f --x") == ["app", "%f", "--x"]
    with pytest.raises(ValueError, match="unclosed quote"):
        desktop_entry.parse_exec('"/usr/bin/app')


def test_parse_requires_the_desktop_entry_group() -> None:
    with pytest.raises(ValueError, match="Desktop Entry"):
        desktop_entry.parse("[Other]\nExec=x\n")
    entries = desktop_entry.parse("# c\n[Desktop Entry]\nName = A\n[Extra]\nName=B\n")
    assert entries == {"Name": "A"}


# --- the XDG autostart entry -------------------------------------------------------------------


def test_enable_writes_a_valid_entry_that_parses_back(
    xdg: tuple[Path, Path], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    exe = make_interpreter(tmp_path / NASTY_DIR / "bin" / "python")
    autostart = XdgAutostart(*xdg, executable=exe)

    status = autostart.enable()

    entry_path = xdg[0] / "autostart" / "faceblur-cam.desktop"
    assert status.state is AutostartState.ENABLED and status.enabled
    assert status.location == str(entry_path)
    assert status.command == (exe, *AT_LOGIN)
    if shutil.which("desktop-file-validate") is None:
        pytest.skip("desktop-file-validate missing: install desktop-file-utils (tests/run.sh does)")
    check = subprocess.run(
        ["desktop-file-validate", str(entry_path)], check=False, capture_output=True, text=True
    )
    assert check.returncode == 0 and check.stdout == "", check.stdout + check.stderr
    entry = desktop_entry.parse(entry_path.read_text(encoding="utf-8"))
    assert entry["Type"] == "Application"
    assert entry["Name"] == "FaceBlur Cam"
    assert entry["Comment"]
    assert entry["TryExec"] == exe
    assert desktop_entry.parse_exec(entry["Exec"]) == [exe, *AT_LOGIN]
    assert "%%" in entry["Exec"]  # the % in the folder name is escaped...
    assert "GLib-based desktops will not start it" in caplog.text  # ...and GNOME's quirk named
    assert entry["Icon"] == "faceblur-cam"
    for size in (16, 32, 64, 256):  # the theme icon, in the size folders it is looked up in
        icon = xdg[1] / "icons" / "hicolor" / f"{size}x{size}" / "apps" / "faceblur-cam.png"
        with Image.open(icon) as image:
            assert image.size == (size, size)


def test_glib_launches_exactly_the_stored_command(xdg: tuple[Path, Path], tmp_path: Path) -> None:
    """GLib (what GNOME's session uses to run autostart entries) parses our Exec line into the
    argv we meant, even through a folder name full of reserved characters."""
    if shutil.which("gio") is None:
        pytest.skip("gio missing: install libglib2.0-bin (tests/run.sh does)")
    record = tmp_path / "argv.txt"
    # GLib looks up the program before expanding %% (linux.py warns about it), so no % here
    exe = make_interpreter(
        tmp_path / NASTY_DIR.replace("%", "") / "python",
        f'#!/bin/sh\nfor a in "$0" "$@"; do printf "%s\\n" "$a"; done > "{record}.tmp"\n'
        f'mv "{record}.tmp" "{record}"\n',
    )
    XdgAutostart(*xdg, executable=exe).enable()

    subprocess.run(
        ["gio", "launch", str(xdg[0] / "autostart" / "faceblur-cam.desktop")],
        check=True,
        timeout=20,
        capture_output=True,
    )
    deadline = time.monotonic() + 10
    while not record.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert record.read_text(encoding="utf-8").splitlines() == [exe, *AT_LOGIN]


def test_enabling_twice_is_harmless(xdg: tuple[Path, Path], tmp_path: Path) -> None:
    autostart = XdgAutostart(*xdg, executable=make_interpreter(tmp_path / "venv/bin/python"))
    first = autostart.enable()
    files, text = tree(tmp_path), (xdg[0] / "autostart" / "faceblur-cam.desktop").read_bytes()

    second = autostart.enable()

    assert first == second and second.enabled
    assert tree(tmp_path) == files  # no temp files or second entries left behind
    assert (xdg[0] / "autostart" / "faceblur-cam.desktop").read_bytes() == text


def test_only_the_users_entry_and_icon_are_written(xdg: tuple[Path, Path], tmp_path: Path) -> None:
    exe = make_interpreter(tmp_path / "venv/bin/python")
    before = tree(tmp_path)
    autostart = XdgAutostart(*xdg, executable=exe)

    autostart.enable()

    assert tree(tmp_path) - before == {
        xdg[0] / "autostart" / "faceblur-cam.desktop",
        *(
            xdg[1] / "icons" / "hicolor" / f"{n}x{n}" / "apps" / "faceblur-cam.png"
            for n in (16, 22, 24, 32, 48, 64, 128, 256)
        ),
    }
    assert autostart.disable().state is AutostartState.DISABLED
    assert tree(tmp_path) == before


def test_disable_removes_the_entry_and_twice_is_harmless(
    xdg: tuple[Path, Path], tmp_path: Path
) -> None:
    autostart = XdgAutostart(*xdg, executable=make_interpreter(tmp_path / "python"))
    assert autostart.status().state is AutostartState.DISABLED
    autostart.enable()

    off = autostart.disable()

    assert off.state is AutostartState.DISABLED and not off.enabled
    assert not (xdg[0] / "autostart" / "faceblur-cam.desktop").exists()
    assert autostart.disable() == off


def test_missing_interpreter_is_stale_and_enable_repairs_it(
    xdg: tuple[Path, Path], tmp_path: Path
) -> None:
    old = make_interpreter(tmp_path / "old-venv/bin/python")
    XdgAutostart(*xdg, executable=old).enable()
    os.remove(old)
    current = XdgAutostart(*xdg, executable=make_interpreter(tmp_path / "new-venv/bin/python"))

    stale = current.status()

    assert stale.state is AutostartState.STALE and not stale.enabled
    assert old in stale.reason and "no longer exists" in stale.reason
    assert stale.command[0] == old
    repaired = current.enable()
    assert repaired.enabled and repaired.command[0] == str(tmp_path / "new-venv/bin/python")


def test_a_different_command_is_stale(xdg: tuple[Path, Path], tmp_path: Path) -> None:
    other = make_interpreter(tmp_path / "other/python")
    XdgAutostart(*xdg, executable=other).enable()
    mine = XdgAutostart(*xdg, executable=make_interpreter(tmp_path / "mine/python"))

    status = mine.status()

    assert status.state is AutostartState.STALE
    assert "instead of" in status.reason and other in status.reason
    assert mine.enable().enabled


@pytest.mark.parametrize("switch", ["Hidden=true", "X-GNOME-Autostart-enabled=false"])
def test_entry_switched_off_by_the_desktop_reads_as_disabled(
    xdg: tuple[Path, Path], tmp_path: Path, switch: str
) -> None:
    autostart = XdgAutostart(*xdg, executable=make_interpreter(tmp_path / "python"))
    autostart.enable()
    path = xdg[0] / "autostart" / "faceblur-cam.desktop"
    text = path.read_text().replace("X-GNOME-Autostart-enabled=true\n", "")
    path.write_text(text + switch + "\n")

    status = autostart.status()

    assert status.state is AutostartState.DISABLED and "switched off" in status.reason
    assert autostart.enable().enabled
    assert switch not in path.read_text()


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"\xff\xfe not utf-8", "damaged"),
        (b"no group here\n", "damaged"),
        (b'[Desktop Entry]\nExec="/x\n', "damaged"),
        (b"[Desktop Entry]\nType=Application\n", "no command"),
    ],
)
def test_damaged_entry_is_stale_and_enable_repairs_it(
    xdg: tuple[Path, Path], tmp_path: Path, content: bytes, reason: str
) -> None:
    path = xdg[0] / "autostart" / "faceblur-cam.desktop"
    path.parent.mkdir(parents=True)
    path.write_bytes(content)
    autostart = XdgAutostart(*xdg, executable=make_interpreter(tmp_path / "python"))

    status = autostart.status()

    assert status.state is AutostartState.STALE and reason in status.reason
    assert autostart.enable().enabled


def test_unwritable_folder_gives_an_actionable_error(
    xdg: tuple[Path, Path], tmp_path: Path
) -> None:
    from faceblur_cam.autostart import AutostartError

    xdg[0].mkdir()
    (xdg[0] / "autostart").write_text("a file where the folder should be")
    autostart = XdgAutostart(*xdg, executable=make_interpreter(tmp_path / "python"))

    with pytest.raises(AutostartError, match="cannot write .*autostart"):
        autostart.enable()


def test_stored_interpreter_is_the_unresolved_venv_symlink(
    xdg: tuple[Path, Path], tmp_path: Path
) -> None:
    base = make_interpreter(tmp_path / "base/bin/python3.11")
    venv_python = tmp_path / "venv/bin/python"
    venv_python.parent.mkdir(parents=True)
    venv_python.symlink_to(base)

    status = XdgAutostart(*xdg, executable=str(venv_python)).enable()

    assert status.enabled and status.command[0] == str(venv_python)
    assert launch_command()[0] == sys.executable  # default: sys.executable exactly as given


def test_another_name_for_the_same_venv_python_is_not_stale(
    xdg: tuple[Path, Path], tmp_path: Path
) -> None:
    """``python -m faceblur_cam`` stores ``.venv/bin/python``, the ``faceblur-cam`` script
    ``.venv/bin/python3``: one installation. Another venv, or python2 beside python3, is not."""
    python3 = make_interpreter(tmp_path / "venv/bin/python3")
    (tmp_path / "venv/bin/python").symlink_to("python3")
    python2 = make_interpreter(tmp_path / "venv/bin/python2")
    other = make_interpreter(tmp_path / "other-venv/bin/python3")
    XdgAutostart(*xdg, executable=python3).enable()

    assert XdgAutostart(*xdg, executable=str(tmp_path / "venv/bin/python")).status().enabled
    assert XdgAutostart(*xdg, executable=python2).status().state is AutostartState.STALE
    assert XdgAutostart(*xdg, executable=other).status().state is AutostartState.STALE


def test_xdg_dirs_follow_the_base_directory_spec(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert xdg_dir("XDG_CONFIG_HOME", ".config", {}) == tmp_path / "home/.config"
    assert (
        xdg_dir("XDG_CONFIG_HOME", ".config", {"XDG_CONFIG_HOME": "rel"})
        == tmp_path / "home/.config"
    )
    assert xdg_dir("XDG_CONFIG_HOME", ".config", {"XDG_CONFIG_HOME": "/x/cfg"}) == Path("/x/cfg")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "cfg"))
    for platform in ("linux", "freebsd14"):
        assert get_autostart(platform).location == str(
            tmp_path / "cfg/autostart/faceblur-cam.desktop"
        )


# --- for real: the written Exec command starts the app ----------------------------------------


@pytest.mark.e2e
def test_written_exec_starts_the_app_headless_and_it_exits_on_request(
    xdg: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The entry this venv writes, run as a desktop session would (Exec split per the spec),
    starts FaceBlur Cam: on a folder of images, without a tray, it publishes protected frames
    to a fake virtual camera until SIGTERM, then exits 0."""
    if not EVAL_IMAGES.is_dir():
        pytest.skip(f"{EVAL_IMAGES} is not here")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(xdg[0]))
    monkeypatch.setenv("XDG_DATA_HOME", str(xdg[1]))
    assert get_autostart().enable().enabled
    entry = desktop_entry.parse(
        (xdg[0] / "autostart" / "faceblur-cam.desktop").read_text(encoding="utf-8")
    )
    argv = desktop_entry.parse_exec(entry["Exec"])
    assert argv == [sys.executable, *AT_LOGIN]
    assert os.access(entry["TryExec"], os.X_OK)
    # the login command as stored, plus: headless, a file instead of the webcam, a fake camera
    argv += ["--no-tray", "--source", str(EVAL_IMAGES), "--vcam-backend", FAKE_VCAM]
    published = tmp_path / "published"
    (tmp_path / "runtime").mkdir(mode=0o700)  # else platformdirs falls back to the shared /tmp/runtime-<uid>
    env = {
        **os.environ,
        "FACEBLUR_FAKE_VCAM_DIR": str(published),
        "PYTHONUNBUFFERED": "1",
        # its own single-instance lock and log folder: other FaceBlur Cams may be running
        "XDG_RUNTIME_DIR": str(tmp_path / "runtime"),
        "XDG_STATE_HOME": str(tmp_path / "state"),
        "XDG_CACHE_HOME": str(tmp_path / "cache"),
    }
    proc = subprocess.Popen(
        argv, env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    # 120 s: the model loads on a busy 2-core machine
    output = signal_when(proc, (published / "latest.png").exists, "a published frame", timeout=120)
    assert proc.returncode == 0, output
    assert "Traceback" not in output, output


FAKE_VCAM = "faceblur_cam.sinks.fake_vcam:FakeCameraBackend"


# --- the CLI: faceblur-cam autostart enable|disable|status ------------------------------------


@pytest.fixture
def cli_env(xdg: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(xdg[0]))
    monkeypatch.setenv("XDG_DATA_HOME", str(xdg[1]))
    return xdg[0] / "autostart" / "faceblur-cam.desktop"


def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    from faceblur_cam.cli import main

    code = main(["autostart", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_enable_status_disable(cli_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = cli(capsys, "status")
    assert code == 0 and out.startswith("Start at login: off\n")
    assert "faceblur-cam autostart enable" in out

    code, out, _ = cli(capsys, "enable")
    assert code == 0 and out.startswith("Start at login: on\n")
    assert f"entry:   {cli_env}" in out and sys.executable in out
    assert cli_env.is_file()

    code, out, _ = cli(capsys, "enable")
    assert code == 0 and out.startswith("Start at login: on (it already was)")

    code, out, _ = cli(capsys, "status")
    assert code == 0 and out.startswith("Start at login: on\n")

    code, out, _ = cli(capsys, "disable")
    assert code == 0 and out.startswith(f"Start at login: off (removed {cli_env})")
    assert not cli_env.exists()

    code, out, _ = cli(capsys, "disable")
    assert code == 0 and out.startswith("Start at login: off (it already was)")


def test_cli_reports_and_repairs_a_stale_entry(
    cli_env: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    gone = make_interpreter(tmp_path / "deleted-venv/bin/python")
    XdgAutostart(cli_env.parents[1], tmp_path / "data", executable=gone).enable()
    os.remove(gone)

    code, out, _ = cli(capsys, "status")
    assert code == 0
    assert out.startswith(f"Start at login: broken: the Python it starts, {gone}, no longer exists")
    assert "Repair it with: faceblur-cam autostart enable" in out

    code, out, _ = cli(capsys, "enable")
    assert code == 0 and out.startswith("Start at login: on (repaired: the Python it starts")
    assert desktop_entry.parse(cli_env.read_text())["TryExec"] == sys.executable


def test_cli_error_is_a_message_not_a_traceback(
    cli_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cli_env.parent.parent.mkdir(parents=True)
    cli_env.parent.write_text("a file where the autostart folder should be")

    code, out, err = cli(capsys, "enable")

    assert code == 2 and out == ""
    assert err.startswith("faceblur-cam: cannot write ") and "writable" in err
    assert "Traceback" not in err
