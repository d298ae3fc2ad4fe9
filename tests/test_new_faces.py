"""New faces covered on the very frame they become visible, and jumps in the picture treated as a
new start: the default pipeline with real ONNX inference on real faces (../shared/eval)."""

import cv2
import pytest
from cuts import CLIP, cut_case, loop_case
from evaluate import load_videos
from judge import region_coverage, untouched_fraction

from faceblur_cam.app import build_pipeline
from faceblur_cam.config import Config
from faceblur_cam.frames import CapturedFrame


@pytest.fixture(scope="module")
def pipeline():
    return build_pipeline(Config(), live=False)


@pytest.fixture(scope="module")
def background(dlib_images):
    image, _ = dlib_images[0]
    return cv2.resize(cv2.GaussianBlur(image, (0, 0), 1.0), (1280, 720))


@pytest.fixture(scope="module")
def faces(dlib_images):
    """Head patches (face box grown by 40 %) from another photo, with their face box in the patch."""
    image, boxes = dlib_images[2]
    out = []
    for x, y, w, h in boxes[:3]:
        gx, gy = int(max(0, x - 0.2 * w)), int(max(0, y - 0.2 * h))
        patch = image[gy:int(y + 1.2 * h), gx:int(x + 1.2 * w)].copy()
        out.append((patch, (x - gx, y - gy, w, h)))
    return out


def paste(frame, patch, face, at, height):
    """``patch`` scaled so its face is ``height`` px tall, face's top-left at ``at``; returns the
    face box [x, y, w, h] (clipped pasting at the frame edges)."""
    s = height / face[3]
    p = cv2.resize(patch, None, fx=s, fy=s, interpolation=cv2.INTER_AREA)
    px, py = int(at[0] - face[0] * s), int(at[1] - face[1] * s)
    h, w = frame.shape[:2]
    x1, y1, x2, y2 = max(0, px), max(0, py), min(w, px + p.shape[1]), min(h, py + p.shape[0])
    frame[y1:y2, x1:x2] = p[y1 - py:y2 - py, x1 - px:x2 - px]
    return [at[0], at[1], face[2] * s, face[3] * s]


def judge(raw, published, box):
    return region_coverage(published, [box])[0], untouched_fraction(raw, published.image, box)


@pytest.mark.parametrize("height", [30, 48, 90])
def test_a_face_that_pops_up_mid_stream_is_covered_on_its_first_frame(pipeline, background, faces, height):
    pipeline.reset()
    for i in range(8):
        pipeline.process(CapturedFrame(background.copy(), i / 30, i))
    for n, (patch, face) in enumerate(faces):
        frame = background.copy()
        box = paste(frame, patch, face, (300 + 300 * n, 300), height)
        out = pipeline.process(CapturedFrame(frame.copy(), (8 + n) / 30, 8 + n))
        coverage, untouched = judge(frame, out, box)
        assert coverage >= 0.8 and untouched <= 0.2, f"face {n} of {height} px: {coverage=:.2f} {untouched=:.2f}"
        background = frame  # it stays


def test_a_face_walking_in_through_the_frame_edge_is_covered_from_its_first_visible_frame(
        pipeline, background, faces):
    patch, face = faces[0]
    pipeline.reset()
    height = 60
    width = face[2] * height / face[3]
    for i in range(40):
        frame = background.copy()
        x = -width + 14 * (i - 5)  # enters from the left at 14 px per frame from frame 5
        box = paste(frame, patch, face, (x, 320), height) if i >= 5 else None
        out = pipeline.process(CapturedFrame(frame.copy(), i / 30, i))
        if box is not None and box[0] >= -0.4 * width:  # at least 60 % of the face inside
            visible = [max(0.0, box[0]), box[1], box[2] + min(0.0, box[0]), box[3]]
            coverage, untouched = judge(frame, out, visible)
            assert coverage >= 0.8 and untouched <= 0.2, f"frame {i}: {coverage=:.2f} {untouched=:.2f}"


@pytest.fixture(scope="module")
def clip(eval_dir):
    return next(s for s in load_videos(eval_dir) if s.name == CLIP).frames


@pytest.mark.slow
def test_a_cut_at_every_position_of_the_detection_cycle_leaves_no_face_detail(pipeline, clip):
    """The issue's case: frames 100-140, then 0-59 of a 640x480 clip at 30 fps."""
    report = cut_case(pipeline, clip)
    for k in range(6):
        entry = report[f"offset_{k}"]
        assert entry["exposed"] == 0, (k, entry["frames_after_cut"][:3])
        assert entry["max_untouched"] <= 0.2


@pytest.mark.slow
def test_a_looped_source_restarting_leaves_no_face_detail(pipeline, clip):
    report = loop_case(pipeline, clip, times=3)
    assert report["exposed"] == 0 and report["longest_exposed_run"] == 0
