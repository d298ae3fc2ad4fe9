"""The live leak watch: YuNet looks at published frames; a face the main path missed joins the tracker.

Real YuNet inference on a real eval photo; the main detector is made to miss on purpose.
"""

from __future__ import annotations

import json
import time
from dataclasses import replace

import cv2
import numpy as np
import pytest
from judge import COVERED, region_coverage

from faceblur_cam.app import build_pipeline
from faceblur_cam.audit.watch import LeakWatch, WatchConfig, WatchedDetect, WatchedPipeline
from faceblur_cam.cli import build_parser
from faceblur_cam.commands.run import config_from_args
from faceblur_cam.config import Config
from faceblur_cam.detect import load_detector
from faceblur_cam.detect.yunet import load_yunet
from faceblur_cam.detections import Detections
from faceblur_cam.frames import CapturedFrame, FrameKind, PublishedFrame
from faceblur_cam.geometry import iou_matrix
from faceblur_cam.sources.files import read_image

CAP_S = 60.0  # only stops a hang on a busy machine


@pytest.fixture(scope="module")
def photo(eval_dir):
    gt = json.loads((eval_dir / "dlib_faces" / "gt.json").read_text())
    boxes = next(im["boxes"] for im in gt["images"] if im["file"] == "2008_001322.jpg")
    return cv2.imread(str(eval_dir / "dlib_faces" / "2008_001322.jpg")), [b["xywh"] for b in boxes]


def skip_every_face(image, jobs):  # the main path, made to miss on purpose
    return Detections.empty()


def wait_for(condition, cap=CAP_S):
    end = time.monotonic() + cap
    while not condition() and time.monotonic() < end:
        time.sleep(0.01)
    return condition()


def test_a_face_the_main_path_misses_is_covered_from_the_frame_after_the_watch_saw_it(photo):
    image, boxes = photo
    finds = []
    pipeline = WatchedPipeline(skip_every_face, LeakWatch(load_yunet(), on_find=lambda box, t: finds.append(t)))
    try:
        first = pipeline.process(CapturedFrame(image.copy(), 0.0, 0))
        assert max(region_coverage(first, boxes)) < COVERED  # the miss: published uncovered
        assert wait_for(lambda: pipeline.watch.checked >= 1)
        assert pipeline.watch.found == len(boxes) and finds == [0.0] * len(boxes)
        second = pipeline.process(CapturedFrame(image.copy(), 1 / 30, 1))
        assert min(region_coverage(second, boxes)) >= COVERED
        pipeline.watch.close()  # a later look (the watch may get one in) finds them covered: no new finds
        assert pipeline.watch.found == len(boxes) and finds == [0.0] * len(boxes)
        assert pipeline.watch.summary == f"Leak watch: {len(boxes)} in {pipeline.watch.checked} frames checked"
    finally:
        pipeline.close()


def test_in_real_time_the_watch_covers_the_missed_face_while_frames_flow(photo):
    """A 30 fps stream, paced by the clock: the low-priority watch gets its turn while the main
    path keeps publishing, and every face is covered from then on. How soon (the issue's 1 s on
    a quiet machine) is a figure for the benchmarks, not a bound here: on a loaded 2-core
    machine a nice-19 thread may wait longer; the cap only stops a hang."""
    image, boxes = photo
    pipeline = WatchedPipeline(skip_every_face, LeakWatch(load_yunet()))
    try:
        start = time.monotonic()
        covered_at = None
        for i in range(int(CAP_S * 30)):
            t = i / 30
            time.sleep(max(0.0, start + t - time.monotonic()))
            published = pipeline.process(CapturedFrame(image.copy(), t, i))
            if min(region_coverage(published, boxes)) >= COVERED:
                covered_at = t
                break
        assert covered_at is not None, f"the missed faces were still uncovered after {CAP_S:.0f} s of frames"
        print(f"leak watch: every face covered {covered_at:.2f} s into the stream")
        # and they stay covered, past the tracker's half-second hold of a face the main path never
        # finds: the watch keeps seeing them under their covers (3 s of frames, paced at 30 fps)
        restart = time.monotonic()
        for i in range(1, 91):
            time.sleep(max(0.0, restart + i / 30 - time.monotonic()))
            published = pipeline.process(CapturedFrame(image.copy(), covered_at + i / 30, 10_000 + i))
            assert min(region_coverage(published, boxes)) >= COVERED, f"shown again {i / 30:.2f} s later"
    finally:
        pipeline.close()


def test_a_starved_watch_keeps_its_last_finds_covered(photo):
    """The watch's thread gets no turn after its first look (a machine so busy that the nice-19
    thread waits seconds; here: one look, then its rate limit): the faces only it saw stay
    covered past the tracker's half-second hold, because its newest look is handed over again."""
    image, boxes = photo
    watch = LeakWatch(load_yunet(), WatchConfig(max_rate=0.01))  # one look, then 100 s of waiting
    pipeline = WatchedPipeline(skip_every_face, watch)
    try:
        start = time.monotonic()
        pipeline.process(CapturedFrame(image.copy(), 0.0, 0))
        assert wait_for(lambda: watch.checked >= 1)
        for i in range(1, 10_000):
            t = time.monotonic() - start
            published = pipeline.process(CapturedFrame(image.copy(), t, i))
            assert min(region_coverage(published, boxes)) >= COVERED, f"shown again at {t:.2f} s"
            if t > 2.5 and i > 30:  # well past the hold, on a fast or a slow machine
                break
            time.sleep(1 / 30)
        assert watch.checked == 1, "the watch looked again: this test did not starve it"
    finally:
        pipeline.close()


def test_covered_faces_are_not_finds(photo):
    image, boxes = photo
    pipeline = build_pipeline(Config(), live=True)
    assert isinstance(pipeline, WatchedPipeline)
    try:
        # the first frames may be obscured (the first look missed its budget): those are not offered
        start = time.monotonic()
        for i in range(int(CAP_S * 30)):
            pipeline.process(CapturedFrame(image.copy(), time.monotonic() - start, i))
            if pipeline.watch.checked >= 5:
                break
            time.sleep(1 / 30)
        assert pipeline.watch.checked >= 5 and pipeline.watch.found == 0
    finally:
        pipeline.close()


def test_no_leak_watch_from_the_command_line_and_the_config(tmp_path):
    (tmp_path / "empty.toml").write_text("")
    args = build_parser().parse_args(["run", "--no-leak-watch", "--config", str(tmp_path / "empty.toml")])
    assert config_from_args(args).protect.leak_watch is False
    cfg = tmp_path / "c.toml"
    cfg.write_text("[protect]\nleak_watch = false\n")
    args = build_parser().parse_args(["run", "--config", str(cfg)])
    config = config_from_args(args)
    assert config.protect.leak_watch is False
    pipeline = build_pipeline(config, live=True)
    try:
        assert not isinstance(pipeline, WatchedPipeline)
    finally:
        pipeline.close()
    assert build_pipeline(replace(config, protect=replace(config.protect, leak_watch=True)), live=False) \
        .__class__ is not WatchedPipeline  # offline (process) has the audit instead


def test_obscured_frames_are_not_looked_at(photo):
    image, _ = photo

    def fail(image, jobs):
        raise RuntimeError("detector down")

    pipeline = WatchedPipeline(fail, LeakWatch(load_yunet()))
    try:
        published = pipeline.process(CapturedFrame(image.copy(), 0.0, 0))
        assert published.obscured
        time.sleep(0.3)
        assert pipeline.watch.checked == 0
    finally:
        pipeline.close()
    assert not np.array_equal(published.image, image)


def test_tray_shows_the_leak_watch_line_and_notifies_a_find():
    from faceblur_cam.engine import EngineState, EngineStatus
    from faceblur_cam.tray.adapter import TrayView, menu_needs_rebuild
    from faceblur_cam.tray.menu import TrayFlags, build_menu, notification

    before = EngineStatus(EngineState.PROTECTING, "blur", leak_watch="Leak watch: 0 in 3,412 frames checked")
    menu = build_menu(before, TrayFlags())
    assert menu[1].text == "Leak watch: 0 in 3,412 frames checked" and menu[1].action is None
    counted = replace(before, leak_watch="Leak watch: 0 in 3,442 frames checked")
    assert notification(before, counted) is None
    old, new = (TrayView(s.state, build_menu(s, TrayFlags()), "", "") for s in (before, counted))
    assert not menu_needs_rebuild(old, new, elapsed=0.5)  # a counting line does not close an open menu
    found = replace(counted, leaks_found=1, leak_watch="Leak watch: 1 in 3,443 frames checked")
    assert "Leak watch" in (notification(counted, found) or "")
    assert all("Leak watch" not in item.text for item in build_menu(replace(before, leak_watch=""), TrayFlags()))


def test_the_face_keep_me_shows_on_purpose_is_not_a_leak(eval_dir):
    """With "keep me visible" the caller's face is published with its detail: the watch must not
    count it, notify about it, or hand it to the tracker (which would then see two faces where
    the caller is and cover the caller). One caller alone, from a real video frame, enlarged."""
    seq = json.loads((eval_dir / "ytf_pftracker" / "gt.json").read_text())["sequences"][0]
    image = cv2.resize(read_image(eval_dir / "ytf_pftracker" / seq["frames"][0]["file"]), (640, 480))
    pipeline = build_pipeline(replace(Config(), protect=replace(Config().protect, keep_me=True)), live=True)
    assert isinstance(pipeline, WatchedPipeline)
    try:
        start = time.monotonic()
        kept = 0
        for i in range(int(CAP_S * 30)):
            published = pipeline.process(CapturedFrame(image.copy(), time.monotonic() - start, i))
            kept += bool(len(published.kept))
            if kept >= 10 and pipeline.watch.checked >= 5:
                break
            time.sleep(1 / 30)
        assert kept >= 10, "keep me visible never showed the caller"
        assert pipeline.watch.checked >= 5 and pipeline.watch.found == 0
        assert len(published.kept) == 1, "the caller was covered again"
    finally:
        pipeline.close()


def test_only_the_caller_is_spared_inside_the_kept_region(photo):
    """A second face the main detector missed, centred inside the caller's visible region, is
    still handed to the tracker (which then makes "keep me visible" cover both): only the one
    face that overlaps the kept region most is taken for the caller."""
    image, boxes = photo
    (x1, y1, w1, h1), (x2, y2, w2, h2) = sorted(boxes, key=lambda b: b[0])[:2]
    kept_region = np.array([[min(x1, x2) - 5, min(y1, y2) - 5, max(x1 + w1, x2 + w2) + 5,
                             max(y1 + h1, y2 + h2) + 5]], np.float32)
    frame = PublishedFrame(image, 0.0, FrameKind.REDACTED,
                           kept=Detections(kept_region, np.ones(1, np.float32)))
    watch = LeakWatch(load_yunet())
    try:
        everyone, _ = watch.check(PublishedFrame(image, 0.0, FrameKind.REDACTED), image)
        seen, _ = watch.check(frame, image)
        assert len(everyone) == len(boxes)
        assert len(seen) == len(everyone) - 1, "a face beside the caller was taken for the caller"
    finally:
        watch.close()


class HeldFinds:  # the watch's hand-over, with what YuNet really found on the photo
    def __init__(self, finds):
        self.finds = finds

    def take(self):
        finds, self.finds = self.finds, Detections.empty()
        return finds


def test_a_watch_find_of_a_face_the_main_detector_found_too_is_not_handed_over_twice(photo):
    """YuNet and CenterFace box one face slightly differently: both handed to the tracker, it
    started a second track on the caller, which keep me visible took for someone beside the
    caller (so the caller stayed covered). The same face is handed over once; a face only the
    watch found is still handed over."""
    image, _ = photo
    everyone = load_yunet().detect(image, long_side=640)
    everyone = everyone[everyone.scores >= 0.8]
    assert len(everyone) >= 2
    first = everyone.xyxy[int(np.argmax(everyone.scores))]
    centerface = load_detector().detect(image)
    one = centerface[[int(np.argmax(iou_matrix(centerface.xyxy, first[None, :])[:, 0]))]]
    assert iou_matrix(one.xyxy, first[None, :])[0, 0] > 0.5  # CenterFace's box of that same face
    merged = WatchedDetect(lambda img, jobs: one, HeldFinds(everyone))(image, [])  # type: ignore[arg-type]
    assert len(merged) == len(everyone), "the face both detectors found was handed over twice"
    assert (iou_matrix(merged.xyxy, everyone.xyxy).max(axis=0) > 0.5).all(), "a face only the watch found was lost"


class BlockingDetector:
    """A YuNet stand-in whose look takes until ``release`` is set (a look on an emulated CPU)."""

    def __init__(self) -> None:
        import threading

        self.looking, self.release = threading.Event(), threading.Event()

    def detect(self, image, long_side=None):
        self.looking.set()
        self.release.wait(CAP_S)
        return Detections.empty()


def test_a_look_slower_than_the_stop_is_waited_for_before_the_process_exits(photo):
    """A stop during a slow look: ``close`` does not hold the stop up, and the process waits for the
    look before it exits (the interpreter ending with the thread inside OpenCV aborted the app
    with exit -6 in the VM test)."""
    from faceblur_cam.native_threads import wait_for_native_threads

    image, _boxes = photo
    detector = BlockingDetector()
    watch = LeakWatch(detector)  # type: ignore[arg-type]
    watch.offer(PublishedFrame(image, 0.0, FrameKind.REDACTED, index=0), image)
    assert detector.looking.wait(CAP_S)
    started = time.monotonic()
    watch.close()
    assert time.monotonic() - started < CAP_S / 2
    assert watch._thread.is_alive()  # still inside its look
    assert not wait_for_native_threads(timeout=0.1)  # the exit would wait for it
    detector.release.set()
    assert wait_for_native_threads(timeout=CAP_S)
    assert not watch._thread.is_alive()
