"""FaceBlur Cam benchmarks: quality (leak rate, coverage) and cost (CPU ms per frame). JSON out.

    .venv/bin/python bench/bench.py                 # everything, side by side with the baseline
    .venv/bin/python bench/bench.py --only speed    # or: quality, otb_small, stills, stages
    .venv/bin/python bench/bench.py --quick         # fewer frames (smoke run)
    .venv/bin/python bench/bench.py --only speed --busy 2   # beside 2 busy loops (a loaded machine)

``stages`` says where the live path's time goes (CPU ms per frame of each stage, what the detector
looked at, and the leak watch's share). Cost targets are ratios to the baseline of the same run
(``baseline_over_ours``): machines differ by 2x or more.

The *baseline* is what per-frame face blurs do today (deface's defaults): CenterFace on every
frame at the frame's native resolution, threshold 0.2, no tracking, ``mask_scale`` 1.3.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from evaluate import VIDEO_SETS, VideoScore, load_stills, load_videos, score_stills, score_video  # noqa: E402

from faceblur_cam.app import build_pipeline  # noqa: E402
from faceblur_cam.config import Config  # noqa: E402
from faceblur_cam.detect import load_detector  # noqa: E402
from faceblur_cam.detect.thorough import ThoroughPlanner  # noqa: E402
from faceblur_cam.geometry import Margin  # noqa: E402
from faceblur_cam.pipeline import ProtectPipeline  # noqa: E402
from faceblur_cam.redact import Redactor  # noqa: E402
from faceblur_cam.track import FaceTracker, TrackerConfig  # noqa: E402


class NativeResolution:
    """Detector adapter: every frame at its own resolution (deface's default in_shape=None)."""

    def __init__(self, detector):  # type: ignore[no-untyped-def]
        self.detector = detector

    def __call__(self, image: np.ndarray, jobs: object = None):  # type: ignore[no-untyped-def]
        h, w = image.shape[:2]
        return self.detector.detect(image, long_side=max(32, max(w, h)))


def baseline_pipeline() -> ProtectPipeline:
    """Per-frame CenterFace, native resolution, no hold, deface's 1.3 mask scale (ellipse)."""
    detector = load_detector("centerface", threshold=0.2)
    return ProtectPipeline(
        detect=NativeResolution(detector),
        tracker=FaceTracker(TrackerConfig(hold_s=0.0, edge_hold_s=0.0)),
        redactor=Redactor(),
        margin=Margin(1.3, 1.3, 0.0),
        planner=ThoroughPlanner(),
    )


LEAK_WATCH = [True]  # --no-leak-watch: the live path without the leak watch (issue 23: on vs off)
MODEL: list[str | None] = [None]  # --model: another protect.model (a manifest name or an .onnx path)


def ours_pipeline(live: bool = False) -> ProtectPipeline:
    """The app's pipeline; ``live`` adds the detection thread with its time budget (and the leak
    watch unless ``--no-leak-watch``), as in ``run``."""
    config = Config()
    protect = replace(config.protect, leak_watch=LEAK_WATCH[0], model=MODEL[0] or config.protect.model)
    return build_pipeline(replace(config, protect=protect), live=live)


# Clips whose only face is the annotated one (PROVENANCE.md: the runway clips, the diving clip
# and the baseball clip show unannotated bystanders, whose redaction is not over-redaction).
SINGLE_FACE_CLIPS = {"otb_girl/Girl", "ytf_pftracker/Agbani_Darego_0", "ytf_pftracker/Aishwarya_Rai_0",
                     "ytf_pftracker/Albert_Brooks_0", "ytf_pftracker/Alberto_Ruiz_Gallardon_0"}


def over_redaction(scores: list[VideoScore]) -> dict:  # type: ignore[type-arg]
    """Altered fraction of the frames not wholly obscured (p95, max) and covered regions per
    visible true face (mean over frames with one), pooled over ``scores``."""
    altered = [a for s in scores for a in s.altered] or [0.0]
    per_face = [r for s in scores for r in s.regions_per_face]
    return {
        "altered_p95": round(float(np.percentile(altered, 95)), 4),
        "altered_max": round(float(max(altered)), 4),
        "regions_per_face": round(statistics.fmean(per_face), 3) if per_face else None,
    }


def quality(pipeline: ProtectPipeline, quick: bool, sets: tuple[str, ...] = VIDEO_SETS) -> dict:  # type: ignore[type-arg]
    """Leaks and over-redaction on the eval videos of ``sets``."""
    seqs = load_videos(sets=sets)
    if quick:
        seqs = [replace(s, frames=s.frames[:120]) for s in seqs]
    per_seq = {}
    totals = {"face_frames": 0, "leaks": 0, "pixel_leaks": 0, "frames": 0, "obscured_frames": 0, "runs_of_2_or_more": 0}
    longest = 0
    area_single: list[float] = []
    worst: list[tuple[str, int, float]] = []
    scores = []
    for seq in seqs:
        s = score_video(pipeline, seq)
        scores.append(s)
        per_seq[s.name] = {
            "face_frames": s.face_frames,
            "leaks": s.leaks,
            "leak_rate": round(s.leaks / max(s.face_frames, 1), 4),
            "leaks_by_pixels": s.pixel_leaks,
            "longest_leak_run": s.longest_leak_run,
            "median_area_ratio": round(statistics.median(s.area_ratios), 2) if s.area_ratios else None,
            **over_redaction([s]),
        }
        for k in totals:
            totals[k] += getattr(s, k)
        longest = max(longest, s.longest_leak_run)
        if s.name in SINGLE_FACE_CLIPS:
            area_single += s.area_ratios
        worst += [(s.name, i, round(c, 3)) for i, c in s.leaked]
    return {
        "leak_rate": round(totals["leaks"] / max(totals["face_frames"], 1), 5),
        "leaks": totals["leaks"],
        "leaks_by_pixels": totals["pixel_leaks"],
        "face_frames": totals["face_frames"],
        "longest_leak_run": longest,
        "leak_runs_of_2_or_more": totals["runs_of_2_or_more"],
        "obscured_frame_rate": round(totals["obscured_frames"] / max(totals["frames"], 1), 5),
        "median_area_ratio_single_face": round(statistics.median(area_single), 2) if area_single else None,
        "over_redaction": over_redaction(scores),
        "over_redaction_worst_video": {
            "altered_p95": max(v["altered_p95"] for v in per_seq.values()),
            "altered_max": max(v["altered_max"] for v in per_seq.values()),
            "regions_per_face": max((v["regions_per_face"] for v in per_seq.values()
                                     if v["regions_per_face"] is not None), default=None),
        },
        "per_sequence": per_seq,
        "leaked_frames": worst[:50],
    }


def stills(pipeline: ProtectPipeline, quick: bool) -> dict:  # type: ignore[type-arg]
    items = load_stills()
    if quick:
        items = items[:120]
    s = score_stills(pipeline, items)
    return {
        "covered_20px_plus": round(s.rate(("20-40", "40-80", "80+")), 4),
        "covered_under_20px": round(s.rate(("<20",)), 4),
        "by_height": {k: {"covered": c, "total": t, "rate": round(c / t, 4)}
                      for k, (c, t) in sorted(s.buckets.items())},
        "faces": sum(t for _c, t in s.buckets.values()),
    }


SCENES = {
    "one_face": "Albert_Brooks_0",  # a talk-show guest: one face, like most calls
    "crowd": "Alek_Wek_1",  # a runway with audience faces in the background
}


def speed_frames(scene: str, wh: tuple[int, int], count: int) -> list[np.ndarray]:
    """Real video frames (a YouTube Faces clip) fitted to ``wh``, as a camera at ``wh`` delivers."""
    import cv2

    from faceblur_cam.sources.fit import fit

    seq = next(s for s in load_videos() if s.name.endswith(SCENES[scene]))
    images = [cv2.imread(str(f.path)) for f in seq.frames[:count]]
    return [fit(im, wh) for im in images]


def _percentiles(prefix: str, values: list[float]) -> dict[str, float]:
    return {f"{prefix}_p{q}": round(float(np.percentile(values, q)), 2) for q in (50, 95, 99)}


def speed(pipeline: ProtectPipeline, wh: tuple[int, int], count: int, scene: str = "one_face") -> dict:  # type: ignore[type-arg]
    """CPU ms per frame of the live path (the process's, so the detection thread's and the leak
    watch's work count too) and the time each frame takes (latency): fit, detect, track, redact,
    hand-off to the camera. Frames follow each other without pause (no 30 fps pacing)."""
    import pyvirtualcam

    from faceblur_cam.frames import CapturedFrame
    from faceblur_cam.sinks import fake_vcam
    from faceblur_cam.sources.fit import fit

    backend = fake_vcam.register()
    frames = speed_frames(scene, wh, count)
    pipeline.reset()
    cpu: list[float] = []
    wall: list[float] = []
    obscured: list[bool] = []
    with pyvirtualcam.Camera(wh[0], wh[1], 30, fmt=pyvirtualcam.PixelFormat.BGR, backend=backend) as cam:
        fake_vcam.FakeCameraBackend.instances[-1].keep = 0
        for i, image in enumerate(frames * 2):
            c0, w0 = time.process_time(), time.perf_counter()
            frame = CapturedFrame(fit(image, wh), i / 30, i)
            published = pipeline.process(frame)
            cam.send(published.image)
            cpu.append((time.process_time() - c0) * 1000)
            obscured.append(published.obscured)
            wall.append((time.perf_counter() - w0) * 1000)
    cpu, wall, obscured = cpu[len(frames) // 4:], wall[len(frames) // 4:], obscured[len(frames) // 4:]  # warm-up
    return {
        "frames": len(cpu),
        # fully obscured frames (detection missed its budget: fail closed) cost little and say
        # nothing about the cost of protecting: the figures mean something when this is near 0
        "obscured_share": round(float(np.mean(obscured)), 3),
        "cpu_ms_mean": round(statistics.fmean(cpu), 2),
        **_percentiles("cpu_ms", cpu),
        **_percentiles("latency_ms", wall),
        "fps_one_core": round(1000 / statistics.fmean(cpu), 1),
    }


def stages(wh: tuple[int, int], count: int, scene: str = "one_face") -> dict:  # type: ignore[type-arg]
    """Where the time of ours goes: CPU ms per frame of each stage, measured by wrapping the
    stages of the app's pipeline (detection on the calling thread, no leak watch, so that every
    stage's CPU time is the process's while it runs), plus what the detector was asked to look at."""
    from collections import Counter, defaultdict

    from faceblur_cam.detect import centerface
    from faceblur_cam.frames import CapturedFrame

    spent: dict[str, float] = defaultdict(float)
    jobs: Counter[str] = Counter()
    pixels: Counter[str] = Counter()
    undo = []

    def timed(owner: object, name: str, stage: str) -> None:
        original = getattr(owner, name, None)
        if original is None:  # older code without this stage
            return

        def wrapper(*args, **kwargs):  # type: ignore[no-untyped-def]
            t0 = time.process_time()
            try:
                return original(*args, **kwargs)
            finally:
                spent[stage] += time.process_time() - t0
        setattr(owner, name, wrapper)
        undo.append((owner, name, original))

    from faceblur_cam.app import one_opencv_thread

    one_opencv_thread()  # as live (the stages run here without the live path's threads)
    pipeline = ours_pipeline(live=False)
    for owner, name, stage in [
        (pipeline.change, "update", "change map"), (pipeline.tracker, "predict", "track"),
        (pipeline.tracker, "update", "track"), (pipeline.redactor, "redact", "redact"),
        (pipeline, "_detect", "detect (all)"), (centerface, "shrink", "detect: resize"),
        (getattr(centerface, "BlobMaker", None), "__call__", "detect: blob"), (centerface, "decode", "detect: decode"),
        (centerface.OnnxRuntimeRunner, "run", "detect: onnxruntime"),
    ]:
        timed(owner, name, stage)
    plan = pipeline.planner.plan

    def planned(*args, **kwargs):  # type: ignore[no-untyped-def]
        t0 = time.process_time()
        out = plan(*args, **kwargs)
        spent["plan"] += time.process_time() - t0
        for job in out:
            x1, y1, x2, y2 = job.crop
            jobs[job.kind] += 1
            pixels[job.kind] += int((x2 - x1) * (y2 - y1) * job.scale ** 2)
        return out
    pipeline.planner.plan = planned  # type: ignore[method-assign]
    try:
        frames = speed_frames(scene, wh, count)
        total = 0.0
        for i, image in enumerate(frames * 2):
            if i == len(frames) // 4:  # skip warm-up
                spent.clear()
                jobs.clear()
                pixels.clear()
                total = 0.0
            t0 = time.process_time()
            pipeline.process(CapturedFrame(image, i / 30, i))
            total += time.process_time() - t0
    finally:
        for owner, name, original in undo:
            setattr(owner, name, original)
    n = 2 * len(frames) - len(frames) // 4
    spent["other (pipeline, copies)"] = total - sum(v for k, v in spent.items() if not k.startswith("detect: "))
    return {
        "cpu_ms_per_frame": round(total * 1000 / n, 2),
        "stages_ms": {k: round(v * 1000 / n, 2) for k, v in sorted(spent.items(), key=lambda kv: -kv[1])},
        "jobs_per_frame": {k: round(v / n, 2) for k, v in jobs.most_common()},
        "network_pixels_per_frame": {k: round(v / n) for k, v in pixels.most_common()},
    }


def leak_watch_check_ms(wh: tuple[int, int], count: int) -> float:
    """CPU ms of one leak-watch look (YuNet at its long side) at ``wh``; the watch makes at most
    ``WatchConfig.max_rate`` of them a second."""
    from faceblur_cam.audit.watch import WatchConfig
    from faceblur_cam.detect.yunet import load_yunet

    detector, side = load_yunet(), WatchConfig().long_side
    spent = []
    for image in speed_frames("one_face", wh, count):
        t0 = time.process_time()
        detector.detect(image, long_side=side)
        spent.append((time.process_time() - t0) * 1000)
    return round(float(np.median(spent)), 2)


class BusyLoops:
    """``n`` child processes spinning (``while True: pass``): a loaded machine, like another
    program or a build beside the call. Context manager; the children are killed on exit."""

    def __init__(self, n: int):
        self.n = n
        self._procs: list = []  # type: ignore[type-arg]

    def __enter__(self) -> BusyLoops:
        import subprocess

        self._procs = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(self.n)]
        return self

    def __exit__(self, *exc: object) -> None:
        for proc in self._procs:
            proc.kill()
            proc.wait()


def engine_speed(wh: tuple[int, int], seconds: float) -> dict:  # type: ignore[type-arg]
    """The real engine (worker + detection threads) fed a 30 fps camera stand-in: the process CPU
    per published frame, everything included, and the frame rate the call gets."""
    import os
    import time

    from faceblur_cam.engine import Engine, EngineParts
    from faceblur_cam.frames import CapturedFrame
    from faceblur_cam.placeholders import PlaceholderCards
    from faceblur_cam.sinks import fake_vcam
    from faceblur_cam.sinks.vcam import VirtualCameraSink

    frames = speed_frames("one_face", wh, 150)

    class Camera30:
        def __init__(self) -> None:
            self.i, self.t0 = 0, time.monotonic()

        def read(self, timeout: float) -> CapturedFrame:
            delay = self.t0 + self.i / 30 - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            self.i += 1
            return CapturedFrame(frames[self.i % len(frames)].copy(), time.monotonic(), self.i)

        def close(self) -> None:
            pass

    os.environ["FACEBLUR_FAKE_VCAM_KEEP"] = "0"
    sink = VirtualCameraSink(wh, 30, backend=fake_vcam.register())
    backend = fake_vcam.FakeCameraBackend.instances[-1]
    engine = Engine(EngineParts(open_source=Camera30, build_pipeline=lambda: ours_pipeline(live=True),
                                placeholders=PlaceholderCards(wh), outputs=[sink]))
    engine.start()
    time.sleep(3)  # model loaded, first look done
    c0, n0, t0 = time.process_time(), backend.sent, time.monotonic()
    time.sleep(seconds)
    c1, n1, t1 = time.process_time(), backend.sent, time.monotonic()
    engine.quit()
    engine.wait(5)
    return {"fps": round((n1 - n0) / (t1 - t0), 1), "cpu_ms_per_frame": round((c1 - c0) * 1000 / (n1 - n0), 2),
            "cpu_percent_of_one_core": round((c1 - c0) / (t1 - t0) * 100, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", choices=["quality", "otb_small", "stills", "speed", "stages"], action="append")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--no-baseline", action="store_true")
    parser.add_argument("--no-leak-watch", action="store_true", help="live path without the leak watch")
    parser.add_argument("--model", help="protect.model for ours (default: the configured default)")
    parser.add_argument("--busy", type=int, default=0, metavar="N",
                        help="speed measured beside N busy loops (a loaded machine); the baseline too")
    args = parser.parse_args()
    LEAK_WATCH[0] = not args.no_leak_watch
    MODEL[0] = args.model
    parts = args.only or ["quality", "otb_small", "stills", "speed"]
    variants = {"ours": ours_pipeline()}
    if not args.no_baseline:
        variants["baseline"] = baseline_pipeline()
    report: dict = {"quick": args.quick}  # type: ignore[type-arg]
    for name, pipeline in variants.items():
        out: dict = {}  # type: ignore[type-arg]
        if "quality" in parts:
            out["video"] = quality(pipeline, args.quick)
        if "otb_small" in parts:  # a separate figure: "video" stays comparable with earlier runs
            out["video_otb_small"] = quality(pipeline, args.quick, sets=("otb_small",))
        if "stills" in parts:
            out["stills"] = stills(pipeline, args.quick)
        if "speed" in parts:
            n = 60 if args.quick else 150
            if name == "ours":  # the live path: detection on its own thread, with its budget
                pipeline = ours_pipeline(live=True)
            with BusyLoops(args.busy):
                out["speed_640x480"] = speed(pipeline, (640, 480), n)
                out["speed_1280x720"] = speed(pipeline, (1280, 720), n)
                out["speed_1280x720_crowd"] = speed(pipeline, (1280, 720), n, "crowd")
                out["speed_1920x1080"] = speed(pipeline, (1920, 1080), n)
                if name == "ours":
                    out["engine_1280x720_30fps"] = engine_speed((1280, 720), 5 if args.quick else 10)
            pipeline.close()
        if "stages" in parts and name == "ours":
            n = 60 if args.quick else 150
            with BusyLoops(args.busy):
                out["stages_1280x720"] = stages((1280, 720), n)
                out["stages_1920x1080"] = stages((1920, 1080), n)
                checks = {f"{w}x{h}": leak_watch_check_ms((w, h), 20) for w, h in ((1280, 720), (1920, 1080))}
            from faceblur_cam.audit.watch import WatchConfig

            rate = WatchConfig().max_rate
            out["leak_watch"] = {"check_cpu_ms": checks, "max_checks_per_s": rate,
                                 "cpu_ms_per_frame_at_30fps": {k: round(v * rate / 30, 2) for k, v in checks.items()}}
        report[name] = out
    if args.busy:
        report["busy_loops"] = args.busy
    if "speed" in parts and "baseline" in report:
        report["baseline_over_ours"] = {
            f"{key}_{stat}": round(report["baseline"][key][stat] / report["ours"][key][stat], 2)
            for key in ("speed_1280x720", "speed_1920x1080")
            for stat in ("cpu_ms_mean", "cpu_ms_p50", "cpu_ms_p99", "latency_ms_p50", "latency_ms_p99")}
        report["cost_ratio_720p_baseline_over_ours"] = report["baseline_over_ours"]["speed_1280x720_cpu_ms_mean"]
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
