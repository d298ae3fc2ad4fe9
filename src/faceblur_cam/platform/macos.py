"""macOS: OBS Virtual Camera (camera extension) through pyvirtualcam."""

from __future__ import annotations

NEEDS_DEVICE_PATH = False  # pyvirtualcam must be given the device path here


def list_video_devices() -> list[tuple[str, str, bool]]:
    return []


def find_virtual_camera(label: str) -> str | None:
    return None


def is_virtual_camera(source: int | str) -> bool:
    return False


def prepare_virtual_camera(device: str | None) -> None:
    return None


def virtual_camera_hint(label: str) -> str:
    return (
        "No virtual camera was found. Install OBS Studio 30 or newer, start its Virtual Camera "
        "once and approve the camera extension in System Settings > Privacy & Security; apps "
        "then list it as \"OBS Virtual Camera\". Until then, use --preview."
    )
