"""The value every doctor check returns."""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Status(enum.Enum):
    OK = "ok"
    WARN = "warn"  # works, or is optional, but worth fixing
    FAIL = "fail"  # something a call needs does not work


@dataclass(frozen=True)
class CheckResult:
    """One finding. ``detail`` says what was found (or what is wrong); ``fix`` is the exact
    command or action that fixes it (None when OK). ``area`` groups results in the report
    ("virtual camera", "camera", "detector", "tray", "recording")."""

    area: str
    name: str
    status: Status
    detail: str
    fix: str | None = None

    @property
    def ok(self) -> bool:
        return self.status is not Status.FAIL


def ok(area: str, name: str, detail: str) -> CheckResult:
    return CheckResult(area, name, Status.OK, detail)


def warn(area: str, name: str, detail: str, fix: str | None = None) -> CheckResult:
    return CheckResult(area, name, Status.WARN, detail, fix)


def fail(area: str, name: str, detail: str, fix: str | None = None) -> CheckResult:
    return CheckResult(area, name, Status.FAIL, detail, fix)
