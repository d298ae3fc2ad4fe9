"""Headless Chromium as a web call sees a camera (used by guest_vcam_app.py in the VM).

``capture(accept)`` serves a page on 127.0.0.1 that calls getUserMedia + enumerateDevices (what
Meet, Teams and Zoom web do), then draws a video frame on a canvas twice a second and posts it
(PNG) until ``accept(png)`` says it is the one (a slow emulated guest shows start-up cards and
fully obscured frames first: we wait for a frame, not for a time), then posts the device
labels, the track label, that frame (PNG data URL) and how many frames it took. A video that stays
at a placeholder size (Chromium once showed a 2x2 picture for 232 s, CI of stop 29: it had opened
the device while the app was still setting its format) is closed and opened again after
``reopen_ms``, as a user would pick the camera again; ``reopens`` says how often. Needs Debian's
``chromium``.
"""

from __future__ import annotations

import base64
import http.server
import json
import os
import shutil
import signal
import subprocess
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

PAGE = b"""<!doctype html><script>
(async () => {
  const out = {};
  try {
    const query = new URLSearchParams(location.search);
    let stream = await navigator.mediaDevices.getUserMedia({video: true});
    out.devices = (await navigator.mediaDevices.enumerateDevices())
      .map(d => ({kind: d.kind, label: d.label}));
    out.track = stream.getVideoTracks()[0].label;
    const v = document.createElement('video');
    v.muted = true; v.srcObject = stream; await v.play();
    const c = document.createElement('canvas');
    const deadline = Date.now() + Number(query.get('wait_ms'));
    const reopenMs = Number(query.get('reopen_ms'));
    let opened = Date.now();
    out.frames = 0; out.reopens = 0; out.sizes = [];
    while (true) {
      await new Promise(r => setTimeout(r, 500));
      const size = v.videoWidth + 'x' + v.videoHeight;
      if (!out.sizes.includes(size)) out.sizes.push(size);
      if (v.videoWidth < 16 && Date.now() - opened > reopenMs && Date.now() < deadline) {
        stream.getTracks().forEach(t => t.stop());
        stream = await navigator.mediaDevices.getUserMedia({video: true});
        out.track = stream.getVideoTracks()[0].label;
        v.srcObject = stream; await v.play();
        opened = Date.now(); out.reopens += 1;
        continue;
      }
      if (!v.videoWidth) continue;
      c.width = v.videoWidth; c.height = v.videoHeight;
      c.getContext('2d').drawImage(v, 0, 0);
      out.size = [c.width, c.height];
      out.png = c.toDataURL('image/png');
      out.frames += 1;
      const verdict = await (await fetch('/frame', {method: 'POST', body: out.png})).json();
      if (verdict.enough || Date.now() > deadline) break;
    }
  } catch (e) { out.error = String(e); }
  await fetch('/result', {method: 'POST', body: JSON.stringify(out)});
})();
</script>"""


def _png(data_url: bytes) -> bytes:
    return base64.b64decode(data_url.split(b",", 1)[1])


def capture(accept: Callable[[bytes], bool] = lambda png: True, timeout: float = 240,
            reopen: float = 30) -> dict[str, Any]:
    """Run the page in headless Chromium until it shows a frame ``accept`` takes (or ``timeout``
    seconds; a video smaller than 16 px for ``reopen`` seconds is opened again); the page's answer
    (with the last frame drawn), or ``{"error": ...}``."""
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        return {"error": "chromium is not installed (run-in-vm --apt chromium)"}
    result: dict[str, Any] = {}
    got = threading.Event()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.end_headers()
            self.wfile.write(PAGE)

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            if self.path == "/frame":
                answer = json.dumps({"enough": bool(accept(_png(body)))}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(answer)
                return
            result.update(json.loads(body))
            self.send_response(204)
            self.end_headers()
            got.set()

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        with tempfile.TemporaryDirectory() as profile:
            log_path = Path(profile) / "chromium.log"
            with open(log_path, "w") as log:
                proc = subprocess.Popen(
                    [browser, "--headless", "--no-sandbox", "--disable-gpu",
                     "--use-fake-ui-for-media-stream", "--disable-background-networking",
                     "--disable-component-update", "--disable-sync", "--no-first-run",
                     f"--user-data-dir={profile}",
                     f"http://127.0.0.1:{server.server_address[1]}/?wait_ms={int(timeout * 1000 * 0.8)}"
                     f"&reopen_ms={int(reopen * 1000)}"],
                    stdout=subprocess.DEVNULL, stderr=log, start_new_session=True)
                answered = got.wait(timeout)
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
            if not answered:
                return {"error": "no answer from Chromium: " + log_path.read_text(errors="replace")[-2000:]}
    finally:
        server.shutdown()
    return result
