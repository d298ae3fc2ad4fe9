"""The frame judge the VM tests rely on can tell protected frames from raw ones and cards.

Runs on the host (no VM): real eval frames, the real redaction pipeline, and the I420 round
trip v4l2loopback applies. If these fail, the VM verdicts would mean nothing.
"""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from vcam_frames import References, mad

from faceblur_cam.app import build_pipeline
from faceblur_cam.config import Config
from faceblur_cam.engine import EngineState
from faceblur_cam.frames import CapturedFrame
from faceblur_cam.placeholders import PlaceholderCards

CLIP = "Albert_Brooks_0"


def i420_round_trip(image: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(cv2.cvtColor(image, cv2.COLOR_BGR2YUV_I420), cv2.COLOR_YUV2BGR_I420)


@pytest.fixture(scope="module")
def refs(eval_dir: Path) -> References:
    seq = next(s for s in json.loads((eval_dir / "ytf_pftracker" / "gt.json").read_text())["sequences"]
               if s["name"] == CLIP)
    frames = seq["frames"][:12]
    images = [cv2.imread(str(eval_dir / "ytf_pftracker" / f["file"])) for f in frames]
    return References(images, [[b["xywh"] for b in f["boxes"]] for f in frames])


def test_raw_frame_is_content_with_visible_face(refs: References) -> None:
    verdict = refs.judge(i420_round_trip(refs.frames[5]))
    assert verdict.reference == 5
    assert verdict.is_content and verdict.background_intact
    assert not verdict.face_obscured, verdict
    assert verdict.face_detail_ncc > 0.8 and verdict.face_detail_ratio > 0.7, verdict


@pytest.mark.parametrize("style", ["blur", "pixelate", "solid"])
def test_protected_frame_has_obscured_face_and_intact_background(refs: References, style: str) -> None:
    pipeline = build_pipeline(Config(), live=False)
    pipeline.set_style(style)
    for i in range(3):  # let the tracker settle like a live stream
        published = pipeline.process(CapturedFrame(refs.frames[i], t=i / 10, index=i))
    verdict = refs.judge(i420_round_trip(published.image))
    assert verdict.reference == 2
    assert verdict.is_content and verdict.background_intact, verdict
    assert verdict.face_obscured, verdict


def test_placeholder_card_is_not_content(refs: References) -> None:
    card = PlaceholderCards((320, 240)).card(EngineState.PAUSED).image
    assert not refs.judge(i420_round_trip(card)).is_content
    assert mad(i420_round_trip(card), card) < 3
