"""macOS autostart: the LaunchAgent plist, tested through the filesystem adapter everywhere."""

from __future__ import annotations

import os
import plistlib
from pathlib import Path

import pytest

from faceblur_cam.autostart import AutostartError, AutostartState, get_autostart
from faceblur_cam.autostart.files import LocalFiles, MemoryFiles
from faceblur_cam.autostart.macos import LABEL, LaunchAgentAutostart

AT_LOGIN = ["-m", "faceblur_cam", "run", "--at-login"]
HOME = Path("/Users/ada")
PLIST = HOME / "Library" / "LaunchAgents" / "io.faceblurcam.agent.plist"


def make_interpreter(path: Path) -> str:
    """A new file at ``path`` standing in for the venv's python (only its existence matters)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"")
    return str(path)


@pytest.fixture
def files() -> MemoryFiles:
    return MemoryFiles()


def test_enable_writes_a_launch_agent_that_round_trips(files: MemoryFiles, tmp_path: Path) -> None:
    exe = make_interpreter(tmp_path / "my venv" / "bin" / "python")

    status = LaunchAgentAutostart(HOME, exe, files).enable()

    assert status.enabled and status.location == str(PLIST)
    assert set(files.files) == {PLIST}
    data = files.files[PLIST]
    assert data.startswith(b"<?xml")  # XML, readable and editable by people and plutil
    agent = plistlib.loads(data)
    assert agent["Label"] == LABEL == "io.faceblurcam.agent"
    assert agent["ProgramArguments"] == [exe, *AT_LOGIN]
    assert agent["RunAtLoad"] is True
    assert agent["LimitLoadToSessionType"] == "Aqua"
    assert plistlib.dumps(agent, fmt=plistlib.FMT_XML) == data


def test_enabling_twice_is_harmless(files: MemoryFiles, tmp_path: Path) -> None:
    autostart = LaunchAgentAutostart(HOME, make_interpreter(tmp_path / "python"), files)
    first = autostart.enable()
    data = dict(files.files)

    assert autostart.enable() == first
    assert files.files == data


def test_disable_removes_the_agent_and_twice_is_harmless(
    files: MemoryFiles, tmp_path: Path
) -> None:
    autostart = LaunchAgentAutostart(HOME, make_interpreter(tmp_path / "python"), files)
    assert autostart.status().state is AutostartState.DISABLED
    autostart.enable()

    off = autostart.disable()

    assert off.state is AutostartState.DISABLED and files.files == {}
    assert autostart.disable() == off


def test_missing_interpreter_is_stale_and_enable_repairs_it(
    files: MemoryFiles, tmp_path: Path
) -> None:
    old = make_interpreter(tmp_path / "old" / "python")
    LaunchAgentAutostart(HOME, old, files).enable()
    os.remove(old)
    current = LaunchAgentAutostart(HOME, make_interpreter(tmp_path / "new" / "python"), files)

    stale = current.status()

    assert stale.state is AutostartState.STALE and old in stale.reason
    assert stale.command == (old, *AT_LOGIN)
    assert current.enable().enabled
    assert plistlib.loads(files.files[PLIST])["ProgramArguments"][0] == str(
        tmp_path / "new" / "python"
    )


@pytest.mark.parametrize(
    ("agent", "state", "reason"),
    [
        (
            {
                "Label": LABEL,
                "ProgramArguments": ["{exe}", "-m", "faceblur_cam"],
                "RunAtLoad": True,
            },
            AutostartState.STALE,
            "instead of",
        ),
        ({"Label": LABEL, "Program": "{exe}"}, AutostartState.STALE, "no usable ProgramArguments"),
        (
            {"Label": LABEL, "ProgramArguments": ["{exe}", *AT_LOGIN], "RunAtLoad": False},
            AutostartState.DISABLED,
            "not to run at login",
        ),
        (
            {"Label": LABEL, "ProgramArguments": ["{exe}", *AT_LOGIN], "Disabled": True},
            AutostartState.DISABLED,
            "not to run at login",
        ),
    ],
)
def test_agents_that_would_not_start_this_install_are_not_enabled(
    files: MemoryFiles,
    tmp_path: Path,
    agent: dict[str, object],
    state: AutostartState,
    reason: str,
) -> None:
    exe = make_interpreter(tmp_path / "python")
    text = plistlib.dumps(agent).decode().replace("{exe}", exe)
    files.write_bytes(PLIST, text.encode())
    autostart = LaunchAgentAutostart(HOME, exe, files)

    status = autostart.status()

    assert status.state is state and reason in status.reason
    assert autostart.enable().enabled


@pytest.mark.parametrize("content", [b"not a plist", b"<?xml version='1.0'?><plist><dict>", b""])
def test_damaged_agent_is_stale(files: MemoryFiles, tmp_path: Path, content: bytes) -> None:
    files.write_bytes(PLIST, content)
    status = LaunchAgentAutostart(HOME, make_interpreter(tmp_path / "python"), files).status()
    assert status.state is AutostartState.STALE and "damaged" in status.reason


class ReadOnlyFiles(MemoryFiles):
    def write_bytes(self, path: Path, data: bytes) -> None:
        raise PermissionError(13, "Permission denied", str(path))


def test_write_errors_become_actionable_messages(tmp_path: Path) -> None:
    autostart = LaunchAgentAutostart(HOME, make_interpreter(tmp_path / "python"), ReadOnlyFiles())
    with pytest.raises(AutostartError, match="cannot write .*LaunchAgents.*Permission denied"):
        autostart.enable()


def test_real_files_in_a_temp_home(tmp_path: Path) -> None:
    home = tmp_path / "home"
    autostart = LaunchAgentAutostart(home, make_interpreter(tmp_path / "python"), LocalFiles())

    assert autostart.enable().enabled

    plist = home / "Library" / "LaunchAgents" / "io.faceblurcam.agent.plist"
    assert [p for p in home.rglob("*") if p.is_file()] == [plist]
    assert plist.stat().st_mode & 0o022 == 0  # launchd refuses group/world-writable agents
    with plist.open("rb") as handle:
        assert plistlib.load(handle)["RunAtLoad"] is True
    autostart.disable()
    assert not plist.exists()


def test_selected_on_darwin_for_the_users_home(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    autostart = get_autostart("darwin")
    assert isinstance(autostart, LaunchAgentAutostart)
    assert autostart.location == str(tmp_path / "Library/LaunchAgents/io.faceblurcam.agent.plist")
