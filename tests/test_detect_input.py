"""The detector's input preparation (``shrink``, ``BlobMaker``): cheap, and what the network saw before.

Real faces from ../shared/eval, real ONNX inference.
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from conftest import textured_frame

from faceblur_cam.detect.centerface import BlobMaker, shrink
from faceblur_cam.geometry import iou_matrix


def test_blob_is_what_opencv_makes_for_crops_and_every_size():
    make = BlobMaker()
    frame = textured_frame((640, 480))
    for image in (frame, frame[13:301, 7:519], frame[:64, :32], frame):  # larger, smaller, larger again
        expected = cv2.dnn.blobFromImage(image, swapRB=True)
        blob = make(image)
        assert blob.shape == expected.shape and blob.dtype == np.float32
        assert np.array_equal(blob, expected)


@pytest.mark.parametrize("src_wh, dst_wh", [
    ((1280, 720), (224, 128)), ((1920, 1080), (224, 128)), ((1280, 720), (640, 352)),
    ((1920, 1080), (640, 352)), ((901, 599), (608, 416)), ((301, 233), (96, 64)), ((200, 100), (416, 224)),
])
def test_shrink_maps_the_whole_picture_and_stays_close_to_area_averaging(dlib_images, src_wh, dst_wh):
    photo = cv2.resize(dlib_images[0][0], src_wh, interpolation=cv2.INTER_CUBIC)
    out = shrink(photo, dst_wh)
    assert out.shape == (dst_wh[1], dst_wh[0], 3)
    # what the detector used before: area averaging down, bilinear up
    reference = cv2.resize(photo, dst_wh, interpolation=cv2.INTER_AREA if dst_wh[0] < src_wh[0] else cv2.INTER_LINEAR)
    diff = np.abs(out.astype(int) - reference.astype(int))
    assert diff.mean() < 4  # grey levels: the same picture, not a shifted or aliased one
    # a bright dot in a corner stays in that corner: the whole picture maps onto the whole output
    dot = np.zeros((src_wh[1], src_wh[0], 3), np.uint8)
    dot[-8:, -8:] = 255
    ys, xs = np.nonzero(shrink(dot, dst_wh)[:, :, 0])
    assert ys.max() == dst_wh[1] - 1 and xs.max() == dst_wh[0] - 1


def test_the_same_faces_are_found_on_a_1080p_frame_as_with_area_resizing(detector, dlib_images):
    """The coarse whole-frame look at 224 px on a 1080p frame: a 8.6x reduction, where the
    cheaper resize differs most from ``INTER_AREA``."""
    from faceblur_cam.detect.centerface import decode, input_size

    for image, _boxes in dlib_images:
        frame = cv2.resize(image, (1920, 1080), interpolation=cv2.INTER_CUBIC)
        for side in (224, 640):
            wh = input_size((1920, 1080), side)
            area = cv2.resize(frame, wh, interpolation=cv2.INTER_AREA)
            ref = decode(*detector.runner.run(cv2.dnn.blobFromImage(area, swapRB=True)), threshold=detector.threshold)
            ours = detector.detect(frame, long_side=side)
            sure = ref.scores >= 0.5
            assert len(ours) >= int(sure.sum())
            if sure.any():  # every sure face of the reference is found again, at the same place
                scale = np.array([1920 / wh[0], 1080 / wh[1]] * 2, np.float32)
                ious = iou_matrix(ref.xyxy[sure] * scale, ours.xyxy)
                assert (ious.max(axis=1) > 0.5).all()



def test_the_close_looks_get_exactly_area_averaging_and_only_whole_frames_are_halved_first(dlib_images):
    """``shrink`` is ``INTER_AREA`` itself for every crop and every reduction under 4x: cheaper
    resizes there exposed more 24-40 px faces walking in (tests/test_quality.py, new-faces: 10
    and 15 exposed frames against a limit of 8). A whole 720p/1080p frame reduced 4x or more is
    halved once with exact 2x2 means first, then area-averaged (halving it further exposed more)."""
    photo = cv2.resize(dlib_images[0][0], (1280, 720))
    for dst in [(448, 320), (480, 352), (352, 256), (640, 352)]:
        assert np.array_equal(shrink(photo, dst), cv2.resize(photo, dst, interpolation=cv2.INTER_AREA))
    crop = photo[0:720, 200:1000]  # a changed area, 800x720: under 600,000 pixels
    assert np.array_equal(shrink(crop, (96, 96)), cv2.resize(crop, (96, 96), interpolation=cv2.INTER_AREA))
    for frame, half in ((photo, (640, 360)), (cv2.resize(photo, (1920, 1080)), (960, 540))):
        quads = frame[0::2, 0::2].astype(np.uint16) + frame[1::2, 0::2] + frame[0::2, 1::2] + frame[1::2, 1::2]
        means = (quads + 2) // 4
        halved = cv2.resize(frame, half, interpolation=cv2.INTER_AREA)
        assert np.abs(means.astype(int) - halved.astype(int)).max() <= 1  # exact 2x2 means
        out = shrink(frame, (224, 128))
        assert np.array_equal(out, cv2.resize(halved, (224, 128), interpolation=cv2.INTER_AREA))
        direct = cv2.resize(frame, (224, 128), interpolation=cv2.INTER_AREA)
        assert np.abs(out.astype(int) - direct.astype(int)).mean() < 2  # grey levels: the same picture
