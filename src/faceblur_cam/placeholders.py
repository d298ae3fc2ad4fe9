"""Placeholder cards the virtual camera shows instead of the camera picture.

Cards are drawn once per (state, message) and cached; they contain no camera pixels at all.
A card is published into the call and recorded, so it says nothing about the machine: the "No
camera" card says "Camera disconnected" whatever the reason (the reason names a device path or
a file with the user's name in it; it stays in the tray and the log), and a message with a path
in it is not drawn.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from faceblur_cam import APP_NAME
from faceblur_cam.engine import EngineState
from faceblur_cam.frames import FrameKind, PublishedFrame

TITLES = {
    EngineState.STARTING: "Starting protection...",
    EngineState.PROTECTING: "Protecting",
    EngineState.PAUSED: "Paused",
    EngineState.NO_CAMERA: "No camera",
    EngineState.ERROR: "Protection unavailable",
    EngineState.STOPPED: "Stopped",
}
ACCENTS = {  # BGR
    EngineState.PAUSED: (60, 160, 230),
    EngineState.NO_CAMERA: (80, 80, 220),
    EngineState.ERROR: (60, 60, 220),
}


@dataclass
class PlaceholderCards:
    """``card(state, message)`` -> a ``PublishedFrame`` of kind PLACEHOLDER, ``wh`` sized."""

    wh: tuple[int, int] = (1280, 720)
    _cache: dict[tuple[EngineState, str], np.ndarray] = field(default_factory=dict)

    def card(self, state: EngineState, message: str = "") -> PublishedFrame:
        key = (state, card_message(state, message))
        if key not in self._cache:
            if len(self._cache) > 32:
                self._cache.clear()
            self._cache[key] = render_card(self.wh, TITLES.get(state, state.value), key[1],
                                           ACCENTS.get(state, (200, 170, 90)))
        return PublishedFrame(image=self._cache[key], t=0.0, kind=FrameKind.PLACEHOLDER)


NO_CAMERA_TEXT = "Camera disconnected, retrying"
ERROR_TEXT = "The picture is hidden until protection works again"


def card_message(state: EngineState, message: str) -> str:
    """What a card may say about ``message``: nothing that identifies the machine (paths, users)."""
    if state is EngineState.NO_CAMERA:
        return NO_CAMERA_TEXT
    if any(mark in message for mark in ("/", "\\", "~")):
        return ERROR_TEXT if state is EngineState.ERROR else ""
    return message


def render_card(wh: tuple[int, int], title: str, message: str, accent: tuple[int, int, int]) -> np.ndarray:
    w, h = wh
    image = np.empty((h, w, 3), np.uint8)
    image[:] = (38, 32, 30)
    unit = min(w, h) / 720
    font = cv2.FONT_HERSHEY_DUPLEX
    # a simple shield-like badge
    cx, cy, r = w // 2, int(h * 0.36), max(8, int(70 * unit))
    cv2.circle(image, (cx, cy), r, accent, -1, cv2.LINE_AA)
    cv2.ellipse(image, (cx, cy), (int(r * 0.45), int(r * 0.58)), 0, 0, 360, (38, 32, 30), -1, cv2.LINE_AA)
    _centered(image, APP_NAME, int(h * 0.60), font, 1.2 * unit, (235, 235, 235), max(1, int(2 * unit)))
    _centered(image, title, int(h * 0.70), font, 1.0 * unit, accent, max(1, int(2 * unit)))
    for i, line in enumerate(_wrap(message, 60)[:3]):
        _centered(image, line, int(h * (0.79 + 0.06 * i)), cv2.FONT_HERSHEY_SIMPLEX, 0.7 * unit,
                  (200, 200, 200), max(1, int(1.5 * unit)))
    return image


def _centered(image: np.ndarray, text: str, y: int, font: int, scale: float,
              color: tuple[int, int, int], thick: int) -> None:
    (tw, _th), _ = cv2.getTextSize(text, font, scale, thick)
    cv2.putText(image, text, ((image.shape[1] - tw) // 2, y), font, scale, color, thick, cv2.LINE_AA)


def _wrap(text: str, width: int) -> list[str]:
    lines: list[str] = []
    for word in text.split():
        if lines and len(lines[-1]) + 1 + len(word) <= width:
            lines[-1] += " " + word
        else:
            lines.append(word)
    return lines
