"""The runtime dependencies install from binary wheels on every desktop we support.

NEEDS THE PACKAGE REGISTRY (PyPI): marked ``registry``; ``-m "not registry"`` leaves it out.

Each target (OS, CPU, oldest OS version, Python 3.10-3.13) is resolved with ``uv pip compile
--only-binary :all: --python-platform ...``: uv evaluates the environment markers for the
target (``sys_platform``, ``platform_machine``), which ``pip download --platform`` does not (it
keeps the markers of the machine it runs on, so pystray's macOS dependencies would never be
looked at). Only metadata is fetched (PyPI serves each wheel's METADATA file on its own), no
wheel is downloaded, and no interpreter (``--no-python-downloads``: uv would otherwise try to
fetch a Python for ``--python-version``); the cache is a temporary folder. About 30 s.
A failure names the target and re-resolves each dependency alone to name the one that has no
wheel there.

``python tests/test_platform_wheels.py`` prints the versions each target gets (a Markdown table).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]
ALL_PYTHONS = ("3.10", "3.11", "3.12", "3.13")

pytestmark = pytest.mark.registry


@dataclass(frozen=True)
class Target:
    """A desktop we promise to install on. ``macos``: the oldest macOS version (uv reads it from
    MACOSX_DEPLOYMENT_TARGET); the README's table of oldest OS versions says the same."""

    name: str
    uv_platform: str
    pythons: tuple[str, ...] = ALL_PYTHONS
    macos: str | None = None


# The oldest OS each platform resolves at, found by trying older ones (README, "Which systems").
# macOS: onnxruntime and opencv-python publish Python 3.13 wheels only for macOS 13 and newer.
TARGETS = (
    Target("Windows x64", "x86_64-pc-windows-msvc"),
    Target("macOS 11 arm64", "aarch64-apple-darwin", ALL_PYTHONS[:3], macos="11.0"),
    Target("macOS 13 arm64", "aarch64-apple-darwin", ("3.13",), macos="13.0"),
    Target("macOS 12 x86_64", "x86_64-apple-darwin", ALL_PYTHONS[:3], macos="12.0"),
    Target("macOS 13 x86_64", "x86_64-apple-darwin", ("3.13",), macos="13.0"),
    Target("Linux x86_64 (manylinux_2_28)", "x86_64-manylinux_2_28"),
    Target("Linux aarch64 (manylinux_2_28)", "aarch64-manylinux_2_28"),
)

CASES = [(t, py) for t in TARGETS for py in t.pythons]


def runtime_requirements() -> list[str]:
    """``[project] dependencies`` of pyproject.toml, exactly as users install them."""
    with open(ROOT / "pyproject.toml", "rb") as f:
        return list(tomllib.load(f)["project"]["dependencies"])


def uv_command() -> str | None:
    here = Path(sys.executable).parent / ("uv.exe" if os.name == "nt" else "uv")
    return str(here) if here.exists() else shutil.which("uv")


@dataclass
class Resolution:
    ok: bool
    pins: dict[str, str]
    output: str


def resolve(target: Target, python: str, requirements: list[str], cache: Path) -> Resolution:
    """Resolve ``requirements`` for ``target`` with binary wheels only."""
    uv = uv_command()
    assert uv, "uv is needed for this test (pip install 'faceblur-cam[test]')"
    # never fetch an interpreter for --python-version: only the registry is to be asked
    env = dict(os.environ, UV_PYTHON_DOWNLOADS="never")
    if target.macos:
        env["MACOSX_DEPLOYMENT_TARGET"] = target.macos
    # --native-tls: the system's certificates, like pip here (a proxy's CA must be trusted)
    argv = [uv, "pip", "compile", "-", "--only-binary", ":all:", "--python-platform", target.uv_platform,
            "--python-version", python, "--no-header", "--no-annotate", "--quiet", "--native-tls",
            "--no-python-downloads", "--cache-dir", str(cache), "--no-config"]
    try:
        done = subprocess.run(argv, input="\n".join(requirements) + "\n", capture_output=True, text=True,
                              env=env, timeout=600)
    except subprocess.TimeoutExpired:
        return Resolution(False, {}, "uv did not answer within 10 minutes")
    pins = dict(re.findall(r"^([A-Za-z0-9_.\-]+)==(\S+)$", done.stdout, re.M))
    return Resolution(done.returncode == 0, {k.lower(): v for k, v in pins.items()},
                      (done.stderr or done.stdout).strip())


def explain_failure(target: Target, python: str, requirements: list[str], cache: Path,
                    whole: Resolution) -> str:
    """Which dependencies, each resolved alone, have no wheel for ``target``."""
    alone = {req: resolve(target, python, [req], cache) for req in requirements}
    culprits = [req for req, res in alone.items() if not res.ok]
    lines = [f"{target.name}, Python {python}: the runtime dependencies do not resolve to binary wheels."]
    if culprits:
        lines.append("No wheel for: " + ", ".join(culprits))
        for req in culprits:
            cause = next((ln.strip() for ln in alone[req].output.splitlines() if "wheel" in ln), "")
            lines.append(f"  {req}: {cause or alone[req].output.splitlines()[-1:]}")
    else:
        lines.append("Each dependency resolves alone; together they conflict:")
    lines.append("uv said:\n" + whole.output[-3000:])
    return "\n".join(lines)


@pytest.fixture(scope="module")
def resolutions(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[dict[tuple[str, str], Resolution], Path]]:
    """Every (target, python) resolved up front, eight at a time (network-bound, not CPU-bound)."""
    cache = tmp_path_factory.mktemp("uv-cache")
    requirements = runtime_requirements()
    with ThreadPoolExecutor(max_workers=8) as pool:
        futures = {(t.name, py): pool.submit(resolve, t, py, requirements, cache) for t, py in CASES}
        yield {key: f.result() for key, f in futures.items()}, cache


@pytest.mark.parametrize(("target", "python"), CASES, ids=[f"{t.name}-py{py}" for t, py in CASES])
def test_runtime_dependencies_have_wheels(target: Target, python: str, resolutions) -> None:
    results, cache = resolutions
    result = results[(target.name, python)]
    if not result.ok:
        pytest.fail(explain_failure(target, python, runtime_requirements(), cache, result), pytrace=False)
    opencv = result.pins.get("opencv-python") or result.pins.get("opencv-python-headless")
    assert opencv, f"{target.name}, Python {python}: OpenCV is missing from {sorted(result.pins)}"
    assert "onnxruntime" in result.pins and "pyvirtualcam" in result.pins
    if target.macos:  # pystray's own macOS dependencies were looked at (markers for the target)
        assert "pyobjc-framework-quartz" in result.pins, sorted(result.pins)


def test_a_missing_wheel_is_named_with_its_platform(resolutions) -> None:
    """The failure message names the platform and the dependency (here: an OpenCV 5 floor,
    whose wheels need macOS 13 on Apple silicon, on macOS 11)."""
    target = Target("macOS 11 arm64", "aarch64-apple-darwin", macos="11.0")
    requirements = ["opencv-python>=5.0", "tqdm>=4.60"]
    cache = resolutions[1]
    whole = resolve(target, "3.12", requirements, cache)
    assert not whole.ok
    message = explain_failure(target, "3.12", requirements, cache, whole)
    assert message.startswith("macOS 11 arm64, Python 3.12:")
    assert "No wheel for: opencv-python>=5.0\n" in message


def _table() -> str:
    requirements = runtime_requirements()
    shown = ("opencv-python", "numpy", "onnxruntime", "pillow", "pyvirtualcam", "pystray", "sounddevice",
             "imageio-ffmpeg", "platformdirs")
    rows = ["| target | Python | " + " | ".join(shown) + " |", "|---" * (len(shown) + 2) + "|"]
    with tempfile.TemporaryDirectory() as cache, ThreadPoolExecutor(max_workers=4) as pool:
        futures = [(t, py, pool.submit(resolve, t, py, requirements, Path(cache))) for t, py in CASES]
        for t, py, future in futures:
            res = future.result()
            pins = res.pins
            pins.setdefault("opencv-python", pins.get("opencv-python-headless", "-"))
            cells = [pins.get(name, "-") for name in shown] if res.ok else ["FAILS"] * len(shown)
            rows.append(f"| {t.name} | {py} | " + " | ".join(cells) + " |")
    return "\n".join(rows)


if __name__ == "__main__":
    print(_table())
