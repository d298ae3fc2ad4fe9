"""``faceblur-cam doctor``: everything a call needs, checked, with the exact fix for each problem.

``run_checks()`` gathers findings from the platform (virtual camera, physical camera) and
from our own parts (detector, tray, recording); every section is a function passed in, so
tests run the whole report with fakes. ``exit_code()`` is 0 only when nothing FAILed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

from faceblur_cam.doctor.result import CheckResult, Status, fail

log = logging.getLogger(__name__)

Section = Callable[[], list[CheckResult]]


def default_sections(label: str) -> list[Section]:
    from faceblur_cam import platform
    from faceblur_cam.doctor import app_checks, camera_mode, sound_checks

    return [
        lambda: platform.virtual_camera_checks(label),
        platform.camera_checks,
        camera_mode.camera_mode_checks,
        lambda: [app_checks.detector_check()],
        lambda: [app_checks.tray_check()],
        lambda: [app_checks.recording_check()],
        sound_checks.configured_microphone_check,
    ]


def run_checks(sections: Sequence[Section]) -> list[CheckResult]:
    """Run every section; one that crashes becomes a FAIL finding instead of a traceback."""
    results: list[CheckResult] = []
    for section in sections:
        try:
            results.extend(section())
        except Exception as exc:
            log.debug("doctor section failed", exc_info=True)
            results.append(fail("doctor", "check", f"a check crashed: {exc!r}",
                                "please report this with: faceblur-cam -v doctor"))
    return results


def exit_code(results: Sequence[CheckResult]) -> int:
    return 0 if all(r.ok for r in results) else 1


_MARK = {Status.OK: " ok ", Status.WARN: "warn", Status.FAIL: "FAIL"}


def format_report(results: Sequence[CheckResult], title: str) -> str:
    """The report as printed: one line per finding, the fix indented under it."""
    lines = [title]
    area = None
    for r in results:
        if r.area != area:
            area = r.area
            lines.append(f"\n{area.capitalize()}")
        lines.append(f"  [{_MARK[r.status]}] {r.name}: {r.detail}")
        if r.fix and r.status is not Status.OK:
            first, *rest = r.fix.split("\n")
            lines.append(f"         fix: {first}")
            lines.extend(f"              {line}" for line in rest)
    failed = sum(r.status is Status.FAIL for r in results)
    warned = sum(r.status is Status.WARN for r in results)
    if failed:
        lines.append(f"\n{failed} problem(s) stop FaceBlur Cam from working in a call; "
                     "fix them with the commands above.")
    else:
        lines.append("\nReady for calls." + (f" ({warned} optional item(s) above.)" if warned else ""))
    return "\n".join(lines)
