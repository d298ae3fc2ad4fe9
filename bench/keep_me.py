"""Keep me visible, judged on output pixels: is the caller shown, is anyone else ever shown? JSON out.

    .venv/bin/python bench/keep_me.py            # all scenes, ~12 s each, plus the live cost
    .venv/bin/python bench/keep_me.py --quick    # shorter scenes, fewer cost frames
    .venv/bin/python bench/keep_me.py --save out/keep_me   # also a few output frames as PNG

Scenes (1280x720, 30 fps, built at run time from ``../shared/eval``, never committed): the
*caller* is a real YouTube Faces sequence (``ytf_pftracker``, played forwards and backwards so it
never jumps) pasted large at the centre, head and shoulders; everyone else is a head patch of
``bench/scenes.py`` (real faces of the stills):

- ``alone``: just the caller;
- ``room``: two people sitting in the room, well away from the caller;
- ``walk_behind``: the room, and two bystanders walking past *behind* the caller (partly hidden by
  the caller's head and shoulders);
- ``lean_in``: someone leans in right beside the caller for 1.5 s, then leaves;
- ``hand``: a hand hides the caller's face for 1 s;
- ``seat_taken``: the caller walks out through the side of the picture; a second later someone
  walks in from the other side and sits down in the same seat.

Judge (``bench/judge.py``): the caller is *shown* on a frame when at least ``SHOWN`` of their
face box is untouched; another face is *exposed* when more than ``MAX_UNTOUCHED`` of its box is.
Targets (issue 19): caller shown on >= 90 % of their visible frames in busy scenes, not counting
0.5 s after the start and after their face was hidden, >= 98 % when nobody comes near; no
bystander >= 40 px tall exposed on any frame; room faces covered as well as with the mode off.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from judge import exposed_by_pixels, untouched_fraction  # noqa: E402
from scenes import (  # noqa: E402
    HEAD_BOTTOM,
    HEAD_SIDE,
    HEAD_TOP,
    SceneLibrary,
    _blend,
    _paste,
    _torso,
    _unhidden_share,
)

from faceblur_cam.app import build_pipeline  # noqa: E402
from faceblur_cam.config import Config  # noqa: E402
from faceblur_cam.frames import CapturedFrame, PublishedFrame  # noqa: E402
from faceblur_cam.keep_me import KeepMe  # noqa: E402
from faceblur_cam.sources.files import read_image

WH = (1280, 720)
FPS = 30.0
SHOWN = 0.8  # caller shown: at least this share of the face box untouched
MIN_BYSTANDER_PX = 40
CALLER_SEQUENCE = "Alberto_Ruiz_Gallardon_0"
CALLER_HEIGHT = 210.0
SEAT = (640.0, 330.0)  # caller's face centre
BUSY_TARGET, QUIET_TARGET = 0.90, 0.98
QUIET = ("alone", "room")
EXCLUDE_S = 0.5


def eval_root() -> Path:
    return Path(os.environ.get("FACEBLUR_EVAL_DIR", Path(__file__).resolve().parents[2] / "shared" / "eval"))


@dataclass
class Caller:
    """The caller's head patches, one per frame of a real face sequence."""

    images: list[np.ndarray]
    alphas: list[np.ndarray]
    faces: list[tuple[float, float, float, float]]  # face box in patch pixels

    @classmethod
    def load(cls, root: Path, name: str = CALLER_SEQUENCE) -> Caller:
        gt = json.loads((root / "ytf_pftracker" / "gt.json").read_text())
        seq = next(s for s in gt["sequences"] if s["name"] == name)
        images, alphas, faces = [], [], []
        for f in seq["frames"]:
            if not f["boxes"]:
                continue
            x, y, w, h = f["boxes"][0]["xywh"]
            image = read_image(root / "ytf_pftracker" / f["file"])
            ih, iw = image.shape[:2]
            x1, y1 = max(0, int(x - HEAD_SIDE * w)), max(0, int(y - HEAD_TOP * h))
            x2, y2 = min(iw, int(x + w + HEAD_SIDE * w)), min(ih, int(y + h + HEAD_BOTTOM * h))
            crop = image[y1:y2, x1:x2].copy()
            ph, pw = crop.shape[:2]
            yy, xx = np.mgrid[0:ph, 0:pw].astype(np.float32)
            r = np.sqrt(((xx + 0.5 - pw / 2) / (pw / 2)) ** 2 + ((yy + 0.5 - ph / 2) / (ph / 2)) ** 2)
            images.append(crop)
            alphas.append(np.clip((1.0 - r) / 0.15, 0.0, 1.0).astype(np.float32))
            faces.append((x - x1, y - y1, w, h))
        return cls(images, alphas, faces)

    def frame(self, i: int) -> int:
        """Forwards, then backwards (no jump at the turn)."""
        n = len(self.images)
        k = i % (2 * n - 2)
        return k if k < n else 2 * n - 2 - k


@dataclass
class Person:
    """A bystander: a head patch (and a torso block) along a path; ``None`` where absent."""

    name: str
    patch: int
    path: list[tuple[float, float, float] | None]  # face centre x, y and height per frame
    torso: tuple[int, int, int] | None = None
    behind: bool = True  # drawn before the caller (behind them)


@dataclass
class KeepScene:
    name: str
    frames: int
    background: int
    caller: list[tuple[float, float] | None]  # caller's face centre per frame (None: gone)
    people: list[Person] = field(default_factory=list)
    hand: tuple[int, int] | None = None  # frames [start, end) the caller's face is hidden


Path3 = list[tuple[float, float, float] | None]


def _walk(n: int, start: int, end: int, x0: float, x1: float, y: float, h: float) -> Path3:
    out: Path3 = [None] * n
    for i in range(start, min(end, n)):
        a = (i - start) / max(1, end - start - 1)
        out[i] = (x0 + a * (x1 - x0), y, h)
    return out


def build(quick: bool) -> list[KeepScene]:
    n = 240 if quick else 360
    seat = [SEAT] * n
    room = [Person("room_left", 3, [(170.0, 250.0, 62.0)] * n), Person("room_right", 11, [(1120.0, 210.0, 54.0)] * n)]
    scenes = [KeepScene("alone", n, 0, list(seat)), KeepScene("room", n, 1, list(seat), list(room))]
    walkers = [
        # a few metres behind a caller at a webcam: a third of the caller's size or less
        Person("walker_1", 5, _walk(n, 40, 40 + 150, -80, 1360, 210, 70), torso=(60, 90, 150)),
        Person("walker_2", 8, _walk(n, n // 2, n // 2 + 130, 1380, -80, 230, 80), torso=(150, 120, 60)),
    ]
    scenes.append(KeepScene("walk_behind", n, 2, list(seat), room + walkers))
    lean: list[tuple[float, float, float] | None] = [None] * n
    for i in range(90, 90 + 45):  # slides in from the right edge, stays, leaves
        a = min(1.0, (i - 90) / 12) if i < 90 + 33 else max(0.0, (90 + 45 - i) / 12)
        lean[i] = (1300 - a * 440, 350.0, 170.0)
    scenes.append(KeepScene("lean_in", n, 3, list(seat), [*room, Person("lean_in", 14, lean, behind=False)]))
    scenes.append(KeepScene("hand", n, 4, list(seat), list(room), hand=(90, 120)))
    # the caller walks out to the right (frames 100-130), the seat is empty, someone walks in from
    # the left (160-200) and sits down in the seat until the end
    caller: list[tuple[float, float] | None] = []
    for i in range(n):
        if i < 100:
            caller.append(SEAT)
        elif i < 130:
            caller.append((SEAT[0] + (i - 100) * 28.0, SEAT[1]))
        else:
            caller.append(None)
    taker: list[tuple[float, float, float] | None] = [None] * n
    for i in range(160, n):
        a = min(1.0, (i - 160) / 40)
        taker[i] = (-120 + a * (SEAT[0] + 120), SEAT[1], CALLER_HEIGHT)
    # the room's people sit on the left here, away from the caller's way out (walking past someone
    # covers the caller on those frames: a swap would be possible)
    left_room = [room[0], Person("room_back", 11, [(300.0, 110.0, 54.0)] * n)]
    scenes.append(KeepScene("seat_taken", n, 5, caller,
                            [*left_room, Person("seat_taker", 20, taker, torso=(40, 40, 120), behind=False)]))
    return scenes


@dataclass
class Truth:
    box: tuple[float, float, float, float]
    visible: bool
    height: float


def render(lib: SceneLibrary, caller: Caller, scene: KeepScene,
           i: int) -> tuple[np.ndarray, Truth | None, dict[str, Truth]]:
    """Frame ``i``: the picture, the caller's truth (None when gone) and everyone else's."""
    from scenes import _cover

    frame = _cover(lib.backgrounds[scene.background], WH).copy()
    owner = np.full((WH[1], WH[0]), -1, np.int16)
    boxes: dict[str, tuple[float, float, float, float]] = {}

    def person(k: int, p: Person) -> None:
        at = p.path[i]
        if at is None:
            return
        patch = lib.patches[p.patch % len(lib.patches)]
        h = at[2]
        w = h * patch.face[2] / patch.face[3]
        xywh = (at[0] - w / 2, at[1] - h / 2, w, h)
        boxes[p.name] = xywh
        if p.torso is not None:
            _torso(frame, xywh, p.torso, 1.0, owner, k)
        _paste(frame, patch, xywh, 1.0, owner, k)

    for k, p in enumerate(scene.people):
        if p.behind:
            person(k, p)
    me = None
    at_me = scene.caller[i]
    if at_me is not None:
        c = caller.frame(i)
        fx, fy, fw, fh = caller.faces[c]
        s = CALLER_HEIGHT / fh
        image = cv2.resize(caller.images[c], None, fx=s, fy=s, interpolation=cv2.INTER_CUBIC)
        alpha = cv2.resize(caller.alphas[c], (image.shape[1], image.shape[0]), interpolation=cv2.INTER_LINEAR)
        xywh = (at_me[0] - fw * s / 2, at_me[1] - fh * s / 2, fw * s, fh * s)
        _torso(frame, xywh, (70, 70, 70), 1.0, owner, 99)
        x0, y0 = int(round(xywh[0] - fx * s)), int(round(xywh[1] - fy * s))
        _blend(frame, image, alpha, x0, y0)
        mask = np.zeros_like(owner, bool)
        mask[max(0, y0):y0 + image.shape[0], max(0, x0):x0 + image.shape[1]] = \
            (alpha >= 0.5)[max(0, -y0):WH[1] - y0, max(0, -x0):WH[0] - x0]
        owner[mask] = 99
        hidden = scene.hand is not None and scene.hand[0] <= i < scene.hand[1]
        if hidden:  # a hand (a skin-coloured blob) over the face
            cx, cy = int(at_me[0]), int(at_me[1] + 0.1 * fh * s)
            cv2.ellipse(frame, (cx, cy), (int(0.62 * fw * s), int(0.62 * fh * s)), 0, 0, 360, (120, 150, 205), -1)
            cv2.ellipse(frame, (cx, cy), (int(0.62 * fw * s), int(0.62 * fh * s)), 0, 0, 360, (90, 115, 170), 3)
        me = Truth(xywh, not hidden and _unhidden_share(owner, xywh, 99) >= 0.6, xywh[3])
    for k, p in enumerate(scene.people):
        if not p.behind:
            person(k, p)
    others = {}
    for k, p in enumerate(scene.people):
        if p.name in boxes:
            b = boxes[p.name]
            others[p.name] = Truth(b, _unhidden_share(owner, b, k) >= 0.6, b[3])
    if me is not None and scene.caller[i] is not None:
        me = Truth(me.box, me.visible and _unhidden_share(owner, me.box, 99) >= 0.6, me.height)
    noise = np.random.default_rng(i).normal(0, 1.5, frame.shape).astype(np.int16)
    return np.clip(frame.astype(np.int16) + noise, 0, 255).astype(np.uint8), me, others



def pipeline(keep: bool):  # type: ignore[no-untyped-def]
    p = build_pipeline(Config(), live=False)
    p.keep_me = KeepMe(on=keep, policy="centre")
    return p


def run_scene(lib: SceneLibrary, caller: Caller, scene: KeepScene, keep: bool, save: Path | None) -> dict:  # type: ignore[type-arg]
    pipe = pipeline(keep)
    counted = shown = 0
    exposed: dict[str, int] = {}
    judged: dict[str, int] = {}
    why_covered: dict[str, int] = {}  # the caller counted but covered: keep-me's reason
    seen_since = -1  # first frame of the caller's current visible stretch
    saved = 0
    for i in range(scene.frames):
        image, me, others = render(lib, caller, scene, i)
        out: PublishedFrame = pipe.process(CapturedFrame(image, i / FPS, i))
        if me is not None and me.visible:
            if seen_since < 0:
                seen_since = i
            if i - seen_since >= EXCLUDE_S * FPS:
                counted += 1
                ok = untouched_fraction(image, out.image, me.box) >= SHOWN
                shown += ok
                if keep and not ok:
                    why = out.keep.why.name.lower() if out.keep is not None and out.keep.why.value else \
                        (out.keep.state.value if out.keep is not None else "off")
                    why_covered[why] = why_covered.get(why, 0) + 1
        else:
            seen_since = -1
        for name, truth in others.items():
            if not truth.visible or truth.height < MIN_BYSTANDER_PX:
                continue
            judged[name] = judged.get(name, 0) + 1
            if exposed_by_pixels(untouched_fraction(image, out.image, truth.box)):
                exposed[name] = exposed.get(name, 0) + 1
                if save is not None and keep and saved < 3:
                    _save(save, f"{scene.name}_exposed_{name}_{i:03d}", image, out.image)
                    saved += 1
        if save is not None and keep and i in _interesting(scene):
            _save(save, f"{scene.name}_{i:03d}", image, out.image)
    return {
        "caller_frames_counted": counted,
        "caller_shown": round(shown / counted, 4) if counted else None,
        "others_exposed_frames": exposed,
        "others_judged_frames": judged,
        **({"caller_covered_because": why_covered} if keep else {}),
    }


def _interesting(scene: KeepScene) -> set[int]:
    return {"alone": {60}, "room": {60}, "walk_behind": {100, 110, 240}, "lean_in": {110, 150},
            "hand": {100, 130}, "seat_taken": {90, 120, 210, 235}}.get(scene.name, set())


def _save(folder: Path, name: str, raw: np.ndarray, out: np.ndarray) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    both = np.hstack([cv2.resize(raw, (640, 360)), cv2.resize(out, (640, 360))])
    cv2.imwrite(str(folder / f"{name}.png"), both)


def live_cost(quick: bool) -> dict:  # type: ignore[type-arg]
    """bench/bench.py's live-path cost (fit, detect, track, redact, virtual camera hand-off), with
    the mode off and on, interleaved (the machine is shared: take the median of the rounds)."""
    from bench import ours_pipeline, speed

    count = 60 if quick else 150
    off: list[float] = []
    on: list[float] = []
    for _ in range(2 if quick else 3):
        for keep, into in ((False, off), (True, on)):
            p = ours_pipeline(live=True)
            p.keep_me = KeepMe(on=keep, policy="centre")
            into.append(speed(p, (1280, 720), count)["cpu_ms_mean"])
            p.close()
    m_off, m_on = statistics.median(off), statistics.median(on)
    return {"cpu_ms_off": off, "cpu_ms_on": on, "median_off": m_off, "median_on": m_on,
            "on_vs_off": round(m_on / m_off, 3)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--save", type=Path, help="folder for a few input|output frames as PNG")
    parser.add_argument("--no-cost", action="store_true")
    parser.add_argument("--scene", action="append", help="only these scenes")
    args = parser.parse_args()
    root = eval_root()
    lib, caller = SceneLibrary(root), Caller.load(root)
    result: dict[str, object] = {"scenes": {}}
    ok = True
    for scene in build(args.quick):
        if args.scene and scene.name not in args.scene:
            continue
        on = run_scene(lib, caller, scene, True, args.save)
        off = run_scene(lib, caller, scene, False, None)
        target = QUIET_TARGET if scene.name in QUIET else BUSY_TARGET
        bystanders = sum(on["others_exposed_frames"].values())
        room_on = sum(v for k, v in on["others_exposed_frames"].items() if k.startswith("room"))
        room_off = sum(v for k, v in off["others_exposed_frames"].items() if k.startswith("room"))
        passed = (on["caller_shown"] or 0) >= target and bystanders <= sum(off["others_exposed_frames"].values()) \
            and room_on <= room_off
        ok = ok and passed
        result["scenes"][scene.name] = {  # type: ignore[index]
            "frames": scene.frames, "target_caller_shown": target, "keep_me": on,
            "mode_off": {"caller_shown": off["caller_shown"], "others_exposed_frames": off["others_exposed_frames"]},
            "passed": passed,
        }
    busy = [v["keep_me"] for k, v in result["scenes"].items() if k not in QUIET]  # type: ignore[attr-defined]
    counted = sum(b["caller_frames_counted"] for b in busy)
    if counted:  # all busy scenes together (a scene that is mostly someone leaning in is covered mostly)
        shown = sum(round((b["caller_shown"] or 0) * b["caller_frames_counted"]) for b in busy)
        result["busy_scenes_pooled"] = {"caller_frames_counted": counted, "caller_shown": round(shown / counted, 4)}
    if not args.no_cost:
        result["live_cost"] = live_cost(args.quick)
    result["passed"] = ok
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
