"""What a tray menu click does: engine commands, the login entry, the recordings folder, the
next recording's microphone and voice.

Thread rule: ``perform`` runs on the tray (main) thread. Engine commands are queued and return
at once; the login entry and the folder are small, quick operations; listing the microphones
(which restarts PortAudio) runs on a thread of its own. Failures are reported through
``notify`` (never raised into the tray's event loop).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path

from faceblur_cam.autostart import Autostart
from faceblur_cam.config import Voice
from faceblur_cam.engine import Engine, EngineState
from faceblur_cam.errors import UserError
from faceblur_cam.platform.linux_cameras import CameraInfo
from faceblur_cam.recording_choice import RecordingChoice
from faceblur_cam.sources import SourceError
from faceblur_cam.sources.camera_choice import CameraChoice, resolve
from faceblur_cam.sources.microphone import InputDevice, MicrophoneUnavailable
from faceblur_cam.tray.menu import Action, MenuItem
from faceblur_cam.tray.vcam_setup import VcamSetup

log = logging.getLogger(__name__)


class TrayActions:
    """Maps each ``Action`` to what it does. ``on_quit`` stops the tray loop."""

    def __init__(
        self,
        engine: Engine,
        *,
        autostart: Autostart | None,
        folder: Path,
        open_folder: Callable[[Path], None],
        notify: Callable[[str], None],
        on_quit: Callable[[], None],
        vcam_setup: VcamSetup | None = None,
        recording: RecordingChoice | None = None,
        list_microphones: Callable[[], list[InputDevice]] | None = None,
        camera: CameraChoice | None = None,
        list_cameras: Callable[[], list[CameraInfo]] | None = None,
        output_notice: str | None = None,
    ):
        """``recording`` and ``list_microphones``: the tray chooses the next recording's microphone
        and voice (absent: no sound menu). ``camera`` and ``list_cameras``: the tray chooses the
        camera (absent: no Camera menu, e.g. a video file stands in for the camera)."""
        self.output_notice = output_notice  # the virtual camera's other name, for the menu
        self._engine = engine
        self._autostart = autostart
        self._folder = folder
        self._open_folder = open_folder
        self._notify = notify
        self._on_quit = on_quit
        self._vcam_setup = vcam_setup
        self._recording = recording
        self._list_microphones = list_microphones
        self._camera = camera
        self._list_cameras = list_cameras
        self._mics_lock = threading.Lock()
        self._microphones: tuple[InputDevice, ...] | None = None  # guarded by _mics_lock; None: not listed
        self._mics_asked = 0  # guarded by _mics_lock: listings started, and the newest one stored
        self._mics_stored = 0

    @property
    def can_record(self) -> bool:
        return self._engine.can_record

    @property
    def can_preview(self) -> bool:
        return self._engine.can_preview

    def autostart_enabled(self) -> bool | None:
        """The login entry's real state; None when autostart is unavailable here."""
        if self._autostart is None:
            return None
        try:
            return self._autostart.status().enabled
        except (UserError, OSError) as exc:  # unreadable entry: show the box unticked, log why
            log.warning("cannot read the login entry: %s", exc)
            return False

    def vcam_missing(self) -> str | None:
        """Why calls cannot see us while the virtual camera is not set up; None once it is there.
        Any thread; cheap."""
        setup = self._vcam_setup
        return setup.explanation if setup is not None and setup.needed() else None

    def sound_choice(self) -> tuple[tuple[InputDevice, ...] | None, str, bool]:
        """(the microphones last listed or None without sound recording, the chosen audio setting,
        voice disguised). Any thread; cheap."""
        if self._recording is None or self._list_microphones is None or not self.can_record:
            return None, "off", False
        settings = self._recording.current()
        with self._mics_lock:
            mics = self._microphones
        return mics if mics is not None else (), settings.audio, settings.voice == Voice.DISGUISE

    def camera_choice(self) -> tuple[tuple[CameraInfo, ...] | None, str]:
        """(the real cameras now, or None without a Camera menu; the identity of the chosen one).
        Reads sysfs and asks each device node (no streaming): cheap enough for the tray thread."""
        if self._camera is None or self._list_cameras is None:
            return None, ""
        try:
            cameras = self._list_cameras()
        except OSError as exc:
            log.warning("cannot list the cameras: %s", exc)
            return (), ""
        try:
            path = resolve(self._camera.current(), cameras).source
        except SourceError:
            return tuple(cameras), ""
        chosen = next((c.identity for c in cameras if c.path == path), "")
        return tuple(cameras), chosen

    def find_microphones(self, then: Callable[[], None]) -> threading.Thread | None:
        """List the input devices again on a thread of its own, then call ``then`` (on that thread).
        Listings may overlap (the icon showing, a recording ending, a click): an older one that
        ends last does not overwrite a newer one's list (a microphone just plugged in)."""
        lister = self._list_microphones
        if lister is None or self._recording is None:
            return None
        with self._mics_lock:
            self._mics_asked += 1
            number = self._mics_asked

        def work() -> None:
            try:
                mics: tuple[InputDevice, ...] = tuple(lister())
            except MicrophoneUnavailable as exc:
                log.warning("cannot list the microphones: %s", exc)
                mics = ()
            except Exception:  # never let a sound library problem take the tray down
                log.exception("listing the microphones failed")
                mics = ()
            with self._mics_lock:
                newest = number > self._mics_stored
                if newest:
                    self._microphones, self._mics_stored = mics, number
            if newest:
                log.info("microphones: %s", ", ".join(m.name for m in mics) or "none")
            then()

        thread = threading.Thread(target=work, name="find-microphones", daemon=True)
        thread.start()
        return thread

    def perform(self, item: MenuItem) -> None:
        action, arg = item.action, item.arg
        log.info("tray: %s%s", action.value if action else "-", f" {arg}" if arg is not None else "")
        engine = self._engine
        if action is Action.PAUSE:
            engine.pause()
        elif action is Action.RESUME:
            engine.resume()
        elif action is Action.START_RECORDING:
            engine.start_recording()
        elif action is Action.STOP_RECORDING:
            engine.stop_recording()
        elif action is Action.STYLE:
            engine.set_style(str(arg))
        elif action is Action.MICROPHONE and self._recording is not None:
            self._recording.choose_audio(str(arg))
        elif action is Action.CAMERA and self._camera is not None:
            self._switch_camera(str(arg))
        elif action is Action.DISGUISE_VOICE and self._recording is not None:
            self._recording.choose_voice(Voice.DISGUISE if arg else Voice.KEEP)
        elif action is Action.PREVIEW:
            engine.set_preview(bool(arg))
        elif action is Action.KEEP_ME:
            engine.set_keep_me(bool(arg))
        elif action is Action.PICK_ME:
            engine.pick_me()
        elif action is Action.AUTOSTART:
            self._set_autostart(bool(arg))
        elif action is Action.OPEN_RECORDINGS:
            self._open_recordings()
        elif action is Action.SETUP_VCAM and self._vcam_setup is not None:
            self._vcam_setup.start(self._notify)
        elif action is Action.QUIT:
            engine.quit()
            self._on_quit()

    def _switch_camera(self, identity: str) -> None:
        """Remember the camera by its stable identity; the engine opens it the next time it opens
        the camera, at once unless paused (a pause and resume: the paused card shows meanwhile,
        never a raw frame)."""
        assert self._camera is not None
        if not self._camera.choose(identity):
            return
        log.info("camera chosen: %s", identity)
        if self._engine.status().state is not EngineState.PAUSED:
            self._engine.pause()
            self._engine.resume()

    def _set_autostart(self, on: bool) -> None:
        if self._autostart is None:
            return
        try:
            status = self._autostart.enable() if on else self._autostart.disable()
        except UserError as exc:
            self._notify(str(exc))
            return
        log.info("start at login: %s (%s)", status.state.value, status.location)

    def _open_recordings(self) -> None:
        try:
            self._folder.mkdir(parents=True, exist_ok=True)
            self._open_folder(self._folder)
        except (OSError, UserError) as exc:
            self._notify(f"Cannot open {self._folder}: {exc}")
