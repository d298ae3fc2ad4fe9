"""Runs INSIDE the vcam-vm guest (installed with ``--apt chromium``): what a web call sees.

    python tests/e2e/guest_chromium.py ARTIFACT_DIR

Starts ``faceblur-cam run --no-tray`` on the eval clip, then headless Chromium opens a page
from 127.0.0.1 that calls getUserMedia + enumerateDevices (what Meet, Teams and Zoom web do),
draws a video frame on a canvas and posts the labels and the frame (PNG) back. Checks: a
videoinput labelled "FaceBlur Cam", the track label, and the captured frame shows the picture
with the face obscured. Prints PASS/FAIL lines; exits 1 on any failure.
"""

from __future__ import annotations

import base64
import http.server
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import guest_vcam_app as g  # noqa: E402

PAGE = b"""<!doctype html><script>
(async () => {
  const out = {};
  try {
    const stream = await navigator.mediaDevices.getUserMedia({video: true});
    out.devices = (await navigator.mediaDevices.enumerateDevices())
      .map(d => ({kind: d.kind, label: d.label}));
    out.track = stream.getVideoTracks()[0].label;
    const v = document.createElement('video');
    v.muted = true; v.srcObject = stream; await v.play();
    await new Promise(r => setTimeout(r, 3000));
    const c = document.createElement('canvas');
    c.width = v.videoWidth; c.height = v.videoHeight;
    c.getContext('2d').drawImage(v, 0, 0);
    out.size = [c.width, c.height];
    out.png = c.toDataURL('image/png');
  } catch (e) { out.error = String(e); }
  await fetch('/result', {method: 'POST', body: JSON.stringify(out)});
})();
</script>"""


def serve() -> tuple[http.server.ThreadingHTTPServer, dict, threading.Event]:
    result: dict = {}
    got = threading.Event()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.end_headers()
            self.wfile.write(PAGE)

        def do_POST(self) -> None:
            result.update(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(204)
            self.end_headers()
            got.set()

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, result, got


def ask_chromium(url: str, profile: str) -> None:
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if not g.check(browser is not None, f"chromium installed ({browser})"):
        return
    assert browser is not None
    proc = subprocess.Popen(
        [browser, "--headless", "--no-sandbox", "--disable-gpu", "--use-fake-ui-for-media-stream",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--no-first-run", f"--user-data-dir={profile}", url],
        stdout=subprocess.DEVNULL, stderr=open(os.path.join(profile, "chromium.log"), "w"),
        start_new_session=True)
    return proc  # type: ignore[return-value]


def main() -> int:
    art = Path(sys.argv[1])
    art.mkdir(parents=True, exist_ok=True)
    tmp = Path("/tmp/faceblur-e2e")
    tmp.mkdir(exist_ok=True)
    device = g.device_by_label(g.APP_LABEL)
    if not g.check(device is not None, f"a device labelled {g.APP_LABEL!r} exists ({device})"):
        return 1
    assert device is not None
    clip, refs = g.make_clip(tmp)
    log_path = art / "chromium-app.log"
    app = g.start_app(clip, g.write_config(tmp), log_path)
    server, result, got = serve()
    try:
        deadline = time.monotonic() + 180
        while "Protecting" not in log_path.read_text(errors="replace") and time.monotonic() < deadline:
            time.sleep(0.5)
        if not g.check(g.wait_for_capture(device, 5), "the app is publishing protected frames"):
            return 1
        with tempfile.TemporaryDirectory() as profile:
            proc = ask_chromium(f"http://127.0.0.1:{server.server_address[1]}/", profile)
            ok = got.wait(240)
            if proc is not None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
            if not ok:
                print(Path(profile, "chromium.log").read_text(errors="replace")[-3000:])
    finally:
        server.shutdown()
        g.stop_app(app, log_path, "chromium run")
    if not g.check(ok and "error" not in result, f"Chromium answered {result.get('error', '')}"):
        return 1
    cams = [d["label"] for d in result["devices"] if d["kind"] == "videoinput"]
    g.check(g.APP_LABEL in cams, f"enumerateDevices videoinput labels {cams} include {g.APP_LABEL!r}")
    g.check(result["track"] == g.APP_LABEL, f"getUserMedia track label {result['track']!r}")
    png = base64.b64decode(result["png"].split(",", 1)[1])
    (art / "chromium-frame.png").write_bytes(png)
    frame = cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_COLOR)
    if frame.shape[:2] != (g.H, g.W):
        frame = cv2.resize(frame, (g.W, g.H), interpolation=cv2.INTER_AREA)
    verdict = refs.judge(frame)
    g.check(verdict.is_content and verdict.face_obscured and verdict.background_intact,
            f"the frame Chromium captured ({result['size']}) shows the picture with the face "
            f"obscured: {verdict}")
    print("ALL PASSED" if not g.failures else f"{len(g.failures)} FAILED: {g.failures}", flush=True)
    return 1 if g.failures else 0


if __name__ == "__main__":
    sys.exit(main())
