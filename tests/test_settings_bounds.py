"""Settings are checked for range and finiteness, naming the key; the detector threshold is bounded
to where it still protects (measured on the dlib stills) and warned about above the default."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
from evaluate import coverage

from faceblur_cam.app import build_pipeline
from faceblur_cam.config import DEFAULT_THRESHOLD, MAX_THRESHOLD, Config, ConfigError, load_config, warnings_for
from faceblur_cam.frames import CapturedFrame


def faceblur(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "faceblur_cam", *args], capture_output=True, text=True,
                          timeout=timeout)


@pytest.mark.parametrize("text, key", [
    ("[camera]\nwidth = 100000\n", "camera.width"),
    ("[camera]\nheight = 100000\n", "camera.height"),
    ("[camera]\nwidth = inf\n", "camera.width"),
    ("[camera]\nwidth = nan\n", "camera.width"),
    ("[camera]\nwidth = 640.5\n", "camera.width"),
    ("[camera]\nheight = 15\n", "camera.height"),
    ("[camera]\nfps = nan\n", "camera.fps"),
    ("[camera]\nfps = inf\n", "camera.fps"),
    ("[camera]\nsource = -1\n", "camera.source"),
    ("[protect]\ndetect_budget_ms = nan\n", "protect.detect_budget_ms"),
    ("[protect]\ndetect_budget_ms = inf\n", "protect.detect_budget_ms"),
    ("[protect]\ndetect_budget_ms = 0\n", "protect.detect_budget_ms"),
    ("[protect]\nthreshold = 0.99\n", "protect.threshold"),
    ("[protect]\nthreshold = nan\n", "protect.threshold"),
    ("[protect]\nmargin = -inf\n", "protect.margin"),
])
def test_out_of_range_or_non_finite_settings_name_the_key(tmp_path: Path, text: str, key: str) -> None:
    cfg = tmp_path / "config.toml"
    cfg.write_text(text)
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        load_config(cfg)


def test_bad_setting_is_one_line_exit_2_from_the_command_line(tmp_path: Path) -> None:
    cfg = tmp_path / "config.toml"
    cfg.write_text("[camera]\nwidth = inf\n")
    result = faceblur("run", "--no-tray", "--config", str(cfg))
    assert result.returncode == 2
    assert "camera.width" in result.stderr and "unexpected error" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_config_naming_a_missing_file_is_an_error(tmp_path: Path) -> None:
    missing = tmp_path / "typo.toml"
    with pytest.raises(ConfigError, match="no such config file"):
        load_config(missing)
    for command in (["run", "--no-tray"], ["process", str(tmp_path), "-o", str(tmp_path / "o")]):
        result = faceblur(*command, "--config", str(missing))
        assert result.returncode == 2 and "typo.toml" in result.stderr and "Traceback" not in result.stderr


def test_every_still_face_is_covered_at_the_highest_allowed_threshold(dlib_images) -> None:
    """The bound is where the detector still protects: at MAX_THRESHOLD all 43 faces are covered
    (a higher setting is refused). If the detector changes, this says whether the bound still holds."""
    config = Config()
    pipeline = build_pipeline(replace(config, protect=replace(config.protect, threshold=MAX_THRESHOLD)),
                              live=False)
    covered = 0
    for i, (image, boxes) in enumerate(dlib_images):
        pipeline.reset()
        out = pipeline.process(CapturedFrame(image, 0.0, i))
        covered += sum(c >= 0.8 for c in coverage(out, boxes))
    assert covered == 43


def test_a_threshold_above_the_default_is_warned_about_loudly(tmp_path: Path) -> None:
    config = Config()
    assert warnings_for(config) == []
    risky = replace(config, protect=replace(config.protect, threshold=0.5))
    (warning,) = warnings_for(risky)
    assert "protect.threshold" in warning and "NOT be obscured" in warning
    assert DEFAULT_THRESHOLD < 0.5 <= MAX_THRESHOLD

    cfg = tmp_path / "config.toml"
    cfg.write_text("[protect]\nthreshold = 0.5\n")
    images = tmp_path / "imgs"
    images.mkdir()
    import cv2
    import numpy as np

    cv2.imwrite(str(images / "a.png"), np.zeros((64, 64, 3), np.uint8))
    result = faceblur("process", str(images), "-o", str(tmp_path / "out"), "--config", str(cfg))
    assert result.returncode == 0, result.stderr
    assert "WARNING" in result.stderr and "protect.threshold = 0.5" in result.stderr
