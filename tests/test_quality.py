"""Quality regression over the real evaluation data (not a timing test).

Holds the figures `bench/bench.py` and `bench/new_faces.py` reached when issue 10 was closed; a
change that makes faces leak more, covers fewer stills, lets entering faces show or piles covers
up fails here. Numbers and how they were measured: README, Benchmarks. Leak: a visible
ground-truth face-frame with < 80 % of its box redacted (or > 20 % of its pixels untouched).
"""

from __future__ import annotations

import statistics

import pytest
from evaluate import load_stills, load_videos, score_stills, score_video

from faceblur_cam.app import build_pipeline
from faceblur_cam.config import Config

# achieved (issue 10): 0 leaks in 1,761 visible face-frames; 1 allowed (a turning head in OTB Girl
# sits at 0.79-0.80 coverage on one frame). Issue 7's design also had 0 here, but left 28 of 39
# entering faces sharp for up to 53 frames.
MAX_LEAKS = 1
MAX_OTB_SMALL_LEAKS = 1  # achieved: 0 in 607 visible face-frames (the per-frame baseline: 303)
# bench/new_faces.py, seed 0, achieved: 40 px and taller 0 exposed frames in 2,035; 24-40 px 8 in
# 593 (one face, 27 px, walking in at the edge of a busy picture), faces present from the start 0
# in 701, altered p95 0.196 / max 0.251, 2.03 covered regions per face
MAX_EXPOSED_40_PLUS = 0
MAX_EXPOSED_24_40 = 8
MAX_EXPOSED_FROM_START = 0
MAX_ALTERED_P95 = 0.20
MAX_ALTERED = 0.26
MAX_REGIONS_PER_FACE = 2.05
# achieved: 97.6 % of faces >= 20 px tall covered on their first frame
MIN_STILLS_COVERED = 0.975

SINGLE_FACE_CLIPS = {"otb_girl/Girl", "ytf_pftracker/Agbani_Darego_0", "ytf_pftracker/Aishwarya_Rai_0",
                     "ytf_pftracker/Albert_Brooks_0", "ytf_pftracker/Alberto_Ruiz_Gallardon_0"}


@pytest.fixture(scope="module")
def pipeline():
    return build_pipeline(Config(), live=False)


@pytest.mark.slow
def test_video_leak_rate_runs_and_over_redaction_hold(pipeline, eval_dir):
    leaks = face_frames = runs = obscured = frames = 0
    areas: list[float] = []
    for seq in load_videos(eval_dir):
        s = score_video(pipeline, seq)
        leaks += s.leaks
        face_frames += s.face_frames
        runs += s.runs_of_2_or_more
        obscured += s.obscured_frames
        frames += s.frames
        if s.name in SINGLE_FACE_CLIPS:
            areas += s.area_ratios
    assert face_frames == 1761
    assert leaks <= MAX_LEAKS, f"{leaks} leaked face-frames (bench/worst_frames.py saves them as PNG)"
    assert runs == 0, "a face leaked on 2 or more consecutive frames"
    assert obscured / frames <= 0.005
    assert statistics.median(areas) <= 3.0


@pytest.mark.slow
def test_stills_coverage_holds(pipeline, eval_dir):
    score = score_stills(pipeline, load_stills(root=eval_dir))
    assert sum(t for _c, t in score.buckets.values()) == 4072
    assert score.rate(("20-40", "40-80", "80+")) >= MIN_STILLS_COVERED


@pytest.mark.slow
def test_small_blurred_turning_faces_do_not_leak(pipeline, eval_dir):
    """otb_small (Boy, Freeman1): 20-55 px heads, motion blur, profiles."""
    leaks = face_frames = runs = 0
    for seq in load_videos(eval_dir, sets=("otb_small",)):
        s = score_video(pipeline, seq)
        leaks += s.leaks
        face_frames += s.face_frames
        runs += s.runs_of_2_or_more
    assert face_frames == 607
    assert leaks <= MAX_OTB_SMALL_LEAKS and runs == 0


@pytest.mark.slow
def test_entering_faces_are_covered_from_their_first_visible_frame(pipeline, eval_dir):
    """bench/new_faces.py, seed 0: 39 faces walking in, popping up, entering during a pan or
    zoom, approaching from far away, at 1280x720."""
    from new_faces import SceneRun, exposure, over_redaction, run_scenes
    from scenes import SceneLibrary, build_scenes

    library = SceneLibrary(eval_dir)
    run: SceneRun = run_scenes(pipeline, library, build_scenes(library, seed=0))
    entering = exposure([ff for ff in run.face_frames if ff.entering], "combined")
    assert entering["all"]["faces"] == 39
    assert sum(entering[b]["exposed_frames"] for b in ("40-80", "80-130", "130-200")) <= MAX_EXPOSED_40_PLUS
    assert entering["24-40"]["exposed_frames"] <= MAX_EXPOSED_24_40, entering["24-40"]
    present = exposure([ff for ff in run.face_frames if not ff.entering], "combined")
    assert present["all"]["exposed_frames"] <= MAX_EXPOSED_FROM_START
    over = over_redaction(run)
    assert over["obscured_frames"] == 0
    assert over["altered_p95"] <= MAX_ALTERED_P95 and over["altered_max"] <= MAX_ALTERED
    assert over["regions_per_face_mean"] <= MAX_REGIONS_PER_FACE
