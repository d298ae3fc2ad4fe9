"""A fake Linux tree (sysfs, /lib/modules, /etc) in a temp dir, laid out like the real one,
for the platform/doctor/setup tests. Point ``linux_sysfs.ROOT`` (or a ``root`` argument) at it.
"""

from __future__ import annotations

from pathlib import Path

RELEASE = "6.1.0-test-amd64"


class FakeLinux:
    def __init__(self, root: Path):
        self.root = root
        (root / "sys" / "class" / "video4linux").mkdir(parents=True)

    def _node(self, number: int, name: str, real: Path) -> Path:
        real.mkdir(parents=True)
        (real / "name").write_text(name + "\n")
        (real / "index").write_text("0\n")
        (self.root / "sys" / "class" / "video4linux" / f"video{number}").symlink_to(real)
        return real

    def loopback(self, number: int, name: str) -> None:
        """A v4l2loopback node: virtual, with v4l2loopback's own sysfs attributes."""
        real = self._node(number, name, self.root / "sys/devices/virtual/video4linux" / f"video{number}")
        (real / "max_openers").write_text("10\n")
        (real / "buffers").write_text("2\n")

    def camera(self, number: int, name: str, index: int = 0) -> None:
        """A USB (uvcvideo) node; ``index`` 1 = its metadata node."""
        usb = self.root / "sys/devices/pci0000:00/0000:00:14.0/usb1/1-1/1-1:1.0"
        real = self._node(number, name, usb / "video4linux" / f"video{number}")
        (real / "index").write_text(f"{index}\n")
        driver = self.root / "sys/bus/usb/drivers/uvcvideo"
        driver.mkdir(parents=True, exist_ok=True)
        if not (usb / "driver").exists():
            (usb / "driver").symlink_to(driver)
        (real / "device").symlink_to(usb)

    def module(self, version: str | None = "0.12.7", exclusive_caps: str = "Y,N,N,N,N,N,N,N",
               version_file: bool = True) -> None:
        """v4l2loopback loaded (``version_file=False``: like Debian's 0.12.7 DKMS build)."""
        base = self.root / "sys" / "module" / "v4l2loopback"
        (base / "parameters").mkdir(parents=True)
        (base / "parameters" / "exclusive_caps").write_text(exclusive_caps + "\n")
        if version and version_file:
            (base / "version").write_text(version + "\n")
        if version and not version_file:
            self.installed(version)

    def installed(self, version: str = "0.12.7") -> None:
        """A DKMS-built v4l2loopback.ko for RELEASE (no version= in .modinfo, like Debian's)."""
        ko = self.root / "lib" / "modules" / RELEASE / "updates" / "dkms" / "v4l2loopback.ko"
        ko.parent.mkdir(parents=True, exist_ok=True)
        ko.write_bytes(b"\x7fELF\0" + f"/var/lib/dkms/v4l2loopback/{version}/build/v4l2loopback.c\0"
                       .encode() + b"vermagic=6.1.0 SMP\0")

    def etc(self, path: str, text: str) -> None:
        file = self.root / path.lstrip("/")
        file.parent.mkdir(parents=True, exist_ok=True)
        file.write_text(text)
