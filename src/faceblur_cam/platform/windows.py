"""Windows: Unity Capture or OBS Virtual Camera through pyvirtualcam."""

from __future__ import annotations

NEEDS_DEVICE_PATH = False  # pyvirtualcam must be given the device path here


def list_video_devices() -> list[tuple[str, str, bool]]:
    return []


def find_virtual_camera(label: str) -> str | None:
    return None  # pyvirtualcam's unitycapture backend takes the registered name itself


def is_virtual_camera(source: int | str) -> bool:
    return False


def prepare_virtual_camera(device: str | None) -> None:
    return None


def virtual_camera_hint(label: str) -> str:
    return (
        "No virtual camera driver was found. Install OBS Studio (its Virtual Camera works), or "
        "Unity Capture and register it under our name from an administrator prompt:\n"
        f'  regsvr32 "UnityCaptureFilter64.dll" "/i:UnityCaptureName={label}"\n'
        "Until then, use --preview to see the protected picture."
    )
