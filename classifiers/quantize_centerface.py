"""Offline, once: derive ``centerface-int8.onnx`` (shipped here) from ``centerface.onnx``.

Never imported by FaceBlur Cam; needs ``onnx`` (``pip install onnx``) and onnxruntime's
quantization tools (part of the ``onnxruntime`` wheel)::

    python -m faceblur_cam.classifiers.quantize_centerface centerface.onnx centerface-int8.onnx FOLDER...

Static int8 quantization (QDQ, weights per channel, activations per tensor, uint8), calibrated on
the JPEG/PNG pictures found in the FOLDERs (we used the video frames of ../shared/eval's
``ytf_pftracker`` and ``otb_girl``, none of which are shipped; the recall checks run on other
pictures: the stills and ``otb_small``). Each calibration picture is fed at the input sizes the
live path uses (long side 224, 320, 416 and 640). The graph is first lifted from opset 9 to 13
(per-channel quantization needs it); weights are rounded to int8, operators are unchanged
otherwise. Record the printed SHA-256 in manifest.json.

Every node is quantized, the output heads too: leaving the four heads in float was tried and
was worse (3 leaked face-frames on otb_small against 0, stills recall 97.9 % against 98.0 %).
"""

from __future__ import annotations

import hashlib
import sys
import tempfile
from pathlib import Path

CALIBRATION_SIDES = (224, 320, 416, 640)
CALIBRATION_PICTURES = 60  # spread evenly over what the folders hold


def _pictures(folders: list[Path]) -> list[Path]:
    found = sorted(p for folder in folders for p in folder.rglob("*") if p.suffix.lower() in (".jpg", ".jpeg", ".png"))
    step = max(1, len(found) // CALIBRATION_PICTURES)
    return found[::step][:CALIBRATION_PICTURES]


def _resize(image, wh: tuple[int, int]):  # type: ignore[no-untyped-def]
    """How the calibration pictures were resized for the shipped file (kept so that it rebuilds
    to the same bytes): halved with 2x2 means while 2 or more is left, then bilinear."""
    import cv2

    w, h = wh
    ih, iw = image.shape[:2]
    while iw >= 2 * w and ih >= 2 * h:
        exact = iw % 2 == 0 and ih % 2 == 0
        image = cv2.resize(image, (iw // 2, ih // 2), interpolation=cv2.INTER_AREA if exact else cv2.INTER_LINEAR)
        ih, iw = image.shape[:2]
    return image if (iw, ih) == (w, h) else cv2.resize(image, (w, h), interpolation=cv2.INTER_LINEAR)


def _blobs(pictures: list[Path]) -> list:  # type: ignore[type-arg]
    import cv2

    from faceblur_cam.detect.centerface import BlobMaker, input_size

    blobs = []
    for path in pictures:
        image = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if image is None:
            continue
        h, w = image.shape[:2]
        for side in CALIBRATION_SIDES:
            blobs.append(BlobMaker()(_resize(image, input_size((w, h), side))).copy())
    return blobs


def quantize(source: Path, target: Path, folders: list[Path]) -> bytes:
    import onnx
    from onnx import version_converter
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static

    blobs = _blobs(_pictures(folders))
    if not blobs:
        raise SystemExit(f"no calibration pictures in {', '.join(map(str, folders))}")

    class Reader(CalibrationDataReader):  # type: ignore[misc]
        def __init__(self) -> None:
            self._items = iter(blobs)

        def get_next(self) -> dict | None:  # type: ignore[type-arg]
            blob = next(self._items, None)
            return None if blob is None else {"input.1": blob}

    model = version_converter.convert_version(onnx.load(str(source)), 13)
    with tempfile.TemporaryDirectory() as tmp:
        lifted = Path(tmp) / "opset13.onnx"
        onnx.save(model, str(lifted))
        quantize_static(str(lifted), str(target), Reader(), quant_format=QuantFormat.QDQ, per_channel=True,
                        activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8)
    return target.read_bytes()


def main(argv: list[str]) -> int:
    if len(argv) < 3:
        sys.stderr.write(__doc__ or "")
        return 2
    source, target, folders = Path(argv[0]), Path(argv[1]), [Path(a) for a in argv[2:]]
    data = quantize(source, target, folders)
    sys.stdout.write(f"{target}: {len(data)} bytes, SHA-256 {hashlib.sha256(data).hexdigest()}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
