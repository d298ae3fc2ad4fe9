"""Which microphones the user is offered, from PortAudio's lists (faked here; the real lists are
read under a real PulseAudio server in test_recording_sound.py)."""

from __future__ import annotations

from faceblur_cam.sources.microphone import InputDevice, input_devices


def device(name: str, hostapi: int, inputs: int = 2) -> dict[str, object]:
    return {"name": name, "hostapi": hostapi, "max_input_channels": inputs, "max_output_channels": 2}


def test_each_microphone_once_from_the_default_host_api_by_name() -> None:
    # Windows lists one microphone under MME, DirectSound and WASAPI: offer it once
    devices = [device("Microphone (USB Audio)", 0), device("Speakers", 0, inputs=0), device("Headset Mic", 0),
               device("Microphone (USB Audio)", 1), device("Headset Mic", 1), device("Microphone (USB Audio)", 2)]
    mme = {"name": "MME", "devices": [0, 1, 2], "default_input_device": 2}
    assert input_devices(devices, mme) == [
        InputDevice("Microphone (USB Audio)", "Microphone (USB Audio)", default=False),
        InputDevice("Headset Mic", "Headset Mic", default=True),
    ]


def test_two_inputs_with_one_name_are_told_apart_by_number() -> None:
    devices = [device("USB Mic", 0), device("USB Mic", 0), device("pulse", 0)]
    alsa = {"name": "ALSA", "devices": [0, 1, 2], "default_input_device": -1}
    assert [(m.setting, m.name) for m in input_devices(devices, alsa)] == [("0", "USB Mic"), ("1", "USB Mic"),
                                                                           ("pulse", "pulse")]
    assert not any(m.default for m in input_devices(devices, alsa))


def test_no_inputs_no_microphones() -> None:
    assert input_devices([device("Speakers", 0, inputs=0)], {"devices": [0], "default_input_device": -1}) == []
