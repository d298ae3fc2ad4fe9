"""Headless Chromium as a web call sees a camera (used by guest_vcam_app.py in the VM).

``capture()`` serves a page on 127.0.0.1 that calls getUserMedia + enumerateDevices (what
Meet, Teams and Zoom web do), draws a video frame on a canvas and posts the device labels,
the track label and the frame (PNG data URL) back. Needs Debian's ``chromium``.
"""

from __future__ import annotations

import http.server
import json
import os
import shutil
import signal
import subprocess
import tempfile
import threading
from pathlib import Path
from typing import Any

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


def capture(timeout: float = 240) -> dict[str, Any]:
    """Run the page in headless Chromium; the page's answer, or ``{"error": ...}``."""
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
            result.update(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
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
                     f"--user-data-dir={profile}", f"http://127.0.0.1:{server.server_address[1]}/"],
                    stdout=subprocess.DEVNULL, stderr=log, start_new_session=True)
                answered = got.wait(timeout)
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
            if not answered:
                return {"error": "no answer from Chromium: " + log_path.read_text(errors="replace")[-2000:]}
    finally:
        server.shutdown()
    return result
