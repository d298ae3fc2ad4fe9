"""``Microphone``: sound from an input device (PortAudio through ``sounddevice``), timestamped.

Thread rules: PortAudio calls ``_callback`` on its own thread; it only copies the block and
puts it in a bounded queue (dropping, counted, when nobody takes them). ``take`` and ``close``
run on the recorder's audio thread. Each block carries the ``time.monotonic()`` time of its
first sample (PortAudio's input latency taken off), the clock frames are stamped with, so a
recorder can line sound up with pictures.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

# recordings take sound where the recorder's ffmpeg can read it from a pipe (not on Windows yet)
SOUND_SUPPORTED = os.name == "posix"
SAMPLE_RATE = 48000
BLOCK = 960  # 20 ms
MAX_QUEUED = 3000  # 60 s of blocks (5.5 MB): an encoder starved by a loaded machine catches up without losing sound


class MicrophoneUnavailable(RuntimeError):
    """No input device could be opened; the message says which and why (for the user)."""


@dataclass(frozen=True)
class SoundBlock:
    t: float  # monotonic time of the first sample
    pcm: np.ndarray  # int16 (n,), mono, SAMPLE_RATE


def input_device(setting: str) -> str | int | None:
    """``"default"`` -> PortAudio's default input; a number -> that device index; else a name."""
    if setting in ("", "default"):
        return None
    return int(setting) if setting.isdigit() else setting


@dataclass(frozen=True)
class InputDevice:
    """A microphone as the user picks it (``faceblur-cam devices``, the tray's Microphone menu)."""

    setting: str  # what ``[recording] audio`` and ``--audio`` take to pick exactly this device
    name: str
    default: bool = False  # the system's default input


def input_devices(devices: Sequence[Mapping[str, Any]], host_api: Mapping[str, Any]) -> list[InputDevice]:
    """The inputs of ``host_api`` (PortAudio's default one) among ``devices`` (``query_devices()``).

    Only one host API: Windows lists each microphone once per API (MME, DirectSound, WASAPI...).
    A device is picked by its name; by its number where two share a name (numbers change when
    devices come and go, names do not).
    """
    members = [i for i in host_api.get("devices", ()) if devices[i]["max_input_channels"] > 0]
    counts = Counter(devices[i]["name"] for i in members)
    return [InputDevice(setting=devices[i]["name"] if counts[devices[i]["name"]] == 1 else str(i),
                        name=devices[i]["name"], default=i == host_api.get("default_input_device", -1))
            for i in members]


def list_microphones() -> list[InputDevice]:
    """The microphones there are now (listed afresh unless one is recording): ``MicrophoneUnavailable``
    when this system has no sound input support."""
    try:
        import sounddevice as sd
    except (ImportError, OSError) as exc:
        raise MicrophoneUnavailable(f"no sound input support ({exc})") from exc
    with _portaudio:
        if _streams_open == 0:
            _rescan(sd)
        try:
            return input_devices(sd.query_devices(), sd.query_hostapis(sd.default.hostapi))
        except Exception as exc:  # PortAudioError: no host API at all
            raise MicrophoneUnavailable(f"cannot list the microphones: {exc}") from exc


# PortAudio can only be restarted (to see new devices) while no stream is open: opening, listing
# and closing take this lock and keep the count
_portaudio = threading.Lock()
_streams_open = 0


def _rescan(sd: Any) -> None:
    """Let PortAudio list the devices afresh: it reads them once, when it starts, so a microphone
    plugged in (or a sound server started) since then would stay invisible. Only called while we
    have no stream open (one microphone at a time)."""
    try:
        sd._terminate()
        sd._initialize()
    except Exception as exc:  # keep the old list: opening will say what is wrong
        log.debug("could not rescan the sound devices: %s", exc)


class Microphone:
    """Mono 16-bit sound at 48 kHz from ``device`` (see ``input_device``), from now until ``close``."""

    def __init__(self, setting: str = "default", clock: Callable[[], float] = time.monotonic):
        self.setting = setting
        self.dropped = 0
        self.failed: str | None = None  # set when the device stops delivering (unplugged...)
        self._clock = clock
        self._closing = False
        self._queue: queue.Queue[SoundBlock] = queue.Queue(maxsize=MAX_QUEUED)
        try:
            import sounddevice as sd
        except (ImportError, OSError) as exc:  # OSError: the PortAudio library is missing
            raise MicrophoneUnavailable(f"no sound input support ({exc})") from exc
        global _streams_open
        with _portaudio:
            if _streams_open == 0:
                _rescan(sd)
            try:
                self._stream = sd.InputStream(samplerate=SAMPLE_RATE, channels=1, dtype="int16", blocksize=BLOCK,
                                              device=input_device(setting), callback=self._callback, latency="low",
                                              finished_callback=self._finished)
            except Exception as exc:  # sounddevice raises PortAudioError, ValueError (no such device)...
                raise MicrophoneUnavailable(f"cannot open the microphone {setting!r}: {exc}") from exc
            _streams_open += 1
        try:
            self._stream.start()
        except Exception as exc:
            self.close()
            raise MicrophoneUnavailable(f"cannot start the microphone {setting!r}: {exc}") from exc
        self.name = str(getattr(self._stream, "device", setting))
        log.info("microphone %r open (device %s, latency %.0f ms)", setting, self.name,
                 float(self._stream.latency) * 1000)

    def _callback(self, indata: np.ndarray, frames: int, time_info: Any, status: Any) -> None:
        now = self._clock()
        delay = time_info.currentTime - time_info.inputBufferAdcTime
        if not 0 <= delay < 1:  # no usable timing from the host API: the block just ended
            delay = frames / SAMPLE_RATE
        try:
            self._queue.put_nowait(SoundBlock(now - delay, indata[:, 0].copy()))
        except queue.Full:
            self.dropped += 1

    def _finished(self) -> None:
        if self.failed is None and not self._closing:
            self.failed = "the microphone stopped"

    def take(self) -> list[SoundBlock]:
        """Every block captured since the last call, oldest first."""
        blocks = []
        while True:
            try:
                blocks.append(self._queue.get_nowait())
            except queue.Empty:
                return blocks

    def close(self) -> None:
        """Stop capturing. Idempotent."""
        global _streams_open
        with _portaudio:
            if self._closing:
                return
            self._closing = True
            try:
                self._stream.stop()
                self._stream.close()
            except Exception as exc:  # a device already gone
                log.debug("closing the microphone: %s", exc)
            _streams_open -= 1
