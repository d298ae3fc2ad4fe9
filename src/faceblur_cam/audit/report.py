"""The audit's outputs: ``report.json`` and the contact sheet PNG beside it.

``report.json`` = ``{"frames": N, "suspects": [{"frame", "time", "box", "score", "detector"}]}``.
The contact sheet shows each suspect frame as a thumbnail with its boxes drawn, or, when there
are none, one card saying "no suspects in N frames". The sheet shows the very faces the audit
found uncovered: it is written only where the user asked (``--report DIR``).
"""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np

from faceblur_cam.audit.auditor import Suspect

THUMB_W = 320
COLUMNS = 4
MAX_THUMBS = 48  # the first this many suspect frames; the sheet says how many more there are
RED = (0, 0, 255)
WHITE = (255, 255, 255)
FONT = cv2.FONT_HERSHEY_SIMPLEX
REPORT_NAME = "report.json"
SHEET_NAME = "contact-sheet.png"


class ContactSheet:
    """Collects thumbnails of suspect frames as the audit goes (``add``), draws them (``render``)."""

    def __init__(self, max_thumbs: int = MAX_THUMBS):
        self.max_thumbs = max_thumbs
        self.thumbs: list[np.ndarray] = []
        self.frames_with_suspects = 0

    def add(self, image: np.ndarray, suspects: list[Suspect]) -> None:
        if not suspects:
            return
        self.frames_with_suspects += 1
        if len(self.thumbs) >= self.max_thumbs:
            return
        h, w = image.shape[:2]
        scale = THUMB_W / w
        thumb = cv2.resize(image, (THUMB_W, max(1, int(round(h * scale)))), interpolation=cv2.INTER_AREA)
        for s in suspects:
            x, y, bw, bh = (int(round(v * scale)) for v in s.box)
            cv2.rectangle(thumb, (x, y), (x + bw, y + bh), RED, 2)
        first = suspects[0]
        label = f"frame {first.frame}  {first.time:.2f} s  {first.detector} {first.score:.2f}"
        band = np.zeros((22, THUMB_W, 3), np.uint8)
        cv2.putText(band, label, (4, 16), FONT, 0.45, WHITE, 1, cv2.LINE_AA)
        self.thumbs.append(np.vstack([band, thumb]))

    def render(self, frames: int) -> np.ndarray:
        if not self.thumbs:
            return _card(f"no suspects in {frames:,} frames", (60, 140, 60))
        cell_h = max(t.shape[0] for t in self.thumbs)
        rows = (len(self.thumbs) + COLUMNS - 1) // COLUMNS
        cols = min(COLUMNS, len(self.thumbs))
        title_h = 40
        sheet = np.full((title_h + rows * (cell_h + 6), cols * (THUMB_W + 6), 3), 32, np.uint8)
        more = self.frames_with_suspects - len(self.thumbs)
        n = self.frames_with_suspects
        title = f"{n:,} suspect frame{'' if n == 1 else 's'} in {frames:,}"
        title += f" ({more} more not shown)" if more else ""
        cv2.putText(sheet, title, (8, 27), FONT, 0.7, WHITE, 2, cv2.LINE_AA)
        for i, thumb in enumerate(self.thumbs):
            r, c = divmod(i, COLUMNS)
            y, x = title_h + r * (cell_h + 6), c * (THUMB_W + 6) + 3
            sheet[y:y + thumb.shape[0], x:x + THUMB_W] = thumb
        return sheet


def _card(text: str, colour: tuple[int, int, int]) -> np.ndarray:
    card = np.full((160, 640, 3), 32, np.uint8)
    cv2.rectangle(card, (0, 0), (639, 159), colour, 6)
    (tw, _), _ = cv2.getTextSize(text, FONT, 0.9, 2)
    cv2.putText(card, text, ((640 - tw) // 2, 90), FONT, 0.9, WHITE, 2, cv2.LINE_AA)
    return card


def write_report(folder: Path, frames: int, suspects: list[Suspect], sheet: ContactSheet) -> tuple[Path, Path]:
    """``folder/report.json`` and ``folder/contact-sheet.png`` (the folder is created)."""
    folder.mkdir(parents=True, exist_ok=True)
    report = folder / REPORT_NAME
    report.write_text(json.dumps({"frames": frames, "suspects": [s.to_json() for s in suspects]}, indent=1) + "\n")
    png = folder / SHEET_NAME
    if not cv2.imwrite(str(png), sheet.render(frames)):
        raise OSError(f"cannot write {png}")
    return report, png
