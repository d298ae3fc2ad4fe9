"""Quality regression over the real evaluation data (not a timing test).

Holds the figures `bench/bench.py` reached when issue 7 was closed; a change that makes faces
leak more, or covers fewer stills, fails here. Numbers and how they were measured: README,
Benchmarks. Leak: a visible ground-truth face-frame with < 80 % of its box redacted.
"""

from __future__ import annotations

import statistics

import pytest
from evaluate import load_stills, load_videos, score_stills, score_video

from faceblur_cam.app import build_pipeline
from faceblur_cam.config import Config

# achieved: 0 leaks in 1,761 visible face-frames (inference is deterministic on one machine)
MAX_LEAKS = 0
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
