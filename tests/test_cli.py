"""The command line: default command, clear errors for bad input (never a traceback)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from faceblur_cam.cli import with_default_command
from faceblur_cam.config import Config, ConfigError, load_config

COMMANDS = {"run", "process", "devices"}


@pytest.mark.parametrize("argv, expected", [
    ([], ["run"]),
    (["--no-tray", "--source", "0"], ["run", "--no-tray", "--source", "0"]),
    (["-v", "process", "x", "-o", "y"], ["-v", "process", "x", "-o", "y"]),
    (["devices"], ["devices"]),
    (["--version"], ["--version"]),
])
def test_no_command_means_run(argv, expected):
    assert with_default_command(argv, COMMANDS) == expected


def faceblur(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "faceblur_cam", *args], capture_output=True, text=True,
                          timeout=timeout)


@pytest.mark.parametrize("text, key", [
    ("[camera]\nfps = 500\n", "camera.fps"),
    ("[protect]\nstyle = 'sparkles'\n", "protect.style"),
    ("[camera]\nwidht = 640\n", "camera.widht"),
    ("[output]\npreview = 'yes'\n", "output.preview"),
    ("[camera\n", "not valid TOML"),
    ("[protect]\nplan = 'fast'\n", "protect.plan"),
])
def test_bad_config_names_the_key_and_exits_cleanly(tmp_path, text, key):
    cfg = tmp_path / "config.toml"
    cfg.write_text(text)
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        load_config(cfg)
    result = faceblur("run", "--no-tray", "--config", str(cfg))
    assert result.returncode == 2
    assert key in result.stderr and "Traceback" not in result.stderr


def test_missing_default_config_file_means_defaults(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    assert load_config() == Config()


def test_missing_source_file_is_a_clear_error(tmp_path):
    result = faceblur("run", "--no-tray", "--source", str(tmp_path / "interview.mp4"))
    assert result.returncode == 2 and "does not exist" in result.stderr and "Traceback" not in result.stderr


def test_help_and_version():
    assert faceblur("--version").stdout.startswith("faceblur-cam ")
    out = faceblur("--help").stdout
    for command in ("run", "process", "devices"):
        assert command in out
