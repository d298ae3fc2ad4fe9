"""The live case of a jump in the picture: the real engine (worker and detection threads, time
budget) on a looping file source at real time. Every published frame after each restart of the
loop is judged against the raw frame it came from: no face-frame keeps detail."""

import time

import cv2
import pytest
from evaluate import load_videos
from fake_engine_parts import ListSink
from judge import exposed_by_boxes, exposed_by_pixels, region_coverage, untouched_fraction

from faceblur_cam.app import build_pipeline
from faceblur_cam.config import Config
from faceblur_cam.engine import Engine, EngineParts
from faceblur_cam.frames import FrameKind
from faceblur_cam.placeholders import PlaceholderCards
from faceblur_cam.sources.files import FileSource

CLIP = "ytf_pftracker/Alek_Wek_1"  # 141 frames, 640x480: a loop every 4.7 s at 30 fps


@pytest.mark.slow
def test_a_looping_source_never_publishes_face_detail_live(eval_dir):
    seq = next(s for s in load_videos(eval_dir) if s.name == CLIP)
    truth = {f.path.name: f for f in seq.frames}
    folder = seq.frames[0].path.parent
    sink = ListSink()
    engine = Engine(EngineParts(
        open_source=lambda: FileSource(folder, loop=True, fps=30),
        build_pipeline=lambda: build_pipeline(Config(), live=True),
        placeholders=PlaceholderCards((640, 480)),
        outputs=[sink],
        quit_when_source_ends=False,
    ))
    engine.start()
    try:
        time.sleep(12.0)  # two restarts of the loop after the model has loaded
    finally:
        engine.quit()
        engine.wait(10)
    published = [f for f in sink.snapshot() if f.kind is not FrameKind.PLACEHOLDER]
    names = [f.name for f in published]
    restarts = sum(1 for a, b in zip(names, names[1:]) if a and b and b < a)
    assert restarts >= 1, "the loop never restarted"
    raws: dict = {}
    exposed = []
    judged = 0
    for frame in published:
        gt = truth[frame.name]
        if frame.obscured or not (gt.visible and gt.boxes):
            continue
        raw = raws.setdefault(frame.name, cv2.imread(str(gt.path), cv2.IMREAD_COLOR))
        for box in gt.boxes:
            judged += 1
            untouched = untouched_fraction(raw, frame.image, box)
            coverage = region_coverage(frame, [box])[0]
            if exposed_by_pixels(untouched) or exposed_by_boxes(coverage):
                exposed.append((frame.name, round(untouched, 2), round(coverage, 2)))
    assert judged >= 150
    assert exposed == []
