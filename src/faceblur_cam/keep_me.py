"""Keep me visible: which single tracked face (if any) may stay unredacted on this frame. Pure core.

"Me" is a *track* of ``faceblur_cam.track.FaceTracker``, followed frame to frame by position and
motion. Nothing about any face is computed, stored or compared: no embedding, no recognition
model, no template. The only things kept between frames are box positions, sizes and times.

``KeepMe.update(tracks, t, jump)`` is called once per frame after the tracker, with every track
the pipeline is about to cover (measured on this frame or held). It returns a ``KeepDecision``:
the track id whose cover may be lifted on *this* frame, or ``None`` (cover everyone). The rules,
privacy first (when unsure, the caller is covered too; someone else is never shown):

- Picking: on ``pick()`` (and when the mode is switched on) the next frame with a face picks it:
  the largest face nearest the centre (``policy="centre"``, live) or simply the largest
  (``policy="largest"``, files). Only a face found by the detector on that frame can be picked.
- Lifting: only while the match is unambiguous. "Me" must be found by the detector on this frame
  (not only predicted or held), not tentative, with no other face near it (each box grown by
  ``near`` of its size per side must not touch the other) unless that face provably cannot have
  been taken for "me": too different for the tracker to match it to "me"'s track
  (``cannot_swap``: overlap below ``swap_iou`` and a size ratio of at least ``swap_ratio`` or a
  centre distance of at least ``swap_distance`` sizes; the tracker needs IoU >= 0.2, or within 1
  size and a ratio <= 2, to match). A face found on this frame is judged by its box; a held one
  by its last measured size at its predicted place (``TrackView.sized``: the detector finds a
  face at about the size it had, not at the size of the cover grown while it is unseen). Such a
  face near "me" in the last ``recent_s`` counts as near. After a stretch where "me" itself was
  unsure (a frame where it was unseen, a jump in its place, a detector failure, a return, a
  tentative find) it stays covered for ``settle_s`` of clear frames. A stretch that was unclear
  only because someone was near adds no settle time: "me" was found on every frame of it, and
  ``recent_s`` already asks for that long without anyone near; the swap guard below checks its
  place all the same.
- Hidden faces: while a face beside "me" is held unseen, or after one vanished beside "me" (behind
  the caller's head, not through an edge) until a face is found beside "me" that was not found
  there on the previous frame (at most ``hidden_s``; ``blip_hidden_s`` for a track found on one
  frame only), only "me"'s *face* is shown (``KeepDecision.face_only``): the rest of "me"'s
  cover stays, around the caller's head, where a face partly hidden behind it could come out
  undetected. What is shown (``face_region``: an ellipse around the face box) lies inside the
  outline of the caller's head, which is in front of anyone behind it.
- Swap guard: when "me" comes out of an unclear stretch it must be where it was before it (the
  *anchor*, the box of the last clear frame: centres within ``anchor_distance`` box sizes, sizes
  within ``size_ratio``); if it is not, the track may have jumped to someone else: "me" ends.
- Short losses in place: if the tracker drops "me" away from the frame edge, a face that is
  first found where "me" was (near the anchor) within ``return_s``, with nobody else near, is "me"
  again (after ``settle_s``). A face that was first seen elsewhere and walks into the seat is not.
- "Me" ends (covered until the user picks again) when it leaves through the frame edge, when it
  is gone longer than ``return_s``, on a jump in the picture (a cut, a loop, skipped frames: the
  next picture may show someone else in the same place), and on the swap guard.
- ``reset()`` (resume, camera back) forgets the tracks: "me" is lost in place, measured from the
  last time it was seen (so after a pause of more than ``return_s`` it has ended).

Not thread-safe: one per pipeline, called on the pipeline's thread. ``pick`` / ``set_on`` are
queued by the engine and applied on that thread too.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

import numpy as np

from faceblur_cam.geometry import area, centre, centre_distance, iou_matrix, longest_side, size_ratio, touch_when_grown


class KeepState(enum.Enum):
    OFF = "off"  # the mode is off: everyone is covered, as always
    WAITING = "waiting"  # on, nobody picked yet: the next frame with a face picks
    VISIBLE = "visible"  # "me" is shown on this frame
    COVERED = "covered"  # "me" is known but covered on this frame (someone near, unseen, settling)
    LOST = "lost"  # "me" ended: everyone covered until the user picks again


@dataclass(frozen=True)
class TrackView:
    """What keep-me knows of one track on this frame (built from ``FaceTracker.tracks``)."""

    track_id: int
    xyxy: np.ndarray  # ``float32 (4,)``: the box the pipeline covers on this frame
    measured: bool  # found by the detector on this frame (not only predicted/held)
    at_edge: bool  # last seen touching the frame edge
    tentative: bool  # seen only weakly so far (may not be a face)
    hits: int = 2  # frames on which the detector found it
    sized: np.ndarray | None = None  # held: its last measured size at its predicted place (None: ``xyxy``)

    @property
    def face_box(self) -> np.ndarray:
        """The box a detector would find this face with: ``xyxy`` when measured, else ``sized``."""
        return self.xyxy if self.measured or self.sized is None else self.sized


class Why(enum.Enum):
    """Why "me" is covered on a frame (``KeepDecision.why``), for logs, benches and the UI."""

    NONE = ""  # not covered, or no "me"
    UNSEEN = "not found on this frame"
    NEAR = "someone close enough to be mistaken for you"
    HIDDEN = "a face beside you may be hidden"
    SETTLING = "settling after something unclear"
    TENTATIVE = "not sure it is a face yet"
    AWAY = "away from your place"


@dataclass(frozen=True)
class KeepDecision:
    state: KeepState
    kept_id: int | None = None  # the track shown on this frame (only when state is VISIBLE)
    picked: bool = False  # "me" was picked on this frame (the UI tells the user)
    others: int = 0  # faces covered on this frame, "me" excluded
    why: Why = Why.NONE  # why "me" is covered (state COVERED), or only its face shown (VISIBLE: HIDDEN)

    @property
    def face_only(self) -> bool:
        """Only "me"'s face is shown, the rest of its cover stays (a face beside it may be hidden)."""
        return self.state is KeepState.VISIBLE and self.why is Why.HIDDEN


@dataclass(frozen=True)
class KeepMeConfig:
    near: float = 0.5  # each box grown by this share of its size per side must not touch "me"'s
    recent_s: float = 0.3  # a face near "me" this recently still counts as near
    settle_s: float = 0.3  # after anything unclear, "me" stays covered this long while clear
    gap_s: float = 0.12  # "me" unmeasured for longer than this: its return is unclear
    anchor_distance: float = 0.6  # a return must be this close to the anchor (in box sizes) ...
    size_ratio: float = 1.6  # ... and of a size within this factor
    return_s: float = 3.0  # a face back in place within this long is "me" again
    max_step: float = 0.5  # "me" moving more than this many box sizes between frames: unclear
    swap_iou: float = 0.1  # a face near "me" cannot be taken for "me" below this overlap ...
    swap_ratio: float = 2.4  # ... with sizes at least this factor apart (a face far behind) ...
    swap_distance: float = 1.5  # ... or centres at least this many (larger) box sizes apart
    hidden_s: float = 2.0  # a face that vanished beside "me" covers "me" until found again, at most this long
    face_margin: float = 0.15  # face_only: the ellipse of "me"'s face box grown by this share of its size per side
    blip_hidden_s: float = 0.3  # ... one found on a single frame only


def same_place(a: np.ndarray, b: np.ndarray, distance: float, ratio: float) -> bool:
    """Boxes whose centres are within ``distance`` of the larger size and sizes within ``ratio``."""
    if size_ratio(a, b) > ratio:
        return False
    return centre_distance(a, b) <= distance * max(longest_side(a), longest_side(b))


def cannot_swap(me: np.ndarray, other: np.ndarray, cfg: KeepMeConfig) -> bool:
    """Whether the tracker could not take ``other`` (found on this frame) for ``me``'s track."""
    if min(float(area(me)[0]), float(area(other)[0])) <= 0:  # a degenerate box: assume it could
        return False
    if float(iou_matrix(me[None], other[None])[0, 0]) >= cfg.swap_iou:
        return False
    far = centre_distance(me, other) >= cfg.swap_distance * max(longest_side(me), longest_side(other))
    return far or size_ratio(me, other) >= cfg.swap_ratio


near = touch_when_grown  # a face beside "me": their boxes, grown by a margin of their size, touch


class KeepMe:
    """See the module docstring."""

    def __init__(self, on: bool = False, policy: str = "centre", config: KeepMeConfig | None = None):
        if policy not in ("centre", "largest"):
            raise ValueError(f"unknown keep-me policy {policy!r}: use centre or largest")
        self.config = config or KeepMeConfig()
        self.policy = policy
        self._on = on
        self._pick_wanted = on
        self._state = KeepState.WAITING if on else KeepState.OFF
        self._me: int | None = None
        self._anchor: np.ndarray | None = None  # "me"'s box on the last clear frame
        self._last_seen = 0.0  # when "me" was last measured
        self._last_box: np.ndarray | None = None  # ... and where
        self._last_at_edge = False
        self._unclear = False  # the last frame was not clear (the next clear one checks the anchor)
        self._clear_from: float | None = None  # start of the current clear stretch (-inf: no settling)
        self._near_until = -np.inf  # a face was near "me" until about then
        self._lost_since: float | None = None  # the tracker dropped "me" in place at this time
        self._born: dict[int, np.ndarray] = {}  # each track's first box (return-in-place test)
        self._beside: dict[int, tuple[bool, int]] = {}  # other tracks near "me" last frame: (at an edge, hits)
        self._hidden: list[float] = []  # until when faces that vanished beside "me" cover "me"
        self._seen_beside: set[int] = set()  # other tracks found beside "me" on the last frame

    # ------------------------------------------------------------------ commands
    @property
    def on(self) -> bool:
        return self._on

    @property
    def state(self) -> KeepState:
        return self._state

    def set_on(self, on: bool) -> None:
        """Switch the mode; switching it on picks "me" on the next frame with a face."""
        if on and not self._on:
            self._on = True
            self.pick()
        elif not on:
            self._on = False
            self._end()
            self._state = KeepState.OFF

    def pick(self) -> None:
        """Pick "me" again on the next frame with a face ("That's me")."""
        if not self._on:
            self._on = True
        self._end()
        self._pick_wanted = True
        self._state = KeepState.WAITING

    def reset(self) -> None:
        """The tracker forgot every track (resume, camera back): "me" is lost in place."""
        self._born = {}
        if self._me is not None:
            self._lose_in_place()

    def fail(self, t: float) -> None:
        """A frame could not be looked at (published fully obscured): what follows is unclear."""
        self._mark_unclear(t)

    def face_region(self, xyxy: np.ndarray) -> np.ndarray:
        """What ``face_only`` shows of face boxes ``xyxy`` (N, 4): the ellipse inscribed in each box
        grown by ``face_margin`` of its size per side (brow, cheeks and chin; inside the outline of
        the head, which is wider with hair and ears)."""
        xyxy = np.asarray(xyxy, np.float32).reshape(-1, 4)
        pad = self.config.face_margin * (xyxy[:, 2:] - xyxy[:, :2])
        return np.concatenate([xyxy[:, :2] - pad, xyxy[:, 2:] + pad], axis=1)

    # ------------------------------------------------------------------ per frame
    def update(self, tracks: list[TrackView], t: float, jump: bool = False,
               frame_wh: tuple[int, int] | None = None) -> KeepDecision:
        if not self._on:
            return KeepDecision(KeepState.OFF, others=len(tracks))
        ids = {tr.track_id for tr in tracks}
        self._born = {k: v for k, v in self._born.items() if k in ids}
        for tr in tracks:
            self._born.setdefault(tr.track_id, tr.xyxy.copy())
        if jump and (self._me is not None or self._lost_since is not None):
            self._end(lost=True)
        picked = False
        if self._pick_wanted:
            picked = self._pick(tracks, t, frame_wh)
            if picked:  # the user pointed at this face: shown at once when clear, no settling
                self._clear_from = -np.inf
                self._unclear = False
        elif self._me is None and self._lost_since is not None:
            self._try_return(tracks, t)
        me = next((tr for tr in tracks if tr.track_id == self._me), None) if self._me is not None else None
        if self._me is not None and me is None:
            if self._last_at_edge:
                self._end(lost=True)  # left through the edge of the picture
            else:
                self._lose_in_place()
                self._try_return(tracks, t)
                me = next((tr for tr in tracks if tr.track_id == self._me), None) if self._me is not None else None
        kept, why = self._judge(me, tracks, t) if me is not None else (None, Why.AWAY)
        others = len(tracks) - (kept is not None)
        if kept is not None:
            self._state = KeepState.VISIBLE
        elif self._me is not None or self._lost_since is not None:
            self._state = KeepState.COVERED
        elif not self._pick_wanted:
            self._state = KeepState.LOST
        # VISIBLE: NONE, or HIDDEN when only the face is shown; COVERED: the reason
        why = why if self._state in (KeepState.COVERED, KeepState.VISIBLE) else Why.NONE
        return KeepDecision(self._state, kept, picked, others, why)

    # ------------------------------------------------------------------ internals
    def _judge(self, me: TrackView, tracks: list[TrackView], t: float) -> tuple[int | None, Why]:
        cfg = self.config
        box = me.xyxy
        beside = {tr.track_id: tr for tr in tracks if tr.track_id != me.track_id and near(box, tr.xyxy, cfg.near)}
        # who is who: a face near "me" that the tracker could take for "me" makes it unclear
        if any(not cannot_swap(box, tr.face_box, cfg) for tr in beside.values()):
            self._near_until = max(self._near_until, t + cfg.recent_s)
        # a face beside "me" that is not seen (held, or vanished behind the caller's head) may be
        # partly visible and undetected inside "me"'s region: covered until it is found again
        ids = {tr.track_id for tr in tracks}
        gone = [hits for tid, (at_edge, hits) in self._beside.items() if not at_edge and tid not in ids]
        # a track found once whose place a close look then found empty ended: most likely no face
        self._hidden = sorted([v for v in self._hidden if t < v]
                              + [t + (cfg.hidden_s if hits > 1 else cfg.blip_hidden_s) for hits in gone])
        for tid, tr in beside.items():
            if tr.measured and tid not in self._seen_beside and self._hidden:
                self._hidden.pop(0)  # a face is found beside "me" that was not seen there: it came out
        self._beside = {tid: (tr.at_edge, tr.hits) for tid, tr in beside.items()}
        self._seen_beside = {tid for tid, tr in beside.items() if tr.measured}
        unseen_beside = bool(self._hidden) or any(not tr.measured for tr in beside.values())
        if not me.measured:
            self._mark_unclear(t)
            return None, Why.UNSEEN
        gap = t - self._last_seen
        step_ok = self._last_box is None or centre_distance(box, self._last_box) \
            <= cfg.max_step * max(longest_side(box), longest_side(self._last_box))
        self._last_seen, self._last_box, self._last_at_edge = t, box.copy(), me.at_edge
        if gap > cfg.gap_s or not step_ok:
            self._mark_unclear(t)
        if me.tentative:
            self._mark_unclear(t)
            return None, Why.TENTATIVE
        if t < self._near_until:
            self._unclear = True  # the swap guard checks the place after it; no settle time
            return None, Why.NEAR
        if self._unclear:  # out of an unclear stretch: "me" must be where it was
            self._unclear = False
            if self._anchor is not None and not same_place(box, self._anchor, cfg.anchor_distance, cfg.size_ratio):
                self._end(lost=True)
                return None, Why.AWAY
        self._anchor = box.copy()
        if self._clear_from is None:
            self._clear_from = t
        if t - self._clear_from < cfg.settle_s:
            return None, Why.SETTLING
        if unseen_beside:  # shown, but only the face: see ``KeepDecision.face_only``
            return me.track_id, Why.HIDDEN
        return me.track_id, Why.NONE

    def _mark_unclear(self, t: float) -> None:
        self._unclear = True
        self._clear_from = None

    def _pick(self, tracks: list[TrackView], t: float, frame_wh: tuple[int, int] | None) -> bool:
        seen = [tr for tr in tracks if tr.measured and not tr.tentative]
        if not seen:
            return False
        if self.policy == "largest" or frame_wh is None:
            chosen = max(seen, key=lambda tr: longest_side(tr.xyxy))
        else:
            mid = np.array(frame_wh, np.float32) / 2
            diag = float(np.linalg.norm(mid)) or 1.0

            def merit(tr: TrackView) -> float:  # large and central; half the merit at a corner
                return longest_side(tr.xyxy) * (1.0 - 0.5 * float(np.linalg.norm(centre(tr.xyxy) - mid)) / diag)

            chosen = max(seen, key=merit)
        self._pick_wanted = False
        self._me = chosen.track_id
        self._anchor = chosen.xyxy.copy()
        self._last_box = chosen.xyxy.copy()
        self._last_seen = t
        self._last_at_edge = chosen.at_edge
        self._lost_since = None
        self._near_until = -np.inf
        return True

    def _lose_in_place(self) -> None:
        self._me = None
        self._lost_since = self._last_seen
        self._unclear = True
        self._clear_from = None

    def _try_return(self, tracks: list[TrackView], t: float) -> None:
        """While "me" is lost in place: a face first found at the anchor, alone, is "me" again."""
        cfg = self.config
        if self._lost_since is None or self._anchor is None:
            return
        if t - self._lost_since > cfg.return_s:
            self._end(lost=True)
            return
        anchor = self._anchor
        at_seat = [tr for tr in tracks if near(tr.xyxy, anchor, cfg.near)]
        if len(at_seat) != 1:
            return  # nobody there, or more than one face: wait (covered)
        tr = at_seat[0]
        born = self._born.get(tr.track_id, tr.xyxy)
        if not (tr.measured and not tr.tentative and same_place(tr.xyxy, anchor, cfg.anchor_distance, cfg.size_ratio)
                and same_place(born, anchor, cfg.anchor_distance, cfg.size_ratio)):
            return
        self._me = tr.track_id
        self._lost_since = None
        self._last_seen = t
        self._last_box = tr.xyxy.copy()
        self._unclear = False  # it is at the anchor; the settle time still applies
        self._clear_from = None

    def _end(self, lost: bool = False) -> None:
        self._me = None
        self._lost_since = None
        self._anchor = None
        self._last_box = None
        self._unclear = False
        self._clear_from = None
        self._near_until = -np.inf
        self._beside = {}
        self._hidden = []
        self._seen_beside = set()
        if lost:
            self._state = KeepState.LOST


def track_views(tracks: list, faces_xyxy: np.ndarray, faces_ids: np.ndarray, t: float,  # type: ignore[type-arg]
                confirm_hits: int, weak_score: float) -> list[TrackView]:
    """``TrackView`` for each covered face: ``tracks`` are ``FaceTracker.tracks`` after its update
    on the frame at ``t``, ``faces_*`` the boxes it returned (with their track ids)."""
    by_id = {tr.track_id: tr for tr in tracks}
    views = []
    for box, tid in zip(faces_xyxy, faces_ids):
        tr = by_id.get(int(tid))
        if tr is None:
            continue
        tentative = tr.hits < confirm_hits and max(tr.score, tr.best_score) < weak_score
        box = np.asarray(box, np.float32)
        half = (tr.xyxy[2:] - tr.xyxy[:2]) / 2  # its last measured size ...
        mid = (box[:2] + box[2:]) / 2  # ... at its place on this frame
        views.append(TrackView(int(tid), box, tr.t == t, bool(tr.at_edge), tentative, int(tr.hits),
                               np.concatenate([mid - half, mid + half]).astype(np.float32)))
    return views
