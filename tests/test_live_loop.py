"""The live case of a jump in the picture: the real engine (worker and detection threads, time
budget) on a looping file source at real time. Every published frame after each restart of the
loop is judged against the raw frame it came from: no face-frame keeps detail."""

import time

import pytest
from evaluate import load_videos
from judge import exposed_by_boxes, exposed_by_pixels, region_coverage, untouched_fraction

from faceblur_cam.app import build_pipeline
from faceblur_cam.config import Config
from faceblur_cam.engine import Engine, EngineParts
from faceblur_cam.frames import FrameKind, PublishedFrame
from faceblur_cam.placeholders import PlaceholderCards
from faceblur_cam.sources.files import FileSource, read_image

CLIP = "ytf_pftracker/Alek_Wek_1"  # 141 frames, 640x480: a loop every 4.7 s at 30 fps


class JudgingSink:
    """Judges every published frame as it arrives (a long run keeps no frames in memory): the
    names in order (for the loop's restarts), how many face-frames were judged, which kept detail."""

    name = "judge"

    def __init__(self, truth: dict) -> None:
        self.truth = truth
        self.names: list[str] = []
        self.judged = 0
        self.exposed: list[tuple[str, float, float]] = []
        self.raws: dict = {}

    def send(self, frame: PublishedFrame) -> None:
        if frame.kind is FrameKind.PLACEHOLDER:
            return
        self.names.append(frame.name)
        gt = self.truth[frame.name]
        if frame.obscured or not (gt.visible and gt.boxes):
            return  # fully obscured (fail closed) or no face to judge
        raw = self.raws.setdefault(frame.name, read_image(gt.path))
        for box in gt.boxes:
            self.judged += 1
            untouched = untouched_fraction(raw, frame.image, box)
            coverage = region_coverage(frame, [box])[0]
            if exposed_by_pixels(untouched) or exposed_by_boxes(coverage):
                self.exposed.append((frame.name, round(untouched, 2), round(coverage, 2)))

    def restarts(self) -> int:
        names = list(self.names)
        return sum(1 for a, b in zip(names, names[1:]) if a and b and b < a)

    def close(self) -> None:
        pass


@pytest.mark.slow
def test_a_looping_source_never_publishes_face_detail_live(eval_dir):
    seq = next(s for s in load_videos(eval_dir) if s.name == CLIP)
    truth = {f.path.name: f for f in seq.frames}
    folder = seq.frames[0].path.parent
    sink = JudgingSink(truth)
    engine = Engine(EngineParts(
        open_source=lambda: FileSource(folder, loop=True, fps=30),
        build_pipeline=lambda: build_pipeline(Config(), live=True),
        placeholders=PlaceholderCards((640, 480)),
        outputs=[sink],
        quit_when_source_ends=False,
    ))
    engine.start()
    try:
        # two restarts of the loop after the model has loaded, and enough face-frames judged; on a
        # busy machine more frames are fully obscured (fail closed), so it may take longer (at
        # load 8, 22 face-frames were judged in 120 s)
        deadline = time.monotonic() + 600
        while not (sink.restarts() >= 2 and sink.judged >= 150):
            assert time.monotonic() < deadline, f"{sink.restarts()} restarts, {sink.judged} face-frames judged"
            time.sleep(0.5)
    finally:
        engine.quit()
        engine.wait(10)
    assert sink.exposed == []
