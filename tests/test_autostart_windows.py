"""Windows autostart: the HKCU Run value, tested through the registry adapter on every platform.

Interpreters are empty files in ``tmp_path`` (``python.exe`` / ``pythonw.exe``); only their
existence matters. The real ``winreg`` adapter is exercised on Windows only.
"""

from __future__ import annotations

import importlib
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from faceblur_cam.autostart import AutostartError, AutostartState
from faceblur_cam.autostart.registry import MemoryRegistry, RegValue, WinRegistry
from faceblur_cam.autostart.windows import (
    APPROVED_KEY,
    RUN_KEY,
    VALUE_NAME,
    RunKeyAutostart,
    split_command_line,
    switched_off,
)

AT_LOGIN = ["-m", "faceblur_cam", "run", "--at-login"]
DISABLED_BY_TASK_MANAGER = b"\x03\x00\x00\x00" + b"\x8a\x1c\x1f\x44\x21\x3c\xd9\x01"
ENABLED_BY_TASK_MANAGER = b"\x02" + bytes(11)


def make_install(folder: Path, pythonw: bool = True) -> str:
    """A fake Python install in ``folder``; returns its ``python.exe``."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "python.exe").write_bytes(b"")
    if pythonw:
        (folder / "pythonw.exe").write_bytes(b"")
    return str(folder / "python.exe")


@pytest.fixture
def registry() -> MemoryRegistry:
    return MemoryRegistry()


def test_enable_stores_pythonw_in_the_users_run_key(
    registry: MemoryRegistry, tmp_path: Path
) -> None:
    exe = make_install(tmp_path / "My Venv" / "Scripts")
    pythonw = str(tmp_path / "My Venv" / "Scripts" / "pythonw.exe")

    status = RunKeyAutostart(registry, exe).enable()

    assert status.enabled
    assert status.command == (pythonw, *AT_LOGIN)
    assert set(registry.values) == {(RUN_KEY, VALUE_NAME)}
    assert registry.values[(RUN_KEY, VALUE_NAME)] == f'"{pythonw}" -m faceblur_cam run --at-login'
    assert status.location.startswith("HKEY_CURRENT_USER\\Software\\Microsoft\\Windows")


def test_without_pythonw_the_interpreter_itself_is_stored(
    registry: MemoryRegistry, tmp_path: Path
) -> None:
    exe = make_install(tmp_path / "py", pythonw=False)

    status = RunKeyAutostart(registry, exe).enable()

    assert status.enabled and status.command[0] == exe


def test_enabling_twice_is_harmless(registry: MemoryRegistry, tmp_path: Path) -> None:
    autostart = RunKeyAutostart(registry, make_install(tmp_path / "py"))
    first = autostart.enable()
    values = dict(registry.values)

    assert autostart.enable() == first
    assert registry.values == values


def test_disable_deletes_the_value_and_twice_is_harmless(
    registry: MemoryRegistry, tmp_path: Path
) -> None:
    autostart = RunKeyAutostart(registry, make_install(tmp_path / "py"))
    assert autostart.status().state is AutostartState.DISABLED
    autostart.enable()
    registry.values[(APPROVED_KEY, VALUE_NAME)] = DISABLED_BY_TASK_MANAGER

    off = autostart.disable()

    assert off.state is AutostartState.DISABLED and off.reason == ""
    assert registry.values == {}
    assert autostart.disable() == off


def test_task_manager_disabled_entry_reads_as_disabled_and_enable_undoes_it(
    registry: MemoryRegistry, tmp_path: Path
) -> None:
    autostart = RunKeyAutostart(registry, make_install(tmp_path / "py"))
    autostart.enable()
    registry.values[(APPROVED_KEY, VALUE_NAME)] = DISABLED_BY_TASK_MANAGER

    status = autostart.status()

    assert status.state is AutostartState.DISABLED and not status.enabled
    assert "Task Manager" in status.reason
    assert status.command  # the entry is still there, just switched off
    assert autostart.enable().enabled
    assert (APPROVED_KEY, VALUE_NAME) not in registry.values


@pytest.mark.parametrize(
    ("approval", "off"),
    [
        (DISABLED_BY_TASK_MANAGER, True),
        (b"\x07" + bytes(11), True),
        (ENABLED_BY_TASK_MANAGER, False),
        (b"\x06" + bytes(11), False),
        (b"", False),
        (None, False),
        ("03", False),
    ],
)
def test_startup_approved_first_byte_odd_means_off(approval: RegValue | None, off: bool) -> None:
    assert switched_off(approval) is off


def test_task_manager_enabled_marker_keeps_it_enabled(
    registry: MemoryRegistry, tmp_path: Path
) -> None:
    autostart = RunKeyAutostart(registry, make_install(tmp_path / "py"))
    autostart.enable()
    registry.values[(APPROVED_KEY, VALUE_NAME)] = ENABLED_BY_TASK_MANAGER

    assert autostart.status().enabled


def test_missing_interpreter_is_stale_and_enable_repairs_it(
    registry: MemoryRegistry, tmp_path: Path
) -> None:
    RunKeyAutostart(registry, make_install(tmp_path / "old")).enable()
    (tmp_path / "old" / "pythonw.exe").unlink()
    current = RunKeyAutostart(registry, make_install(tmp_path / "new"))

    stale = current.status()

    assert stale.state is AutostartState.STALE
    assert str(tmp_path / "old" / "pythonw.exe") in stale.reason
    repaired = current.enable()
    assert repaired.enabled and repaired.command[0] == str(tmp_path / "new" / "pythonw.exe")


def test_a_different_command_is_stale(registry: MemoryRegistry, tmp_path: Path) -> None:
    exe = make_install(tmp_path / "py")
    registry.set_string(RUN_KEY, VALUE_NAME, subprocess.list2cmdline([exe, "-m", "faceblur_cam"]))
    autostart = RunKeyAutostart(registry, exe)

    status = autostart.status()

    assert status.state is AutostartState.STALE and "instead of" in status.reason
    assert autostart.enable().enabled


def test_a_non_text_value_is_stale(registry: MemoryRegistry, tmp_path: Path) -> None:
    registry.values[(RUN_KEY, VALUE_NAME)] = 1
    status = RunKeyAutostart(registry, make_install(tmp_path / "py")).status()
    assert status.state is AutostartState.STALE and "not text" in status.reason


class DeniedRegistry(MemoryRegistry):
    def set_string(self, key: str, name: str, value: str) -> None:
        raise PermissionError(13, "Access is denied")


def test_registry_errors_become_actionable_messages(tmp_path: Path) -> None:
    autostart = RunKeyAutostart(DeniedRegistry(), make_install(tmp_path / "py"))
    with pytest.raises(AutostartError, match="cannot write the registry value .*Access is denied"):
        autostart.enable()


args = st.text(st.characters(codec="utf-8", exclude_characters="\x00"))


@given(st.lists(args, min_size=1, max_size=5))
def test_split_command_line_inverts_list2cmdline(argv: list[str]) -> None:
    assert split_command_line(subprocess.list2cmdline(argv)) == argv


@pytest.mark.parametrize(
    ("line", "argv"),
    [
        (
            r'"C:\Program Files\Py\pythonw.exe" -m x',
            [r"C:\Program Files\Py\pythonw.exe", "-m", "x"],
        ),
        (r"C:\Py\pythonw.exe  -m   x", [r"C:\Py\pythonw.exe", "-m", "x"]),
        (r'a\\"b c" d', [r"a\b c", "d"]),
        (r"a\"b", ['a"b']),
    ],
)
def test_split_command_line_follows_the_c_runtime_rules(line: str, argv: list[str]) -> None:
    assert split_command_line(line) == argv


@pytest.mark.skipif(sys.platform == "win32", reason="winreg exists on Windows")
def test_real_registry_is_windows_only() -> None:
    with pytest.raises(ImportError):
        WinRegistry()


@pytest.mark.skipif(sys.platform != "win32", reason="real winreg only on Windows")
def test_real_registry_round_trip() -> None:  # pragma: no cover - runs on Windows only
    key = f"Software\\FaceBlurCamTest\\{uuid.uuid4().hex}"
    reg = WinRegistry()
    try:
        assert reg.get(key, "v") is None
        reg.set_string(key, "v", "x y")
        assert reg.get(key, "v") == "x y"
        reg.delete(key, "v")
        reg.delete(key, "v")
        assert reg.get(key, "v") is None
    finally:
        winreg: Any = importlib.import_module("winreg")
        for path in (key, "Software\\FaceBlurCamTest"):
            try:
                winreg.DeleteKey(winreg.HKEY_CURRENT_USER, path)
            except OSError:
                pass


def test_selected_on_win32(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from faceblur_cam.autostart import get_autostart, windows

    monkeypatch.setattr(windows, "WinRegistry", MemoryRegistry)  # no winreg off Windows
    autostart = get_autostart("win32")

    assert isinstance(autostart, RunKeyAutostart)
    assert autostart.location == f'HKEY_CURRENT_USER\\{RUN_KEY} (value "FaceBlur Cam")'
