"""``RecordingChoice``: the microphone and voice the next recording takes, changeable while running.

It starts from ``[recording]`` in the config (command-line flags applied); the tray's Microphone
menu and "Disguise voice" box change it; each recording reads it once, when it starts, so a
change never touches a recording already running. Any thread.
"""

from __future__ import annotations

import threading
from dataclasses import replace

from faceblur_cam.config import RecordingConfig, Voice


class RecordingChoice:
    def __init__(self, settings: RecordingConfig):
        self._lock = threading.Lock()
        self._settings = settings

    def current(self) -> RecordingConfig:
        with self._lock:
            return self._settings

    def choose_audio(self, audio: str) -> None:
        """``"default"``, ``"off"`` or an input device's name or number."""
        if not audio.strip():
            raise ValueError("no microphone named")
        with self._lock:
            self._settings = replace(self._settings, audio=audio)

    def choose_voice(self, voice: Voice | str) -> None:
        if voice not in Voice.names():
            raise ValueError(f"voice must be one of {', '.join(Voice.names())}, got {voice!r}")
        voice = Voice(voice)
        with self._lock:
            self._settings = replace(self._settings, voice=voice)
