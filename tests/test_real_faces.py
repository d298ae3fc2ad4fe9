"""Real ONNX inference on real faces from ../shared/eval (never copied into the repo)."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import replace

import cv2
import numpy as np
import pytest
from evaluate import coverage

from faceblur_cam.app import build_pipeline
from faceblur_cam.config import Config
from faceblur_cam.detect import load_detector
from faceblur_cam.detect.models import ModelError, resolve_model, verify
from faceblur_cam.frames import CapturedFrame
from faceblur_cam.geometry import region_mask


@pytest.fixture(scope="module")
def pipeline():
    return build_pipeline(Config(), live=False)


def test_every_dlib_face_is_covered_on_its_first_frame(pipeline, dlib_images):
    covered = total = 0
    for i, (image, boxes) in enumerate(dlib_images):
        pipeline.reset()
        out = pipeline.process(CapturedFrame(image, 0.0, i))
        cov = coverage(out, boxes)
        covered += sum(c >= 0.8 for c in cov)
        total += len(boxes)
        assert not out.obscured
    assert total == 43
    assert covered == total


def test_detector_finds_faces_where_the_ground_truth_is(detector, dlib_images):
    image, boxes = dlib_images[0]
    found = detector.detect(image)
    centres = found.centers
    for x, y, w, h in boxes:
        d = np.hypot(centres[:, 0] - (x + w / 2), centres[:, 1] - (y + h / 2))
        assert d.min() < 0.5 * w


def test_no_faces_in_a_picture_without_faces(detector):
    sky = np.zeros((480, 640, 3), np.uint8)
    sky[:] = (200, 150, 90)
    assert len(detector.detect(sky)) == 0


def test_opencv_dnn_fallback_matches_onnxruntime(detector, dlib_images):
    fallback = load_detector(backend="cv2")
    assert fallback.backend == "cv2.dnn" and detector.backend == "onnxruntime"
    image, _ = dlib_images[1]
    a, b = detector.detect(image), fallback.detect(image)
    assert len(a) == len(b)
    assert np.allclose(a.xyxy, b.xyxy, atol=1.0)


def test_model_checksum_is_enforced(tmp_path):
    spec = resolve_model("centerface")
    assert spec.path.name == "centerface.onnx" and spec.sha256
    damaged = tmp_path / "centerface.onnx"
    damaged.write_bytes(spec.path.read_bytes()[:-10] + b"0123456789")
    with pytest.raises(ModelError, match="not the expected file"):
        verify(replace(spec, path=damaged))
    with pytest.raises(ModelError, match="unknown detector model"):
        resolve_model("no-such-model")


def test_process_on_otb_girl_writes_frames_and_truthful_boxes(eval_dir, tmp_path):
    src = eval_dir / "otb_girl" / "img"
    out, boxes = tmp_path / "out", tmp_path / "boxes.jsonl"
    result = subprocess.run([sys.executable, "-m", "faceblur_cam", "process", str(src), "-o", str(out),
                             "--boxes", str(boxes)], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    records = [json.loads(line) for line in boxes.read_text().splitlines()]
    inputs = sorted(src.glob("*.jpg"))
    assert len(records) == len(inputs) == 500
    assert sorted(p.name for p in out.glob("*.png")) == [p.with_suffix(".png").name for p in inputs]
    with_faces = 0
    for rec, path in zip(records, inputs):
        assert rec["file"] == path.name
        raw = cv2.imread(str(path))
        got = cv2.imread(str(out / path.with_suffix(".png").name))
        if rec["obscured"]:
            continue
        regions = np.array([[x, y, x + w, y + h] for x, y, w, h in rec["regions"]], np.float32)
        mask = region_mask(regions, (raw.shape[1], raw.shape[0]), rec["shape"])
        # truthful: everything outside the reported regions is the untouched input ...
        assert np.array_equal(got[~mask], raw[~mask]), path.name
        # ... and inside, the picture really was obscured
        if mask.sum() > 50:
            with_faces += 1
            assert np.mean(np.any(got[mask] != raw[mask], axis=1)) > 0.5, path.name
    assert with_faces > 350
    assert "500 frames" in result.stdout


def test_process_reports_a_missing_input_without_traceback(tmp_path):
    result = subprocess.run([sys.executable, "-m", "faceblur_cam", "process", str(tmp_path / "nope"),
                             "-o", str(tmp_path / "o")], capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "does not exist" in result.stderr and "Traceback" not in result.stderr


def test_published_regions_cover_the_faces_on_a_real_video(pipeline, eval_dir):
    """A ground-truth face visible in the first YTF clip is covered on every frame."""
    from evaluate import load_videos, score_video

    seq = next(s for s in load_videos(eval_dir) if "Agbani" in s.name)
    seq = replace(seq, frames=seq.frames[:60])
    score = score_video(pipeline, seq)
    assert score.face_frames == 60 and score.leaks == 0


