"""A tiny adapter over the current user's Windows registry (HKEY_CURRENT_USER only).

``WinRegistry`` uses the real ``winreg`` module and so works only on Windows; ``MemoryRegistry``
is a fake of the same shape, usable on every platform. Keys are paths below HKEY_CURRENT_USER,
e.g. ``Software\\Microsoft\\Windows\\CurrentVersion\\Run``. Errors are ``OSError``.
"""

from __future__ import annotations

import importlib
import logging
from typing import Any, Protocol

log = logging.getLogger(__name__)

RegValue = str | bytes | int


class Registry(Protocol):
    def get(self, key: str, name: str) -> RegValue | None:
        """The value ``name`` under ``HKCU\\key``, or None when the key or value is missing."""
        ...

    def set_string(self, key: str, name: str, value: str) -> None:
        """Write a REG_SZ value, creating the key if needed."""
        ...

    def delete(self, key: str, name: str) -> None:
        """Delete the value; a missing key or value is not an error."""
        ...


class WinRegistry:
    """The real registry through ``winreg``; constructing it elsewhere raises ImportError."""

    def __init__(self) -> None:
        # imported by name so type checkers on other platforms do not trip over winreg
        self._winreg: Any = importlib.import_module("winreg")

    def get(self, key: str, name: str) -> RegValue | None:
        reg = self._winreg
        try:
            with reg.OpenKey(reg.HKEY_CURRENT_USER, key) as handle:
                value, _kind = reg.QueryValueEx(handle, name)
        except FileNotFoundError:
            return None
        return value  # type: ignore[no-any-return]

    def set_string(self, key: str, name: str, value: str) -> None:
        reg = self._winreg
        with reg.CreateKeyEx(reg.HKEY_CURRENT_USER, key, 0, reg.KEY_SET_VALUE) as handle:
            reg.SetValueEx(handle, name, 0, reg.REG_SZ, value)
        log.debug("set HKCU\\%s\\%s", key, name)

    def delete(self, key: str, name: str) -> None:
        reg = self._winreg
        try:
            with reg.OpenKey(reg.HKEY_CURRENT_USER, key, 0, reg.KEY_SET_VALUE) as handle:
                reg.DeleteValue(handle, name)
        except FileNotFoundError:
            return
        log.debug("deleted HKCU\\%s\\%s", key, name)


class MemoryRegistry:
    """In-memory fake: ``values`` maps ``(key, name)`` to the stored value."""

    def __init__(self) -> None:
        self.values: dict[tuple[str, str], RegValue] = {}

    def get(self, key: str, name: str) -> RegValue | None:
        return self.values.get((key, name))

    def set_string(self, key: str, name: str, value: str) -> None:
        self.values[(key, name)] = value

    def delete(self, key: str, name: str) -> None:
        self.values.pop((key, name), None)
