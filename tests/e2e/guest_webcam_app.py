"""Runs INSIDE the vcam-vm guest started with ``--webcam`` (see test_webcam_vm.py): the real app
reads the kernel's vivid test webcam (/dev/video0, a real V4L2 capture driver) by default and
publishes to the real v4l2loopback "FaceBlur Cam"; an OpenCV reader checks what is published.

    python tests/e2e/guest_webcam_app.py ARTIFACT_DIR

Checks (PASS/FAIL lines; exit 1 if any failed; frames saved as PNGs):
  devices     ``faceblur-cam devices`` lists vivid as a camera (with the mode it would ask for
              and the rate it measured) and never "FaceBlur Cam" as one
  default     ``faceblur-cam run --no-tray`` without --source opens vivid (not our own output)
  mode        the driver itself (``v4l2-ctl --get-parm`` / ``--get-fmt-video``) says the stream
              runs at >= 25 fps: vivid has no MJPEG and 1280x720 only up to 12.5 fps, so the
              app must choose a smaller fluent mode (640x480 at 25)
  published   frames of the configured size; the first ones are cards or wholly obscured frames
              (fail closed), never a raw camera frame before protection runs; the published rate
              over some seconds (reported: the CPU is emulated)
  disconnect  ``v4l2-ctl --set-ctrl=disconnect=1`` (a pulled USB cable): the "no camera" card;
              once the device can be opened again, the picture is back within 5 s

Timing: every wait polls for what it needs with a cap cut to ``FACEBLUR_E2E_BUDGET_S``.
"""

from __future__ import annotations

import logging
import os
import re
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from guest_checks import check, device_by_label, failures, left, start_app, stop_app  # noqa: E402

log = logging.getLogger("guest")

WEBCAM = os.environ.get("FACEBLUR_WEBCAM_DEVICE", "/dev/video0")
LABEL = "FaceBlur Cam"
W, H, FPS = 1280, 720, 30  # the defaults: vivid cannot give 1280x720 at 30 fps
PY = sys.executable
HERE = Path(__file__).resolve().parent
BG = np.array([38, 32, 30], np.float32)  # the placeholder cards' background (BGR)
RECOVERY_S = 5.0


def card_like(frame: np.ndarray) -> bool:
    """A placeholder card: mostly the cards' dark background (vivid's test pattern is not)."""
    near = np.abs(frame.astype(np.float32) - BG).max(axis=2) < 14
    return float(near.mean()) > 0.6


def sharp(frame: np.ndarray) -> bool:
    """vivid's test pattern has hard edges (bars, text); a frame the app obscured whole (fail
    closed, e.g. while the detector misses its budget at start) has none. Steps of the
    strongest 0.1 % of horizontal neighbours: 30+ on colour bars scaled to 720p, <= 3 when obscured."""
    gray = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY).astype(np.int16)
    return float(np.percentile(np.abs(np.diff(gray, axis=1)), 99.9)) > 12


def which_card(frame: np.ndarray) -> str:
    """The state whose card (title area, above any message) is closest to ``frame``."""
    from faceblur_cam.engine import EngineState
    from faceblur_cam.placeholders import PlaceholderCards

    cards = PlaceholderCards((frame.shape[1], frame.shape[0]))
    top = int(frame.shape[0] * 0.75)
    dist = {s.name: float(np.abs(frame[:top].astype(np.int16) - cards.card(s).image[:top].astype(np.int16)).mean())
            for s in EngineState}
    return min(dist, key=dist.__getitem__)


def can_open(device: str) -> bool:
    try:
        os.close(os.open(device, os.O_RDWR | os.O_NONBLOCK))
        return True
    except OSError:
        return False


def wait_for_capture(device: str, timeout: float, app: subprocess.Popen[bytes]) -> bool:
    import fcntl
    import struct

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and app.poll() is None:
        try:
            buf = bytearray(104)
            with open(device, "rb", buffering=0) as f:
                fcntl.ioctl(f, 0x80685600, buf)
            if struct.unpack_from("<I", buf, 88)[0] & 1:
                return True
        except OSError:
            pass
        time.sleep(0.2)
    return False


def v4l2(*args: str) -> str:
    result = subprocess.run(["v4l2-ctl", "-d", WEBCAM, *args], capture_output=True, text=True, timeout=60)
    return result.stdout + result.stderr


def phase_devices(art: Path) -> None:
    result = subprocess.run([PY, "-m", "faceblur_cam", "devices"], capture_output=True, text=True, timeout=300)
    out = result.stdout + result.stderr
    (art / "devices.txt").write_text(out)
    print(out)
    cams = out.split("Cameras", 1)[-1].split("\n\n", 1)[0] if "Cameras" in out else ""
    # "*": the camera the app would open with these settings (the default: the first real one)
    check("vivid" in cams and WEBCAM in cams and "asks for 640x480 YUYV 25 fps" in cams and "*" in cams,
          "devices: vivid is listed as a camera, asking for 640x480 YUYV 25 fps")
    check(LABEL not in cams.replace("Camera menu", ""), f"devices: {LABEL!r} is not offered as a camera")
    measured = re.search(r"delivers (\S+ \S+) at ([\d.]+) fps \(measured\)", cams)
    check(measured is not None, f"devices: the delivered mode is measured: {measured.group(0) if measured else cams}")


def protecting_since(app_log: str) -> float | None:
    """The wall-clock time the app's log first says it protects (``status: Protecting``)."""
    found = re.search(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d),(\d{3}) \S+ \S+: status: Protecting", app_log, re.M)
    if found is None:
        return None
    return datetime.strptime(found[1], "%Y-%m-%d %H:%M:%S").timestamp() + int(found[2]) / 1000


class Reader:
    """Reads the published frames, classifying each as a card (which) or the picture."""

    def __init__(self, device: str, art: Path):
        self.cap = cv2.VideoCapture(device, cv2.CAP_V4L2)
        self.art = art
        self.kinds: list[str] = []
        self.read_at: list[float] = []  # wall-clock time each frame was read (the app's log uses it too)
        self.sizes: set[tuple[int, int]] = set()
        self.saved: set[str] = set()

    def next(self) -> str | None:
        good, frame = self.cap.read()
        if not good:
            return None
        self.sizes.add((frame.shape[1], frame.shape[0]))
        kind = f"card:{which_card(frame)}" if card_like(frame) else "picture" if sharp(frame) else "obscured"
        self.kinds.append(kind)
        self.read_at.append(time.time())
        if kind not in self.saved:
            self.saved.add(kind)
            cv2.imwrite(str(self.art / f"webcam-{len(self.kinds):04d}-{kind.replace(':', '-')}.png"), frame)
        return kind

    def until(self, want: str | tuple[str, ...], timeout: float) -> float | None:
        """Read until a frame of kind ``want`` (prefixes); the monotonic time it came, or None."""
        deadline = time.monotonic() + left(timeout)
        while time.monotonic() < deadline:
            kind = self.next()
            if kind is not None and kind.startswith(want):
                return time.monotonic()
        return None


def phase_app(art: Path, loopback: str) -> None:
    tmp = Path("/tmp/faceblur-webcam")
    tmp.mkdir(exist_ok=True)
    config = tmp / "config.toml"
    config.write_text(f"[camera]\nwidth = {W}\nheight = {H}\nfps = {FPS}\n[protect]\ndetect_budget_ms = 5000\n")
    log_path = art / "webcam-app.log"
    proc = start_app(log_path, "--config", str(config))
    try:
        ready = wait_for_capture(loopback, left(180), proc)
        if not check(ready, f"the app published to {loopback}"):
            print(log_path.read_text(errors="replace")[-3000:])
            return
        reader = Reader(loopback, art)
        check(reader.cap.isOpened(), f"OpenCV opened {loopback}")
        t_picture = reader.until("picture", 300)
        # vivid's pattern has no face, so a protected frame is as sharp as a raw one: what must not
        # happen is a sharp frame before the app protects (before that it publishes cards and
        # wholly obscured frames). The reader may only get to open the device after that.
        protecting = protecting_since(log_path.read_text(errors="replace"))
        first_picture = reader.kinds.index("picture") if "picture" in reader.kinds else -1
        early = [k for k, at in zip(reader.kinds, reader.read_at)
                 if k == "picture" and (protecting is None or at < protecting)]
        check(t_picture is not None and protecting is not None and not early,
              f"start-up: no sharp frame read before protection started ({len(early)} early; "
              f"{first_picture} card or wholly obscured frame(s) {sorted(set(reader.kinds[:max(first_picture, 0)]))} "
              "came first)")
        check(reader.sizes == {(W, H)}, f"published frames are {W}x{H}: {sorted(reader.sizes)}")
        app_log = log_path.read_text(errors="replace")
        opened = re.search(r"camera '([^']*)' opened: (.*)", app_log)
        check(opened is not None and "vivid" in opened.group(1) and LABEL not in opened.group(1),
              f"default: the app opened the vivid webcam, not {LABEL!r}: "
              f"{opened.group(0) if opened else app_log[-1500:]}")
        chose = re.search(r"asking for (.*)", app_log)
        print(f"  app: {chose.group(0) if chose else 'no mode chosen'}")
        parm, fmt = v4l2("--get-parm"), v4l2("--get-fmt-video")
        (art / "v4l2-parm.txt").write_text(parm + "\n" + fmt)
        fps = re.search(r"Frames per second:\s*([\d.]+)", parm)
        size = re.search(r"Width/Height\s*:\s*(\d+)/(\d+)", fmt)
        pixfmt = re.search(r"Pixel Format\s*:\s*'(\w+)'", fmt)
        check(fps is not None and float(fps.group(1)) >= 25,
              f"mode: the driver runs the stream at {fps.group(1) if fps else '?'} fps "
              f"({size.group(1) + 'x' + size.group(2) if size else '?'} {pixfmt.group(1) if pixfmt else '?'})")
        # the published rate: report, don't promise (the guest CPU is emulated)
        n0, t0 = len(reader.kinds), time.monotonic()
        while time.monotonic() - t0 < 10:
            reader.next()
        rate = (len(reader.kinds) - n0) / (time.monotonic() - t0)
        measured = re.search(r"delivers (.*) at ([\d.]+) fps", log_path.read_text(errors="replace"))
        print(f"REPORT published rate {rate:.1f} fps over 10 s at {W}x{H}; camera measured by the app: "
              f"{measured.group(0) if measured else 'not yet'}", flush=True)
        check(rate > 0, f"published rate {rate:.1f} fps (reported, not a target under emulation)")
        phase_disconnect(reader, proc, rate)
        # quit while paused: camera closed, detector idle (quitting in the middle of a detector
        # pass that takes seconds on the emulated CPU is not what this test is about)
        asked = subprocess.run([PY, "-m", "faceblur_cam", "pause"], capture_output=True, text=True, timeout=120)
        paused = reader.until("card:PAUSED", 120)
        check(asked.returncode == 0 and paused is not None, "pause: the paused card is published")
        reader.cap.release()
    finally:
        stop_app(proc, log_path)


def phase_disconnect(reader: Reader, app: subprocess.Popen[bytes], rate: float) -> None:
    """``rate``: the published frames per second measured before. Under emulation it was 0.2 fps
    beside other work: a frame every 5 s, so the first camera frame after the device is back
    comes up to one frame interval later than the app has it (a clean-clone run measured 8.4 s
    against a flat 5 s); the limit is ``RECOVERY_S`` plus two published frame intervals."""
    limit = RECOVERY_S + 2 / max(rate, 0.05)
    out = v4l2("--set-ctrl=disconnect=1")
    t_pulled = time.monotonic()
    check("error" not in out.lower(), f"disconnect control set {out.strip()[:200]}")
    t_card = reader.until("card:NO_CAMERA", 120)
    check(t_card is not None, f"disconnect: the 'no camera' card is published "
          f"({(t_card or 0) - t_pulled:.1f} s after the pull)")
    # vivid is back once every handle is closed (the app closes its own when the camera fails)
    deadline = time.monotonic() + left(60)
    while not can_open(WEBCAM) and time.monotonic() < deadline:
        time.sleep(0.05)
    t_back = time.monotonic()
    t_picture = reader.until(("picture", "obscured"), 120)  # camera frames again (obscured while detection restarts)
    recovered = None if t_picture is None else t_picture - max(t_back, t_card or t_back)
    check(recovered is not None and recovered <= limit,
          f"disconnect: camera frames are back {recovered if recovered is not None else float('nan'):.1f} s "
          f"after the device could be opened again (limit {limit:.1f} s: {RECOVERY_S:.0f} s and two "
          f"frames at the {rate:.1f} fps published here)")
    check(app.poll() is None, "the app is still running after the disconnect")


def main() -> int:
    logging.basicConfig(level=logging.INFO)
    art = Path(sys.argv[1])
    art.mkdir(parents=True, exist_ok=True)
    loopback = device_by_label(LABEL)
    if not check(Path(WEBCAM).exists() and loopback is not None,
                 f"the vivid webcam {WEBCAM} and the loopback {LABEL!r} ({loopback}) exist"):
        return 1
    assert loopback is not None
    print(v4l2("--info"))
    phase_devices(art)
    phase_app(art, loopback)
    print("ALL PASSED" if not failures else f"{len(failures)} FAILED: {failures}", flush=True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
