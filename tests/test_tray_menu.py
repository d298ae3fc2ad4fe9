"""The tray menu model, icon choice and notifications: pure functions of the engine's status."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from PIL import Image

from faceblur_cam.engine import EngineState, EngineStatus, PreviewClosed, RecordingFailed
from faceblur_cam.sources.microphone import InputDevice
from faceblur_cam.tray.icons import load_icon
from faceblur_cam.tray.menu import (
    Action,
    IconName,
    MenuItem,
    TrayFlags,
    build_menu,
    icon_name,
    notification,
    tooltip,
)

ALL = TrayFlags(can_record=True, can_preview=True, autostart=False)


def status(state: EngineState = EngineState.PROTECTING, **kw: object) -> EngineStatus:
    return EngineStatus(state=state, style=str(kw.pop("style", "blur")), **kw)  # type: ignore[arg-type]


def texts(items: tuple[MenuItem, ...]) -> list[str]:
    return [i.text for i in items if not i.is_separator]


def find(items: tuple[MenuItem, ...], action: Action) -> MenuItem:
    (item,) = [i for i in items if i.action is action]
    return item


def test_protecting_menu_has_every_item_in_order() -> None:
    menu = build_menu(status(faces=2, fps=29.6), ALL)
    assert texts(menu) == [
        "Protecting: 2 faces, 30 fps", "Pause", "Start recording", "Style", "Keep me visible", "Show preview",
        "Start at login", "Open recordings folder", "Quit",
    ]
    assert menu[0].action is None and not menu[0].enabled  # the status line is information only
    assert menu[1].is_separator


@pytest.mark.parametrize(
    ("st", "line", "toggle"),
    [
        (status(EngineState.STARTING), "Starting protection...", Action.PAUSE),
        (status(EngineState.PROTECTING, faces=1, fps=30), "Protecting: 1 face, 30 fps", Action.PAUSE),
        (status(EngineState.PROTECTING, faces=1), "Protecting: 1 face", Action.PAUSE),  # rate not known yet
        (status(EngineState.PAUSED), "Paused", Action.RESUME),
        (status(EngineState.NO_CAMERA, message="Camera disconnected, retrying"),
         "Camera disconnected, retrying", Action.PAUSE),
        (status(EngineState.ERROR, message="No virtual camera: run `faceblur-cam doctor`"),
         "Error: No virtual camera: run `faceblur-cam doctor`", Action.PAUSE),
    ],
)
def test_status_line_and_pause_toggle_follow_the_state(st: EngineStatus, line: str, toggle: Action) -> None:
    menu = build_menu(st, ALL)
    assert menu[0].text == line
    other = Action.RESUME if toggle is Action.PAUSE else Action.PAUSE
    assert find(menu, toggle).enabled
    assert not [i for i in menu if i.action is other]


def test_recording_item_shows_stop_and_the_time_while_recording() -> None:
    menu = build_menu(status(faces=0, fps=30, recording=True, recording_seconds=75.4), ALL)
    assert menu[0].text.endswith("recording 01:15")
    assert find(menu, Action.STOP_RECORDING).text == "Stop recording"
    assert not [i for i in menu if i.action is Action.START_RECORDING]


def test_items_that_cannot_work_are_absent_not_fake() -> None:
    menu = build_menu(status(), TrayFlags(can_record=False, can_preview=False, autostart=None))
    assert texts(menu) == ["Protecting: 0 faces", "Pause", "Style", "Keep me visible", "Quit"]


def test_style_submenu_is_a_radio_group_with_the_current_style_checked() -> None:
    menu = build_menu(status(style="pixelate"), ALL)
    (style,) = [i for i in menu if i.text == "Style"]
    assert [(i.text, i.arg, i.checked, i.radio) for i in style.submenu] == [
        ("Blur", "blur", False, True), ("Pixelate", "pixelate", True, True), ("Solid", "solid", False, True),
    ]
    assert all(i.action is Action.STYLE for i in style.submenu)


@pytest.mark.parametrize("on", [False, True])
def test_check_items_show_the_real_state_and_ask_for_the_opposite(on: bool) -> None:
    menu = build_menu(status(preview=on), TrayFlags(can_preview=True, autostart=on))
    preview, login = find(menu, Action.PREVIEW), find(menu, Action.AUTOSTART)
    assert (preview.checked, preview.arg) == (on, not on)
    assert (login.checked, login.arg) == (on, not on)


def test_a_message_while_protecting_gets_its_own_line() -> None:
    menu = build_menu(status(faces=1, fps=30, message="Recording failed: disk full"), ALL)
    assert menu[1].text == "Recording failed: disk full" and not menu[1].enabled


def test_stopped_engine_disables_commands_but_not_quit() -> None:
    menu = build_menu(status(EngineState.STOPPED), ALL)
    assert not find(menu, Action.PAUSE).enabled
    assert find(menu, Action.QUIT).enabled


@pytest.mark.parametrize(
    ("st", "icon"),
    [
        (status(EngineState.STARTING), IconName.ACTIVE),
        (status(EngineState.PROTECTING), IconName.ACTIVE),
        (status(EngineState.PROTECTING, recording=True), IconName.RECORDING),
        (status(EngineState.PAUSED), IconName.PAUSED),
        (status(EngineState.PAUSED, recording=True), IconName.RECORDING),
        (status(EngineState.NO_CAMERA), IconName.ERROR),
        (status(EngineState.ERROR), IconName.ERROR),
        (status(EngineState.STOPPED), IconName.PAUSED),
    ],
)
def test_icon_follows_the_state(st: EngineStatus, icon: IconName) -> None:
    assert icon_name(st) is icon


def test_tooltip_names_the_app_and_the_status() -> None:
    assert tooltip(status(EngineState.PAUSED)) == "FaceBlur Cam: Paused"


def test_notifications_fire_once_per_problem() -> None:
    ok = status(faces=1, fps=30)
    lost = status(EngineState.NO_CAMERA, message="Camera disconnected, retrying (timeout)")
    retry = status(EngineState.NO_CAMERA, message="cannot open camera 0")
    assert notification(ok, lost) == "Camera disconnected, retrying (timeout)"
    assert notification(lost, retry) is None  # every retry would be noise
    assert notification(retry, ok) is None
    assert notification(ok, status(EngineState.ERROR, message="face detector failed to load")) == (
        "Error: face detector failed to load")
    failed = status(faces=1, fps=30, message="Recording failed: disk full",
                    event=RecordingFailed("Recording failed: disk full"))
    assert notification(ok, failed) == "Recording failed: disk full"
    assert notification(failed, failed) is None
    assert notification(ok, status(EngineState.PAUSED)) is None
    # closing the preview window is the user's own doing
    closed = PreviewClosed("Preview closed: preview window closed")
    assert notification(ok, status(faces=1, fps=30, message=closed.message, event=closed)) is None


@pytest.mark.parametrize("name", ["active", "paused", "recording", "error", "app"])
@pytest.mark.parametrize("size", [16, 22, 24, 32, 48, 64])
def test_every_icon_exists_at_every_size_and_is_drawn(name: str, size: int) -> None:
    image = load_icon(name, size)
    assert image.size == (size, size) and image.mode == "RGBA"
    alpha = image.getchannel("A")
    # a filled badge: mostly opaque, transparent only at the rounded corners
    assert alpha.getpixel((size // 2, size // 2)) == 255 and alpha.getpixel((0, 0)) < 128
    # a white glyph on the coloured badge, at every size
    white = (np.asarray(image) > 230).all(axis=2).sum()
    assert white >= size * size * 0.04


def test_state_icons_are_told_apart_by_colour_at_16px() -> None:
    def badge_colour(name: str) -> tuple[int, ...]:
        image: Image.Image = load_icon(name, 16)
        return image.getpixel((2, 8))[:3]  # type: ignore[index,return-value]

    colours = {name: badge_colour(name) for name in ("active", "paused", "error")}
    assert len(set(colours.values())) == 3
    assert colours["error"][0] > 150 and colours["error"][1] < 80  # red
    assert colours["paused"][0] > 150 and colours["paused"][2] < 60  # amber


# ----------------------------------------------------------------- the next recording's sound
MICS = (InputDevice("USB Audio Mic", "USB Audio Mic", default=True), InputDevice("4", "Webcam Mic"))
SOUND = TrayFlags(can_record=True, can_preview=True, autostart=False, microphones=MICS, audio="default")


def submenu(items: tuple[MenuItem, ...], text: str) -> tuple[MenuItem, ...]:
    (item,) = [i for i in items if i.text == text]
    return item.submenu


def test_microphone_menu_lists_the_inputs_and_checks_the_one_recordings_use() -> None:
    menu = build_menu(status(), SOUND)
    assert texts(menu)[1:4] == ["Pause", "Start recording", "Microphone"]
    assert texts(menu)[4] == "Disguise voice"
    mics = submenu(menu, "Microphone")
    assert texts(mics) == ["System default (USB Audio Mic)", "USB Audio Mic", "Webcam Mic", "Off: pictures only",
                           "Look for microphones again"]
    assert [i.text for i in mics if i.checked] == ["System default (USB Audio Mic)"]
    assert all(i.radio and i.enabled for i in mics if i.action is Action.MICROPHONE)
    # a device is chosen by what the config and --audio take: its name, or its number when names repeat
    assert [i.arg for i in mics if i.action is Action.MICROPHONE] == ["default", "USB Audio Mic", "4", "off"]
    assert find(mics, Action.FIND_MICROPHONES).enabled
    disguise = find(menu, Action.DISGUISE_VOICE)
    assert disguise.checked is False and disguise.arg is True and disguise.enabled


def test_a_chosen_microphone_that_is_gone_is_still_shown_as_the_choice() -> None:
    flags = replace(SOUND, audio="Headset", disguise=True)
    menu = build_menu(status(), flags)
    mics = submenu(menu, "Microphone")
    assert [i.text for i in mics if i.checked] == ["Headset (not found)"]
    disguise = find(menu, Action.DISGUISE_VOICE)
    assert disguise.checked is True and disguise.arg is False


def test_sound_choices_are_greyed_while_recording_and_disguise_needs_a_microphone() -> None:
    menu = build_menu(status(recording=True), SOUND)
    mics = submenu(menu, "Microphone")
    assert not any(i.enabled for i in mics if i.action is Action.MICROPHONE)  # a recording keeps its sound
    assert [i.text for i in mics if i.checked] == ["System default (USB Audio Mic)"]
    assert not find(menu, Action.DISGUISE_VOICE).enabled
    off = build_menu(status(), replace(SOUND, audio="off"))
    assert not find(off, Action.DISGUISE_VOICE).enabled
    assert [i.text for i in submenu(off, "Microphone") if i.checked] == ["Off: pictures only"]


def test_no_sound_menu_where_recordings_cannot_take_sound() -> None:
    assert "Microphone" not in texts(build_menu(status(), replace(SOUND, microphones=None)))
    assert "Microphone" not in texts(build_menu(status(), replace(SOUND, can_record=False)))
    none_found = submenu(build_menu(status(), replace(SOUND, microphones=())), "Microphone")
    assert texts(none_found) == ["No microphone found", "System default", "Off: pictures only",
                                 "Look for microphones again"]
    assert not none_found[0].enabled


def test_the_name_apps_list_the_camera_under_is_in_the_menu_when_it_is_not_ours() -> None:
    """Windows without Unity Capture, macOS: the call lists "OBS Virtual Camera"; the menu says so."""
    notice = 'Publishing to the OBS virtual camera: apps list it as "OBS Virtual Camera", not "FaceBlur Cam"'
    menu = build_menu(status(faces=1, fps=30), replace(ALL, output_notice=notice))
    (line,) = [i for i in menu if i.text == notice]
    assert not line.enabled and line.action is None
    assert notice not in texts(build_menu(status(faces=1, fps=30), ALL))
