"""The per-frame step with fake and real detectors: faces covered, fail closed."""

import time

import numpy as np
import pytest
from conftest import textured_frame

from faceblur_cam.detect import detect_fn
from faceblur_cam.detect.balanced import BalancedPlanner, PlanConfig
from faceblur_cam.detect.jobs import DetectJob
from faceblur_cam.detect.worker import DetectionUnavailable, TimedDetector
from faceblur_cam.detections import Detections
from faceblur_cam.frames import CapturedFrame, FrameKind
from faceblur_cam.geometry import region_mask
from faceblur_cam.pipeline import ProtectPipeline

FACE = [120, 80, 180, 150]


def frame(i=0, seed=0):
    return CapturedFrame(textured_frame((320, 240), seed), i / 30, i)


class ScriptedDetector:
    """Returns the scripted result per call: a list of boxes, or an exception to raise."""

    def __init__(self, script):
        self.script = list(script)
        self.calls = 0

    def __call__(self, image, jobs=None):
        item = self.script[min(self.calls, len(self.script) - 1)]
        self.calls += 1
        if isinstance(item, Exception):
            raise item
        return Detections(np.array(item, np.float32).reshape(-1, 4), np.full(len(item), 0.9))

    def detect(self, image, long_side=None):
        return self(image)


def raw_pixels_left(published, raw, box):
    x1, y1, x2, y2 = box
    return float(np.mean(np.all(published.image[y1:y2, x1:x2] == raw.image[y1:y2, x1:x2], axis=2)))


def test_detected_face_is_covered_and_the_rest_untouched():
    p = ProtectPipeline(ScriptedDetector([[FACE]]))
    raw = frame()
    out = p.process(raw)
    assert out.kind is FrameKind.REDACTED and len(out.regions) == 1
    assert raw_pixels_left(out, raw, FACE) < 0.01
    outside = ~region_mask(out.regions.xyxy, (320, 240))
    assert np.array_equal(out.image[outside], raw.image[outside])
    assert out.image is not raw.image


@pytest.mark.parametrize("error", [RuntimeError("onnx blew up"), DetectionUnavailable("late")])
def test_detector_error_obscures_the_whole_frame(error):
    p = ProtectPipeline(ScriptedDetector([error]))
    raw = frame()
    out = p.process(raw)
    assert out.kind is FrameKind.OBSCURED and out.obscured
    assert np.mean(np.all(out.image == raw.image, axis=2)) < 0.01


def test_error_after_a_good_frame_still_fails_closed_then_recovers():
    p = ProtectPipeline(ScriptedDetector([[FACE], RuntimeError("x"), [FACE]]))
    kinds = [p.process(frame(i, i)).kind for i in range(3)]
    assert kinds == [FrameKind.REDACTED, FrameKind.OBSCURED, FrameKind.REDACTED]


def test_missed_frames_are_covered_by_tracking():
    det = ScriptedDetector([[FACE], [FACE], [], [], [], [], [FACE]])
    p = ProtectPipeline(det)
    for i in range(8):
        raw = frame(i, i)
        out = p.process(raw)
        assert raw_pixels_left(out, raw, FACE) < 0.01
    assert det.calls == 8


class JobRecorder(ScriptedDetector):
    def __init__(self, script):
        super().__init__(script)
        self.jobs = []

    def __call__(self, image, jobs=None):
        self.jobs.append([j.kind for j in jobs])
        return super().__call__(image, jobs)


def test_reset_and_a_jump_in_the_picture_make_the_next_frame_a_first_look():
    det = JobRecorder([[FACE]])
    p = ProtectPipeline(det, planner=BalancedPlanner(PlanConfig(tile_every=0)))
    p.process(frame(0))
    p.process(frame(1))
    p.reset()
    p.process(frame(2))
    p.process(CapturedFrame(textured_frame((320, 240), 99), 3 / 30, 3))  # another picture: a cut
    p.process(CapturedFrame(textured_frame((320, 240), 99), 10.0, 4))  # frames skipped
    assert [kinds[0] for kinds in det.jobs] == ["first", "full", "first", "first", "first"]


def test_style_switch_applies_to_next_frame():
    p = ProtectPipeline(ScriptedDetector([[FACE]]))
    p.set_style("solid")
    out = p.process(frame())
    cx, cy = 150, 115
    assert tuple(out.image[cy, cx]) == (48, 48, 48)
    with pytest.raises(ValueError):
        p.set_style("nope")


class SlowDetector:
    def __init__(self, delay):
        self.delay = delay
        self.long_side = 640

    def detect(self, image, long_side=None):
        time.sleep(self.delay)
        return Detections(np.array([FACE], np.float32), np.array([0.9]))


def test_stalled_detector_fails_closed_and_drops_late_results():
    slow = SlowDetector(0.4)
    timed = TimedDetector(detect_fn(slow), budget_s=0.05)
    p = ProtectPipeline(timed)
    kinds = [p.process(frame(i, i)).kind for i in range(3)]  # first misses budget, then busy
    assert kinds == [FrameKind.OBSCURED] * 3
    slow.delay = 0.0
    deadline = time.monotonic() + 30  # the stalled detection finishes (0.4 s; the cap only stops a hang)
    while timed._busy.is_set():
        assert time.monotonic() < deadline, "the stalled detection never finished"
        time.sleep(0.01)
    out = p.process(frame(3, 3))
    assert out.kind is FrameKind.REDACTED and len(out.regions) == 1
    timed.close()


def test_timed_detector_reports_detector_exceptions():
    class Broken:
        long_side = 640

        def detect(self, image, long_side=None):
            raise MemoryError("no")

    timed = TimedDetector(detect_fn(Broken()), budget_s=1.0)
    with pytest.raises(DetectionUnavailable, match="MemoryError"):
        timed(np.zeros((10, 10, 3), np.uint8), [DetectJob((0, 0, 10, 10), 32)])
    timed.close()


def test_a_missed_budget_before_the_first_detection_is_not_a_warning_but_later_it_is(caplog):
    import logging

    det = ScriptedDetector([DetectionUnavailable("late"), [FACE], DetectionUnavailable("late")])
    p = ProtectPipeline(det)
    with caplog.at_level(logging.INFO, logger="faceblur_cam.pipeline"):
        for i in range(3):
            p.process(frame(i, i))
    levels = [r.levelno for r in caplog.records if "no detection" in r.getMessage()]
    assert levels == [logging.INFO, logging.WARNING]  # start-up on a busy machine vs a real hiccup
