"""The new-faces benchmark judges what it claims to judge (bench/judge.py, scenes.py, new_faces.py).

Known cases: a "pipeline" that publishes the input unredacted is exposed on every visible
face-frame under both judges; one that obscures every frame is covered everywhere; the scenes
are deterministic and their faces enter mid-stream. Quality thresholds for our pipeline live
with the regression tests, not here.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import textured_frame
from judge import altered_fraction, region_coverage, untouched_fraction
from new_faces import exposure, over_redaction, run_scenes
from scenes import BUCKETS, FRAME_WH, SceneLibrary, build_scenes, face_box, is_visible, render

from faceblur_cam.detections import Detections
from faceblur_cam.frames import CapturedFrame, FrameKind, PublishedFrame
from faceblur_cam.redact import obscure_frame


class Identity:
    """Publishes the input as it came: every face exposed."""

    def reset(self) -> None:
        pass

    def process(self, frame: CapturedFrame) -> PublishedFrame:
        return PublishedFrame(frame.image.copy(), frame.t, FrameKind.REDACTED, index=frame.index)


class ObscureAll(Identity):
    """Fails closed on every frame: no face can show."""

    def process(self, frame: CapturedFrame) -> PublishedFrame:
        return PublishedFrame(obscure_frame(frame.image), frame.t, FrameKind.OBSCURED, index=frame.index)


def _published(image: np.ndarray, regions: list[list[float]], shape: str = "box") -> PublishedFrame:
    return PublishedFrame(image, 0.0, FrameKind.REDACTED, Detections(np.array(regions, np.float32).reshape(-1, 4),
                                                                      np.ones(len(regions), np.float32)), shape)


def test_judges_on_a_half_redacted_box():
    raw = textured_frame((200, 100), seed=3)
    out = raw.copy()
    out[20:60, 50:70] = 0  # the left half of the box [50, 20, 40, 40]
    published = _published(out, [[50, 20, 70, 60]])
    assert region_coverage(published, [[50, 20, 40, 40]]) == [pytest.approx(0.5)]
    assert untouched_fraction(raw, out, [50, 20, 40, 40]) == pytest.approx(0.5, abs=0.02)
    assert altered_fraction(raw, out) == pytest.approx(800 / 20000, abs=0.002)
    assert untouched_fraction(raw, out, [300, 20, 40, 40]) == 0.0  # outside the frame: nothing to see
    # only the inside part of a box reaching outside the frame is judged: rows 0-60, 20-60 covered
    assert region_coverage(published, [[50, -20, 20, 80]]) == [pytest.approx(2 / 3)]
    # visible: opacity >= 0.5 and >= 60 % of the box inside the 1280x720 frame
    assert is_visible((10, 10, 40, 40), 0.5) and not is_visible((10, 10, 40, 40), 0.4)
    assert is_visible((-15, 10, 40, 40), 1.0) and not is_visible((-17, 10, 40, 40), 1.0)
    assert not is_visible((10, 700, 40, 40), 1.0)
    obscured = PublishedFrame(raw, 0.0, FrameKind.OBSCURED)
    assert region_coverage(obscured, [[0, 0, 10, 10]]) == [1.0]


@pytest.fixture(scope="module")
def library(eval_dir):
    return SceneLibrary(eval_dir)


@pytest.fixture(scope="module")
def subset(library):
    """A fixed ~300-frame subset: the first two quick scenes (a walk-in and a pop-in)."""
    scenes = build_scenes(library, seed=0, quick=True)[:2]
    assert 250 <= sum(s.frames for s in scenes) <= 350
    return scenes


@pytest.mark.slow
def test_scenes_are_seeded_and_faces_enter_mid_stream(library):
    scenes = build_scenes(library, seed=0)
    again = build_scenes(library, seed=0)
    assert [s.name for s in scenes] == [s.name for s in again]
    first = next(render(library, scenes[0]))
    assert first.image.shape == (FRAME_WH[1], FRAME_WH[0], 3) and first.image.dtype == np.uint8
    assert np.array_equal(first.image, next(render(library, again[0])).image)
    assert not np.array_equal(first.image, next(render(library, build_scenes(library, seed=1)[0])).image)

    assert 1800 <= sum(s.frames for s in scenes) <= 2300
    entering = [(s, f) for s in scenes for f in s.faces if f.entering]
    assert 30 <= len(entering) <= 50
    assert {s.kind for s in scenes} == {"walk", "pop", "pan", "zoom", "approach"}
    heights = []
    for scene, face in entering:
        patch = library.patches[face.patch]
        seen = [face_box(patch, scene, face, i) for i in range(scene.frames)]
        visible = [i for i, (xywh, opacity) in enumerate(seen) if is_visible(xywh, opacity)]
        assert visible and visible[0] > 0, f"{face.face_id} must enter after frame 0"
        heights.append(seen[visible[0]][0][3])
    for lo, hi in BUCKETS:  # every size bucket has entering faces
        assert sum(lo <= h < hi * 1.25 for h in heights) >= 4, (lo, hi)


@pytest.mark.slow
def test_unredacted_output_is_exposed_on_every_visible_face_frame(library, subset):
    run = run_scenes(Identity(), library, subset)
    entering = [ff for ff in run.face_frames if ff.entering]
    assert len({ff.face_id for ff in entering}) >= 5
    for judge in ("boxes", "pixels", "combined"):
        figures = exposure(entering, judge)["all"]
        assert figures["exposed_frames"] == figures["visible_frames"] > 200
        assert figures["faces_exposed"] == figures["faces"]
        assert figures["first_frame_exposed"] == figures["faces"]
    assert all(ff.untouched == 1.0 and ff.coverage == 0.0 for ff in run.face_frames)
    assert over_redaction(run)["altered_max"] == 0.0
    assert run.obscured_frames == 0


@pytest.mark.slow
def test_fully_obscured_output_is_covered_everywhere(library, subset):
    run = run_scenes(ObscureAll(), library, subset)
    assert run.obscured_frames == run.frames == sum(s.frames for s in subset)
    entering = [ff for ff in run.face_frames if ff.entering]
    for judge in ("boxes", "pixels", "combined"):
        assert exposure(entering, judge)["all"]["exposed_frames"] == 0
    assert max(ff.untouched for ff in run.face_frames) <= 0.2


@pytest.mark.slow
def test_default_pipeline_is_judged_on_the_same_face_frames(library, subset):
    """Our pipeline runs through the bench; both judges see every visible face-frame. No quality
    threshold here (the regression test holds those)."""
    from faceblur_cam.app import build_pipeline
    from faceblur_cam.config import Config

    reference = run_scenes(Identity(), library, subset)
    run = run_scenes(build_pipeline(Config(), live=False), library, subset)
    assert [(f.face_id, f.index) for f in run.face_frames] == [(f.face_id, f.index) for f in reference.face_frames]
    # a face-frame fully inside the regions (box judge) has its pixels changed (pixel judge)
    covered = [ff for ff in run.face_frames if ff.coverage >= 0.999]
    assert covered and all(ff.untouched <= 0.2 for ff in covered)
    assert over_redaction(run)["frames"] == run.frames
