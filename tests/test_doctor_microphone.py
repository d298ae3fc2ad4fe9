"""``faceblur-cam doctor`` checks the microphone (issue 24): present, openable, and which one
recordings will use; a microphone that cannot be opened is a warning with a fix. A real
PulseAudio server (tests/pulse_server.py), the real command in a subprocess; the rest of the
report is the fakes' business (test_doctor.py)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from pulse_server import PulseServer

from faceblur_cam.doctor.result import Status
from faceblur_cam.doctor.sound_checks import microphone_check
from faceblur_cam.sources.microphone import InputDevice, MicrophoneUnavailable

needs_pulse = pytest.mark.skipif(not all(shutil.which(p) for p in ("pulseaudio", "pactl")),
                                 reason="pulseaudio and pulseaudio-utils (tests/apt-packages.txt) are needed")


@pytest.fixture
def pulse(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PulseServer]:
    server = PulseServer(tmp_path_factory.mktemp("pulse"))
    try:
        yield server
    finally:
        server.close()


def doctor(pulse: PulseServer, tmp_path: Path, audio: str | None = None) -> str:
    config = tmp_path / "config"
    (config / "faceblur-cam").mkdir(parents=True)
    if audio is not None:
        (config / "faceblur-cam" / "config.toml").write_text(f'[recording]\naudio = "{audio}"\n')
    env = {**os.environ, **{k: v for k, v in pulse.env.items() if k != "HOME"}, "XDG_CONFIG_HOME": str(config)}
    env.pop("DISPLAY", None)
    result = subprocess.run([sys.executable, "-m", "faceblur_cam", "doctor"], capture_output=True, text=True,
                            timeout=180, env=env)
    assert "Traceback" not in result.stderr, result.stderr
    return result.stdout


def section(report: str, title: str) -> list[str]:
    lines = report.splitlines()
    assert title in lines, report
    start = lines.index(title) + 1
    end = next((i for i in range(start, len(lines)) if not lines[i].startswith(" ")), len(lines))
    return lines[start:end]


@needs_pulse
def test_doctor_names_the_microphone_recordings_use(pulse: PulseServer, tmp_path: Path) -> None:
    found = section(doctor(pulse, tmp_path), "Microphone")
    text = "\n".join(found)
    assert "[ ok ] present:" in text and "[ ok ] openable:" in text, text
    assert "[ ok ] recordings use: the system default" in text, text


@needs_pulse
def test_doctor_warns_about_a_microphone_that_cannot_be_opened(pulse: PulseServer, tmp_path: Path) -> None:
    found = section(doctor(pulse, tmp_path, audio="no such microphone"), "Microphone")
    text = "\n".join(found)
    assert "[warn] openable:" in text and "no such microphone" in text and "pictures only" in text, text
    assert "fix:" in text and "faceblur-cam devices" in text, text


def test_no_microphone_and_no_sound_support_are_warnings_with_fixes() -> None:
    none = microphone_check("default", list_microphones=lambda: [], supported=True)
    assert [(r.name, r.status) for r in none] == [("present", Status.WARN)] and none[0].fix

    def no_portaudio() -> list[InputDevice]:
        raise MicrophoneUnavailable("no sound input support (PortAudio library not found)")

    missing = microphone_check("default", list_microphones=no_portaudio, supported=True)
    assert missing[0].status is Status.WARN and "libportaudio2" in (missing[0].fix or "")
    off = microphone_check("off", list_microphones=no_portaudio)
    assert [r.status for r in off] == [Status.OK] and "pictures only" in off[0].detail
