"""Recordings with the microphone's sound: a real PulseAudio server started here (a null sink and
a pipe source fed with a beep or espeak-ng speech), captured through PortAudio (sounddevice) by
the recorder a user runs; files checked with ffprobe and by decoding them.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from pulse_server import RATE, PulseServer

pytestmark = pytest.mark.skipif(
    not all(shutil.which(p) for p in ("pulseaudio", "pactl", "ffprobe")),
    reason="pulseaudio, pulseaudio-utils and ffmpeg (tests/apt-packages.txt) are needed",
)

FPS = 30
WH = (320, 240)


@pytest.fixture
def pulse(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Iterator[PulseServer]:
    server = PulseServer(tmp_path_factory.mktemp("pulse"))
    for key, value in server.env.items():
        if key != "HOME":
            monkeypatch.setenv(key, value)
    try:
        yield server
    finally:
        server.close()


def beep(seconds: float = 0.2, hz: float = 1000) -> np.ndarray:
    t = np.arange(int(seconds * RATE)) / RATE
    return (12000 * np.sin(2 * np.pi * hz * t)).astype(np.int16)


def ffmpeg() -> str:
    import imageio_ffmpeg

    return str(imageio_ffmpeg.get_ffmpeg_exe())


def sound_of(path: Path) -> np.ndarray:
    out = subprocess.run([ffmpeg(), "-v", "error", "-i", str(path), "-map", "0:a:0", "-f", "s16le", "-ac", "1",
                          "-ar", str(RATE), "-"], capture_output=True, timeout=60, check=True).stdout
    return np.frombuffer(out, np.int16).astype(np.float32) / 32768


def brightness_of(path: Path) -> np.ndarray:
    """Mean brightness of every decoded frame, in order (frame i is shown at i / FPS)."""
    out = subprocess.run([ffmpeg(), "-v", "error", "-i", str(path), "-map", "0:v:0", "-fps_mode", "passthrough",
                          "-f", "rawvideo", "-pix_fmt", "gray", "-"], capture_output=True, timeout=60,
                         check=True).stdout
    return np.frombuffer(out, np.uint8).reshape(-1, WH[0] * WH[1]).mean(axis=1)


def onsets(signal_: np.ndarray, threshold: float, rate: float, min_gap: float) -> list[float]:
    """Times where ``signal_`` first rises above ``threshold``, at least ``min_gap`` apart."""
    above = np.nonzero(signal_ > threshold)[0]
    times: list[float] = []
    for i in above:
        if not times or i / rate - times[-1] > min_gap:
            times.append(i / rate)
    return times


def envelope(sound: np.ndarray, window: int = 48) -> np.ndarray:
    return np.convolve(np.abs(sound), np.ones(window) / window, mode="same")


# ---------------------------------------------------------------------------------- A/V offset
# alone: a 45 ms bound measured in real time; beside a VM and two workers (tests/run.sh runs the
# rest at nice 10, this test's PulseAudio and encoder with it) the disguised run once drifted to
# -49 ms. How the offset holds under load is test_recording_under_load.py's job.
@pytest.mark.alone
@pytest.mark.parametrize("disguise", [False, True])
def test_flash_and_beep_line_up_within_45_ms(tmp_path: Path, pulse: PulseServer, disguise: bool) -> None:
    from faceblur_cam.frames import FrameKind, PublishedFrame
    from faceblur_cam.recording.recorder import Mp4Recorder
    from faceblur_cam.recording.sound_track import open_microphone
    from faceblur_cam.voice import VoiceDisguise

    microphone = open_microphone("default")
    assert microphone is not None, "the test's PulseAudio source could not be opened"
    path = tmp_path / "rec.mp4"
    recorder = Mp4Recorder(path, WH, FPS, microphone=microphone, voice=VoiceDisguise() if disguise else None)
    dark, bright = np.zeros((WH[1], WH[0], 3), np.uint8), np.full((WH[1], WH[0], 3), 255, np.uint8)
    start = time.monotonic() + 0.3
    flashes = (30, 75, 120)  # frames 1.0 s, 2.5 s, 4.0 s in
    for k in flashes:
        pulse.play(start + k / FPS, beep())
    try:
        for k in range(150):
            t = start + k / FPS
            if t > time.monotonic():
                time.sleep(t - time.monotonic())
            image = bright if any(f <= k < f + 3 for f in flashes) else dark
            recorder.send(PublishedFrame(image, t, FrameKind.REDACTED, index=k))
    finally:
        recorder.close()

    light = brightness_of(path)
    assert 150 <= len(light) <= 151
    seen = onsets(light, 128, FPS, 0.5)
    assert seen == pytest.approx([f / FPS for f in flashes], abs=1e-6)
    sound = sound_of(path)
    heard = onsets(envelope(sound), 0.05, RATE, 0.5)
    assert len(heard) == len(flashes), heard
    offsets_ms = [(h - s) * 1000 for h, s in zip(heard, seen)]
    print(f"A/V offsets (ms, sound after picture, disguise={disguise}):", [round(o, 1) for o in offsets_ms])
    assert all(abs(o) <= 45 for o in offsets_ms), offsets_ms
    pitch = dominant_hz(sound[int((heard[0] + 0.05) * RATE):int((heard[0] + 0.15) * RATE)])
    assert pitch == pytest.approx(1000 * 2 ** (-5 / 12) if disguise else 1000, rel=0.01), pitch


def dominant_hz(part: np.ndarray) -> float:
    spectrum = np.abs(np.fft.rfft(part * np.hanning(len(part)), 16 * len(part)))
    return float(np.argmax(spectrum) * RATE / (16 * len(part)))


def tone_hz(sound: np.ndarray) -> float:
    """The frequency of the one tone in a recording: the median over 0.1 s windows of its loud
    stretch. Where the tone lands in the file moves with the machine's load, and a time-domain
    pitch shift (``atempo``'s overlap-add) leaves short phase jumps on a pure tone that pull a
    long window's peak by a few hertz (a 1 s window read 166-170 Hz for 164.8 in 1 run of 5)."""
    hop = RATE // 10
    envelope = np.array([np.sqrt(np.mean(sound[i:i + hop] ** 2)) for i in range(0, len(sound) - hop, hop)])
    loud = np.flatnonzero(envelope > 0.5 * envelope.max())
    windows = range(int(loud[0]) + 1, int(loud[-1]) - 1)  # clear of the onset and the end
    assert len(windows) >= 5, f"the tone is loud for only {len(loud) / 10:.1f} s"
    return float(np.median([dominant_hz(sound[i * hop:(i + 1) * hop]) for i in windows]))


# ----------------------------------------------------------------- the real command, with speech
def speech(text: str = "This is an anonymous interview, recorded with its sound.") -> np.ndarray:
    """``text`` spoken by espeak-ng, int16 mono 48 kHz."""
    wav = subprocess.run(["espeak-ng", "--stdout", text], capture_output=True, timeout=60, check=True).stdout
    pcm = subprocess.run([ffmpeg(), "-v", "error", "-i", "pipe:0", "-f", "s16le", "-ac", "1", "-ar", str(RATE), "-"],
                         input=wav, capture_output=True, timeout=60, check=True).stdout
    return np.frombuffer(pcm, np.int16)


def camera_stand_in(tmp_path: Path) -> tuple[Path, Path]:
    """A looping test-pattern video standing in for the camera, and a small config for it."""
    video = tmp_path / "camera.mp4"
    subprocess.run([ffmpeg(), "-v", "error", "-f", "lavfi", "-i", f"testsrc=size={WH[0]}x{WH[1]}:rate={FPS}:duration=4",
                    "-c:v", "libx264", "-pix_fmt", "yuv420p", str(video)], check=True, timeout=60)
    config = tmp_path / "config.toml"
    config.write_text(f'[camera]\nsource = "{video}"\nwidth = {WH[0]}\nheight = {WH[1]}\nfps = {FPS}\n')
    return video, config


def start_recording(tmp_path: Path, pulse: PulseServer, *extra: str) -> tuple[subprocess.Popen[str], float, Path]:
    """``faceblur-cam run --record`` headless; returns once it says it records (process, that time, folder)."""
    _video, config = camera_stand_in(tmp_path)
    folder = tmp_path / "recordings"
    home = tmp_path / "home"
    home.mkdir(mode=0o700)  # a runtime dir others can read is ignored, and the shared /tmp/runtime-<uid> used
    env = {**os.environ, **{k: v for k, v in pulse.env.items() if k != "HOME"}, "HOME": str(home),
           "XDG_RUNTIME_DIR": str(home)}
    proc = subprocess.Popen([sys.executable, "-m", "faceblur_cam", "run", "--no-tray", "--no-virtual-camera",
                             "--record", "--record-dir", str(folder), "--config", str(config), *extra],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    assert proc.stdout is not None
    line = proc.stdout.readline()  # "Recording to ..." (blocks until then)
    started = time.monotonic()
    assert line.startswith("Recording to"), (line, proc.poll())
    return proc, started, folder


def stop(proc: subprocess.Popen[str], how: int = signal.SIGINT) -> str:
    proc.send_signal(how)
    try:
        _out, err = proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        _out, err = proc.communicate()
    return err


def rms(sound: np.ndarray, start: float, end: float) -> float:
    part = sound[int(start * RATE):int(end * RATE)]
    return float(np.sqrt(np.mean(part**2))) if len(part) else 0.0


def duration_of(path: Path, kind: str) -> float:
    """Seconds of ``kind`` ("video"/"audio") ffmpeg decodes from ``path`` (last packet's end)."""
    result = subprocess.run(["ffprobe", "-v", "error", "-select_streams", kind[0], "-show_entries",
                             "packet=pts_time,duration_time", "-of", "csv=p=0", str(path)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    ends = [float(a) + float(b) for a, b in (line.split(",")[:2] for line in result.stdout.split())
            if a not in ("", "N/A") and b not in ("", "N/A")]
    return max(ends, default=0.0)


# The real command's tests below time sound in real time: alone (tests/run.sh's last run), since
# beside a VM and two workers at nice 10 (this test's PulseAudio with them) a disguised tone once
# read 177.5 Hz for 164.8. How sound holds under load is test_recording_under_load.py's job.
@pytest.mark.alone
@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng (apt) missing")
def test_run_record_holds_the_speech_where_it_was_spoken(tmp_path: Path, pulse: PulseServer) -> None:
    """The speech is in the file, whole, and where it was spoken: one second after a marker beep
    played before it. Measured from the beep, since the file starts with its first frame, which a
    loaded machine captures a while after "Recording to" is printed (0.5 s once in CI)."""
    words = speech()
    marker_at, speech_at = 1.0, 2.0  # seconds after "Recording to"
    proc, started, folder = start_recording(tmp_path, pulse)
    try:
        pulse.play(started + marker_at, beep(0.1, 2000))
        pulse.play(started + speech_at, words)
        spoken = len(words) / RATE
        time.sleep(speech_at + spoken + 1.5)
    finally:
        err = stop(proc)
    assert proc.returncode == 0, err
    [path] = folder.glob("*.mp4")
    video, audio = duration_of(path, "video"), duration_of(path, "audio")
    assert audio > 0, "no sound in the recording"
    assert abs(video - audio) < 0.2, (video, audio)
    sound = sound_of(path)
    [marker, *_] = onsets(envelope(sound), 0.05, RATE, 0.5)
    said = marker + speech_at - marker_at  # where the speech belongs in the file
    loud = rms(sound, said + 0.5, said + spoken - 0.5)
    before, after = rms(sound, 0.0, marker - 0.05), rms(sound, said + spoken + 0.8, video - 0.1)
    between = rms(sound, marker + 0.15, said - 0.05)  # the first sound is the short marker, not the speech
    print(f"marker at {marker:.3f} s; speech rms {loud:.4f}, before {before:.5f}, between {between:.5f}, "
          f"after {after:.5f}")
    assert loud > 0.02 and before < loud / 20 and between < loud / 20 and after < loud / 20
    # the speech is there, whole, not just noise: it correlates with what was played, at its place
    played = np.zeros(len(sound), np.float32)
    played[: min(len(words), len(sound))] = words[: len(sound)] / 32768
    corr = np.fft.irfft(np.fft.rfft(sound, 2 * len(sound)) * np.conj(np.fft.rfft(played, 2 * len(sound))))
    lag = int(np.argmax(np.abs(corr[: len(sound)])))
    print(f"speech found at {lag / RATE:.3f} s, belongs at {said:.3f} s")
    # usually 0-20 ms; once in 10 quiet runs (just after a full test run) the speech lay 135 ms
    # early. Lip sync is the 45 ms tests' job; this one holds that no speech is lost or moved far
    assert abs(lag / RATE - said) < 0.2, (lag / RATE, said)
    assert "without sound" not in err


def test_sigkill_while_recording_with_sound_leaves_both_playable(tmp_path: Path, pulse: PulseServer) -> None:
    proc, started, folder = start_recording(tmp_path, pulse)
    pulse.play(started + 0.5, beep(seconds=3.0, hz=440))
    time.sleep(4.0)
    proc.kill()  # SIGKILL: no clean-up of ours runs; ffmpeg (own session) sees its pipes end
    proc.communicate(timeout=30)
    elapsed = time.monotonic() - started
    [path] = folder.glob("*.mp4")
    deadline = time.monotonic() + 60  # ffmpeg finishes the file after we are gone (a cap: quiet, 1-2 s)
    while time.monotonic() < deadline and duration_of(path, "audio") < elapsed - 1.5:
        time.sleep(0.5)
    video, audio = duration_of(path, "video"), duration_of(path, "audio")
    assert video >= elapsed - 1.5 and audio >= elapsed - 1.5, (video, audio, elapsed)
    assert rms(sound_of(path), 1.0, 3.0) > 0.05  # the tone is in it


def test_missing_microphone_records_pictures_only_and_says_so_once(tmp_path: Path, pulse: PulseServer) -> None:
    proc, _started, folder = start_recording(tmp_path, pulse, "--audio", "no such microphone")
    time.sleep(2.0)
    err = stop(proc)
    assert proc.returncode == 0, err
    [path] = folder.glob("*.mp4")
    assert duration_of(path, "video") > 1.0 and duration_of(path, "audio") == 0.0
    assert err.count("without sound") == 1, err


def test_no_audio_records_pictures_only_quietly(tmp_path: Path, pulse: PulseServer) -> None:
    proc, _started, folder = start_recording(tmp_path, pulse, "--no-audio")
    time.sleep(1.5)
    err = stop(proc)
    assert proc.returncode == 0, err
    [path] = folder.glob("*.mp4")
    assert duration_of(path, "video") > 0.5 and duration_of(path, "audio") == 0.0
    assert "sound" not in err


@pytest.mark.alone
def test_run_record_voice_disguise_shifts_the_voice(tmp_path: Path, pulse: PulseServer) -> None:
    proc, started, folder = start_recording(tmp_path, pulse, "--voice", "disguise")
    tone = (8000 * np.sin(2 * np.pi * 220 * np.arange(2 * RATE) / RATE)).astype(np.int16)
    pulse.play(started + 0.5, tone)
    time.sleep(3.0)
    err = stop(proc)
    assert proc.returncode == 0, err
    [path] = folder.glob("*.mp4")
    sound = sound_of(path)
    assert rms(sound, 1.0, 2.0) > 0.05, "the tone is not in the recording"
    assert tone_hz(sound) == pytest.approx(220 * 2 ** (-5 / 12), rel=0.01)


def test_microphone_lost_mid_recording_leaves_silence_not_a_stop(tmp_path: Path, pulse: PulseServer) -> None:
    proc, started, folder = start_recording(tmp_path, pulse)
    pulse.play(started, beep(seconds=6.0, hz=440))
    time.sleep(1.5)
    pulse.close()  # the sound server goes away: the microphone with it
    time.sleep(2.0)
    err = stop(proc)
    assert proc.returncode == 0, err
    [path] = folder.glob("*.mp4")
    video, audio = duration_of(path, "video"), duration_of(path, "audio")
    assert video > 3.0 and abs(video - audio) < 0.2, (video, audio)
    assert err.count("the recording goes on without sound") == 1, err  # said once
    sound = sound_of(path)
    assert rms(sound, 0.3, 1.2) > 0.05 and rms(sound, video - 1.0, video - 0.1) < 0.005


def test_a_microphone_that_appears_after_start_is_found(tmp_path_factory: pytest.TempPathFactory,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """PortAudio lists devices once, when it starts: a sound server (or microphone) that comes up
    later must still be found when a recording opens the microphone."""
    import sounddevice as sd

    from faceblur_cam.recording.sound_track import open_microphone

    monkeypatch.setenv("PULSE_SERVER", "unix:/nonexistent/native")
    sd._terminate()
    sd._initialize()  # PortAudio started while no sound server runs
    server = PulseServer(tmp_path_factory.mktemp("late-pulse"))
    try:
        for key, value in server.env.items():
            if key != "HOME":
                monkeypatch.setenv(key, value)
        microphone = open_microphone("default")
        assert microphone is not None
        microphone.close()
    finally:
        server.close()


# ----------------------------------------------------------------- choosing the sound: tray and devices
def test_devices_lists_the_microphones_recordings_can_use(tmp_path: Path, pulse: PulseServer) -> None:
    env = {**os.environ, "HOME": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path / "config")}
    out = subprocess.run([sys.executable, "-m", "faceblur_cam", "devices"], capture_output=True, text=True,
                         env=env, timeout=60)
    assert out.returncode == 0, out.stderr
    text = out.stdout[out.stdout.index("Microphones"):]
    assert '"pulse"' in text and '"default"' in text, text  # PortAudio reaches the server through ALSA's plugin
    assert "Recordings take sound from: the system default" in text


def test_the_tray_sound_choice_reaches_the_recording(tmp_path: Path, pulse: PulseServer) -> None:
    """Menu items built from the real microphone list, clicked through ``TrayActions``, change what
    the next recording of the real engine takes: a device with the voice disguised, then none."""
    from faceblur_cam.app import build_engine
    from faceblur_cam.config import CameraConfig, Config, RecordingConfig
    from faceblur_cam.engine import EngineState
    from faceblur_cam.recording_choice import RecordingChoice
    from faceblur_cam.sources.microphone import list_microphones
    from faceblur_cam.tray.actions import TrayActions
    from faceblur_cam.tray.menu import TrayFlags, build_menu

    video, _config = camera_stand_in(tmp_path)
    folder = tmp_path / "recordings"
    config = Config(camera=CameraConfig(source=str(video), width=WH[0], height=WH[1], fps=FPS),
                    recording=RecordingConfig(folder=str(folder), audio="off"))
    choice = RecordingChoice(config.recording)
    engine = build_engine(config, [], recording=choice)
    actions = TrayActions(engine, autostart=None, folder=folder, open_folder=lambda _p: None, notify=print,
                          on_quit=lambda: None, recording=choice, list_microphones=list_microphones)

    def menu() -> dict[str, object]:
        mics, audio, disguise = actions.sound_choice()
        items = build_menu(engine.status(), TrayFlags(can_record=True, microphones=mics, audio=audio,
                                                      disguise=disguise))
        (sound,) = [i for i in items if i.text == "Microphone"]
        return {i.text: i for i in (*items, *sound.submenu) if i.action is not None}

    def record(seconds: float, sound: np.ndarray | None = None) -> Path:
        before = set(folder.glob("*.mp4"))
        engine.start_recording()
        deadline = time.monotonic() + 60  # a cap: quiet, the recording starts in well under a second
        while not engine.status().recording:
            assert time.monotonic() < deadline, "the recording did not start"
            time.sleep(0.05)
        if sound is not None:
            pulse.play(time.monotonic() + 0.5, sound)
        time.sleep(seconds)
        engine.stop_recording()
        while engine.status().recording:
            time.sleep(0.05)
        (path,) = set(folder.glob("*.mp4")) - before
        return path

    thread = actions.find_microphones(then=lambda: None)
    assert thread is not None
    thread.join(30)
    items = menu()
    assert "pulse" in items and items["Off: pictures only"].checked  # type: ignore[attr-defined]
    actions.perform(items["pulse"])  # type: ignore[arg-type]
    actions.perform(items["Disguise voice"])  # type: ignore[arg-type]
    items = menu()
    assert items["pulse"].checked and items["Disguise voice"].checked  # type: ignore[attr-defined]
    assert choice.current().audio == "pulse" and choice.current().voice == "disguise"
    engine.start()
    try:
        deadline = time.monotonic() + 60
        while engine.status().state is not EngineState.PROTECTING:
            assert time.monotonic() < deadline, "protection did not start"
            time.sleep(0.05)
        tone = (8000 * np.sin(2 * np.pi * 220 * np.arange(2 * RATE) / RATE)).astype(np.int16)
        disguised = record(3.0, tone)
        sound = sound_of(disguised)
        assert rms(sound, 1.0, 2.0) > 0.05, "the tone is not in the recording"
        assert tone_hz(sound) == pytest.approx(220 * 2 ** (-5 / 12), rel=0.01)

        actions.perform(menu()["Off: pictures only"])  # type: ignore[arg-type]
        silent = record(1.5)
        assert duration_of(silent, "video") > 0.5 and duration_of(silent, "audio") == 0.0
    finally:
        engine.quit()
        assert engine.wait(15)
