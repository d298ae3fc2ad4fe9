"""Voice disguise: a pitch and formant shift, as an ffmpeg audio filter chain.

The shift runs inside the ffmpeg process that encodes the output, so the undisguised voice is
decoded, shifted and encoded in that process's memory: it never reaches a pipe, a temporary
file or our own process.

- By default pitch and formants (the resonances of the speaker's throat and mouth, a large
  part of what makes a voice recognisable) move together by ``pitch_semitones``: the audio is
  played at another sample rate (``asetrate``: pitch and formants move, duration changes),
  resampled back, and its duration restored with ``atempo`` (time-domain, pitch-preserving).
  Exact (measured: a 220 Hz tone lands on 220 * 2^(-5/12) Hz) and in every ffmpeg build.
- A different ``formant_semitones`` moves formants by that amount in the same way, then the
  pitch by the rest with the Rubber Band library (ffmpeg's ``rubberband`` filter, formants
  kept). Rubber Band keeps formants only in part: measured, formants asked to move -6
  semitones with the pitch unchanged moved about -3.5. Without the ``rubberband`` filter (an
  ffmpeg built without librubberband) both move by ``pitch_semitones``.

Why not pedalboard's ``PitchShift`` (also Rubber Band): it installs, but streamed in chunks
(``reset=False``, needed for hour-long files in bounded memory) it returned silence with about a
second of latency in pedalboard 0.9.26, and processing whole files needs the whole sound in
memory. Inside ffmpeg the undisguised sound also never reaches Python or a pipe.

What it does not hide: the words, accent, vocabulary, rhythm and way of speaking, background
sounds; and a shift can be partly undone by someone who guesses it (see the README).
"""

from __future__ import annotations

import functools
import logging
import subprocess
from dataclasses import dataclass

log = logging.getLogger(__name__)

NO_WINDOW = getattr(subprocess, "CREATE_NO_WINDOW", 0)
MAX_SHIFT = 12.0  # semitones either way: an octave


@dataclass(frozen=True)
class VoiceDisguise:
    """A pitch shift and a formant shift, in semitones (negative = lower)."""

    pitch_semitones: float = -5.0
    formant_semitones: float | None = None  # None: with the pitch

    def __post_init__(self) -> None:
        for name, value in (("pitch", self.pitch_semitones), ("formant", self.formant_semitones)):
            if value is not None and not -MAX_SHIFT <= value <= MAX_SHIFT:
                raise ValueError(f"the voice {name} shift must be within +-{MAX_SHIFT:g} semitones, got {value}")

    def audio_filter(self, sample_rate: int, rubberband: bool) -> str:
        """The ffmpeg ``-af`` chain for audio at ``sample_rate`` Hz (the output keeps that rate)."""
        formant = self.pitch_semitones if self.formant_semitones is None or not rubberband else self.formant_semitones
        chain = []
        if formant:
            ratio = 2 ** (formant / 12)
            chain += [f"asetrate={sample_rate * ratio:.3f}", f"aresample={sample_rate}", *_atempo(1 / ratio)]
        rest = self.pitch_semitones - formant
        if rest:
            chain.append(f"rubberband=pitch={2 ** (rest / 12):.6f}:formant=preserved:pitchq=quality")
        return ",".join(chain) or "anull"


def _atempo(factor: float) -> list[str]:
    """``atempo`` takes 0.5-2.0 per instance (older ffmpeg): chain as many as needed."""
    steps = []
    while factor > 2.0:
        steps.append("atempo=2.0")
        factor /= 2.0
    while factor < 0.5:
        steps.append("atempo=0.5")
        factor /= 0.5
    return [*steps, f"atempo={factor:.6f}"]


@functools.lru_cache(maxsize=8)
def has_rubberband(exe: str) -> bool:
    """Whether the ffmpeg at ``exe`` has the ``rubberband`` filter (imageio-ffmpeg's has)."""
    try:
        out = subprocess.run([exe, "-hide_banner", "-filters"], capture_output=True, text=True, timeout=20,
                             creationflags=NO_WINDOW, check=False).stdout
    except (OSError, subprocess.SubprocessError):
        return False
    found = any(len(line.split()) > 1 and line.split()[1] == "rubberband" for line in out.splitlines())
    if not found:
        log.warning("ffmpeg at %s has no rubberband filter: the voice disguise moves pitch and formants "
                    "together", exe)
    return found
