"""The DirectShow virtual cameras registered on Windows, read from the registry (read only).

Unity Capture (MIT; github.com/schellingb/UnityCapture) registers each of its devices as a COM
class ``HKEY_CLASSES_ROOT\\CLSID\\{5C2CD55C-92AD-4999-8666-912BD3E700XX}``: the key's default
value is the device name (what ``regsvr32 ... "/i:UnityCaptureName=NAME"`` gave, "Unity Video
Capture" without it; a second device is "NAME #2"), its ``InprocServer32`` subkey's default
value the filter DLL. ``XX`` is 0x10 for the first device of the 64-bit filter and 0x10 + 1 + n
for device n; the 32-bit filter uses 0x20 + ... in the 32-bit view, which 64-bit programs
(FaceBlur Cam's Python, Zoom, Teams, browsers) cannot load. pyvirtualcam's ``unitycapture``
backend finds its device by reading exactly these keys, so a name found here is one it opens.

Every registered video input (OBS Virtual Camera among them) is also listed under the
video-input category, ``CLSID\\{860BB310-5D01-11d0-BD3B-00A0C911CE86}\\Instance\\{CLSID}``,
with a ``FriendlyName`` value.

``ClassesRoot`` is the one seam: ``WinClassesRoot`` reads the real registry (Windows only),
``MemoryClassesRoot`` is a fake of the same shape for tests on every platform.
"""

from __future__ import annotations

import importlib
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

log = logging.getLogger(__name__)

VIDEO_INPUT_INSTANCES = r"CLSID\{860BB310-5D01-11d0-BD3B-00A0C911CE86}\Instance"
MAX_UNITY_DEVICES = 74  # Unity Capture's device numbers run up to 'z' - '0'
_UNITY_CLSID = "{{5C2CD55C-92AD-4999-8666-912BD3E700{:02X}}}"


class ClassesRoot(Protocol):
    """Read access to HKEY_CLASSES_ROOT in one registry view (64- or 32-bit)."""

    def value(self, key: str, name: str = "", bits: int = 64) -> str | None:
        """The string value ``name`` ("" = the key's default value) of ``HKCR\\key``, or None
        when the key or value is missing. Other failures raise OSError."""
        ...

    def subkeys(self, key: str, bits: int = 64) -> list[str]:
        """The names of ``HKCR\\key``'s subkeys ([] when it is missing)."""
        ...


class WinClassesRoot:
    """The real registry through ``winreg``; constructing it elsewhere raises ImportError."""

    def __init__(self) -> None:
        # imported by name so type checkers on other platforms do not trip over winreg
        self._winreg: Any = importlib.import_module("winreg")

    def _open(self, key: str, bits: int) -> Any:
        reg = self._winreg
        view = reg.KEY_WOW64_64KEY if bits == 64 else reg.KEY_WOW64_32KEY
        return reg.OpenKey(reg.HKEY_CLASSES_ROOT, key, 0, reg.KEY_READ | view)

    def value(self, key: str, name: str = "", bits: int = 64) -> str | None:
        try:
            with self._open(key, bits) as handle:
                data, _kind = self._winreg.QueryValueEx(handle, name)
        except FileNotFoundError:
            return None
        return data if isinstance(data, str) else None

    def subkeys(self, key: str, bits: int = 64) -> list[str]:
        try:
            with self._open(key, bits) as handle:
                count = self._winreg.QueryInfoKey(handle)[0]
                return [self._winreg.EnumKey(handle, i) for i in range(count)]
        except FileNotFoundError:
            return []


class MemoryClassesRoot:
    """In-memory fake: ``values[(bits, key, name)] = text``; keys are case-insensitive, like
    the registry's."""

    def __init__(self) -> None:
        self.values: dict[tuple[int, str, str], str] = {}

    def set(self, key: str, name: str, text: str, bits: int = 64) -> None:
        self.values[(bits, key.lower(), name)] = text

    def value(self, key: str, name: str = "", bits: int = 64) -> str | None:
        return self.values.get((bits, key.lower(), name))

    def subkeys(self, key: str, bits: int = 64) -> list[str]:
        prefix = key.lower() + "\\"
        return sorted({k[len(prefix):].split("\\")[0] for b, k, _ in self.values
                       if b == bits and k.startswith(prefix)})


@dataclass(frozen=True)
class UnityCaptureDevice:
    """One registered Unity Capture device. ``dll``: the filter file the registry points to
    (None when the entry names none); ``dll_found``: that file exists."""

    name: str
    clsid: str
    bits: int
    dll: str | None
    dll_found: bool


def _trim(name: str) -> str:
    """Trailing blanks and control characters off, as pyvirtualcam trims the names it reads."""
    end = len(name)
    while end and (name[end - 1].isspace() or ord(name[end - 1]) < 32 or ord(name[end - 1]) == 127):
        end -= 1
    return name[:end]


def unity_capture_clsid(number: int, bits: int = 64) -> str:
    """The CLSID of Unity Capture's device ``number`` (0-based) for the 64- or 32-bit filter."""
    base = 0x10 if bits == 64 else 0x20
    return _UNITY_CLSID.format(base + (number + 1 if number else 0))


def unity_capture_devices(registry: ClassesRoot, bits: int = 64) -> list[UnityCaptureDevice]:
    """The Unity Capture devices registered for ``bits``-bit programs, in device order."""
    devices = []
    for number in range(MAX_UNITY_DEVICES):
        clsid = unity_capture_clsid(number, bits)
        name = registry.value(f"CLSID\\{clsid}", "", bits)
        if name is None:
            continue
        dll = registry.value(f"CLSID\\{clsid}\\InprocServer32", "", bits)
        devices.append(UnityCaptureDevice(_trim(name), clsid, bits, dll, bool(dll) and Path(str(dll)).is_file()))
    return devices


def find_unity_capture(label: str, registry: ClassesRoot, bits: int = 64) -> UnityCaptureDevice | None:
    """The ``bits``-bit Unity Capture device named exactly ``label`` (as pyvirtualcam matches)."""
    return next((d for d in unity_capture_devices(registry, bits) if d.name == label), None)


def video_input_names(registry: ClassesRoot) -> list[str]:
    """Friendly names of the registered DirectShow video inputs (64-bit view)."""
    names = []
    for clsid in registry.subkeys(VIDEO_INPUT_INSTANCES):
        name = registry.value(f"{VIDEO_INPUT_INSTANCES}\\{clsid}", "FriendlyName")
        if name:
            names.append(name)
    return names


def system_registry() -> ClassesRoot | None:
    """The real registry, or None where there is none (not Windows)."""
    try:
        return WinClassesRoot()
    except ImportError:
        return None
