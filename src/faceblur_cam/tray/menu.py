"""The tray's menu, icon and notifications as pure functions of the engine's status.

Nothing here imports pystray or touches a device: ``build_menu(status, flags)`` returns plain
``MenuItem`` values that the pystray adapter (``faceblur_cam.tray.adapter``) renders, and that
tests compare directly. A menu item names an ``Action``; ``TrayActions`` turns it into engine
commands.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from faceblur_cam import APP_NAME
from faceblur_cam.config import STYLES
from faceblur_cam.engine import EngineEvent, EngineState, EngineStatus, PreviewClosed
from faceblur_cam.keep_me import KeepState
from faceblur_cam.platform.linux_cameras import CameraInfo
from faceblur_cam.sources.microphone import InputDevice


class Action(enum.Enum):
    PAUSE = "pause"
    RESUME = "resume"
    START_RECORDING = "start_recording"
    STOP_RECORDING = "stop_recording"
    STYLE = "style"  # argument: the style name
    MICROPHONE = "microphone"  # argument: "default", "off" or a device's setting (InputDevice.setting)
    DISGUISE_VOICE = "disguise_voice"  # argument: True to disguise the next recordings' voice
    FIND_MICROPHONES = "find_microphones"  # list the input devices again
    CAMERA = "camera"  # argument: the camera's stable identity (CameraInfo.identity)
    PREVIEW = "preview"  # argument: True to open, False to close
    KEEP_ME = "keep_me"  # argument: True to keep the caller's face visible, False to cover everyone
    PICK_ME = "pick_me"  # "That's me": pick the caller's face again
    AUTOSTART = "autostart"  # argument: True to enable, False to disable
    OPEN_RECORDINGS = "open_recordings"
    SETUP_VCAM = "setup_vcam"  # create the missing virtual camera (faceblur-cam setup --apply)
    QUIT = "quit"


@dataclass(frozen=True)
class MenuItem:
    """One menu entry. ``action`` None = an information line (shown disabled).

    ``checked`` None = not a check item; ``radio`` draws a check item as a radio button.
    An item with a ``submenu`` has no action of its own.
    """

    text: str
    action: Action | None = None
    arg: str | bool | None = None
    checked: bool | None = None
    radio: bool = False
    enabled: bool = True
    submenu: tuple[MenuItem, ...] = ()

    @property
    def is_separator(self) -> bool:
        return self.text == SEPARATOR.text


SEPARATOR = MenuItem("----", enabled=False)


@dataclass(frozen=True)
class TrayFlags:
    """What this installation can do, apart from the engine's status.

    ``autostart`` is the login entry's real state (None: not available here).
    ``vcam_missing``: why calls cannot see us, while the virtual camera is not set up (launched
    from the desktop without it); None when it is there.
    ``output_notice``: what apps call the camera we publish to when it is not "FaceBlur Cam"
    (Windows without Unity Capture, macOS: "OBS Virtual Camera"); None when it is ours.
    ``microphones``: the input devices to record from (None: no sound recording here); ``audio``
    and ``disguise`` are what the next recording will use.
    """

    can_record: bool = False
    can_preview: bool = True
    autostart: bool | None = None
    vcam_missing: str | None = None
    output_notice: str | None = None
    microphones: tuple[InputDevice, ...] | None = None
    audio: str = "default"
    disguise: bool = False
    cameras: tuple[CameraInfo, ...] | None = None  # the real cameras (None: no Camera menu here)
    camera: str = ""  # the identity of the camera in use (or to be used)


SETUP_VCAM_TEXT = "Set up the virtual camera..."
MICROPHONE_TEXT = "Microphone"
CAMERA_TEXT = "Camera"
DISGUISE_TEXT = "Disguise voice"
KEEP_ME_TEXT = "Keep me visible"
PICK_ME_TEXT = "That's me"


# news that follows the user's own action: shown in the menu, not worth a notification
QUIET_EVENTS: tuple[type[EngineEvent], ...] = (PreviewClosed,)


class IconName(enum.Enum):
    ACTIVE = "active"
    PAUSED = "paused"
    RECORDING = "recording"
    ERROR = "error"


def build_menu(status: EngineStatus, flags: TrayFlags) -> tuple[MenuItem, ...]:
    """The whole menu for ``status``; items that cannot work here are absent, not disabled."""
    running = status.state is not EngineState.STOPPED
    items = [MenuItem(status_line(status), enabled=False)]
    if status.leak_watch:
        items.append(MenuItem(status.leak_watch, enabled=False))
    if flags.vcam_missing:
        items += [MenuItem(flags.vcam_missing, enabled=False), MenuItem(SETUP_VCAM_TEXT, Action.SETUP_VCAM)]
    if flags.output_notice:
        items.append(MenuItem(flags.output_notice, enabled=False))
    if status.camera and status.state is EngineState.PROTECTING:
        items.append(MenuItem(f"Camera: {status.camera}", enabled=False))
    if status.message and status.state in (EngineState.PROTECTING, EngineState.PAUSED):
        items.append(MenuItem(status.message, enabled=False))  # e.g. "Recording failed: ..."
    items.append(SEPARATOR)
    if status.state is EngineState.PAUSED:
        items.append(MenuItem("Resume", Action.RESUME, enabled=running))
    else:
        items.append(MenuItem("Pause", Action.PAUSE, enabled=running))
    if flags.can_record:
        if status.recording:
            items.append(MenuItem("Stop recording", Action.STOP_RECORDING))
        else:
            items.append(MenuItem("Start recording", Action.START_RECORDING, enabled=running))
        if flags.microphones is not None:
            items += sound_items(flags, changeable=not status.recording)
    if flags.cameras is not None:
        items.append(camera_menu(flags))
    styles = tuple(
        MenuItem(style.capitalize(), Action.STYLE, style, checked=style == status.style, radio=True)
        for style in STYLES
    )
    items.append(MenuItem("Style", submenu=styles))
    items += keep_me_items(status, running)
    if flags.can_preview:
        items.append(MenuItem("Show preview", Action.PREVIEW, not status.preview,
                              checked=status.preview, enabled=running))
    items.append(SEPARATOR)
    if flags.autostart is not None:
        items.append(MenuItem("Start at login", Action.AUTOSTART, not flags.autostart,
                              checked=flags.autostart))
    if flags.can_record:
        items.append(MenuItem("Open recordings folder", Action.OPEN_RECORDINGS))
    items.append(MenuItem("Quit", Action.QUIT))
    return tuple(items)


def camera_menu(flags: TrayFlags) -> MenuItem:
    """The Camera submenu: the real cameras by name (virtual ones, our own output above all,
    are never listed: reading it would be a feedback loop)."""
    cams = flags.cameras or ()
    names = [c.name for c in cams]

    def text(c: CameraInfo) -> str:
        return c.name if names.count(c.name) == 1 else f"{c.name} ({c.path})"  # two of the same model

    choices = tuple(MenuItem(text(c), Action.CAMERA, c.identity, checked=c.identity == flags.camera, radio=True)
                    for c in cams)
    return MenuItem(CAMERA_TEXT, submenu=choices or (MenuItem("No camera found", enabled=False),))


def keep_me_items(status: EngineStatus, running: bool) -> list[MenuItem]:
    """"Keep me visible" (a check item) and, while it is on, "That's me" (pick again)."""
    on = status.keep_me is not KeepState.OFF
    items = [MenuItem(KEEP_ME_TEXT, Action.KEEP_ME, not on, checked=on, enabled=running)]
    if on:
        items.append(MenuItem(PICK_ME_TEXT, Action.PICK_ME, enabled=status.state is EngineState.PROTECTING))
    return items


def sound_items(flags: TrayFlags, changeable: bool) -> list[MenuItem]:
    """The Microphone submenu and the "Disguise voice" box. They set up the next recording: while
    one runs they show its choice, greyed (a recording keeps the sound it started with)."""
    mics = flags.microphones or ()
    default = next((mic.name for mic in mics if mic.default), None)

    def choice(text: str, setting: str) -> MenuItem:
        return MenuItem(text, Action.MICROPHONE, setting, checked=flags.audio == setting, radio=True,
                        enabled=changeable)

    chosen = [] if mics else [MenuItem("No microphone found", enabled=False)]
    chosen.append(choice("System default" + (f" ({default})" if default else ""), "default"))
    chosen += [choice(mic.name, mic.setting) for mic in mics]
    known = {"default", "off", *(mic.setting for mic in mics)}
    if flags.audio not in known:  # chosen in the config, or unplugged since: still what will be tried
        chosen.append(choice(f"{flags.audio} (not found)", flags.audio))
    chosen += [choice("Off: pictures only", "off"), SEPARATOR,
               MenuItem("Look for microphones again", Action.FIND_MICROPHONES)]
    return [
        MenuItem(MICROPHONE_TEXT, submenu=tuple(chosen)),
        MenuItem(DISGUISE_TEXT, Action.DISGUISE_VOICE, not flags.disguise, checked=flags.disguise,
                 enabled=changeable and flags.audio != "off"),
    ]


def status_line(status: EngineStatus) -> str:
    """``status.summary``, plus the recording time when recording."""
    if not status.recording:
        return status.summary
    minutes, seconds = divmod(int(status.recording_seconds), 60)
    return f"{status.summary} - recording {minutes:02d}:{seconds:02d}"


def icon_name(status: EngineStatus, flags: TrayFlags | None = None) -> IconName:
    if status.state in (EngineState.ERROR, EngineState.NO_CAMERA):
        return IconName.ERROR
    if flags is not None and flags.vcam_missing and status.state is not EngineState.STOPPED:
        return IconName.ERROR  # protecting, but no call can see it yet
    if status.recording:
        return IconName.RECORDING
    if status.state in (EngineState.PAUSED, EngineState.STOPPED):
        return IconName.PAUSED
    return IconName.ACTIVE


def tooltip(status: EngineStatus, flags: TrayFlags | None = None) -> str:
    if flags is not None and flags.vcam_missing:
        return f"{APP_NAME}: {flags.vcam_missing}"
    return f"{APP_NAME}: {status_line(status)}"


def notification(before: EngineStatus | None, after: EngineStatus) -> str | None:
    """The message to notify the user of, when ``after`` brings news worth an interruption.

    Entering ERROR or NO_CAMERA notifies once (not on every retry); a new event while
    protecting or paused (a recording or output that failed) notifies too, except the quiet
    ones. Decided by the event's type, never by the message text.
    """
    if before is not None and after.leaks_found > before.leaks_found:
        return "Leak watch: a face was not covered; it is covered now (see the log for when)"
    if after.state in (EngineState.ERROR, EngineState.NO_CAMERA):
        if before is None or before.state is not after.state:
            return after.summary
        return None
    is_new = after.event is not None and (before is None or before.event != after.event)
    if isinstance(after.event, QUIET_EVENTS):
        return None
    if is_new and after.state in (EngineState.PROTECTING, EngineState.PAUSED):
        return after.message
    return None
