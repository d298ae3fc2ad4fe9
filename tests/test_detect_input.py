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



@pytest.mark.parametrize("crop, dst", [
    ((0, 0, 1280, 720), (224, 128)),  # the whole-frame look, 5.7x
    ((0, 0, 1280, 720), (640, 352)),  # a first look
    ((86, 245, 651, 720), (192, 160)),  # a large changed area within the budget, 2.9x
    ((600, 200, 1165, 675), (544, 448)),  # a changed area at full scale: 4 % down to a multiple of 32
    ((500, 100, 800, 400), (96, 96)),  # a tracked face's crop, 3.1x
    ((0, 0, 78, 720), (32, 352)),  # an edge band
])
@pytest.mark.parametrize("noise", [0.0, 8.0])
def test_shrink_is_area_averaging_on_photos_and_camera_noise(dlib_images, crop, dst, noise):
    """The looks the planner asks for, on a photo with and without a camera's noise (grey levels,
    standard deviation): the cheap resize is the picture ``INTER_AREA`` makes, to about a grey
    level."""
    frame = cv2.resize(dlib_images[0][0], (1280, 720), interpolation=cv2.INTER_CUBIC).astype(np.float32)
    frame += np.random.default_rng(0).normal(0.0, noise, frame.shape).astype(np.float32)
    x1, y1, x2, y2 = crop
    image = np.clip(frame, 0, 255).astype(np.uint8)[y1:y2, x1:x2]
    diff = np.abs(shrink(image, dst).astype(int) - cv2.resize(image, dst, interpolation=cv2.INTER_AREA).astype(int))
    assert diff.mean() < 1.0
    assert np.percentile(diff, 99) <= 6


@pytest.mark.parametrize("src_wh", [(1280, 720), (1920, 1080), (1000, 600)])
def test_a_large_reduction_averages_every_pixel(src_wh):
    """Reduced 4x or more (a whole frame at 224 px), a 1-pixel checkerboard comes out flat grey,
    as with ``INTER_AREA``: the picture is halved exactly until less than 4x is left, so the
    bilinear step never skips a pixel (fine detail does not alias into patterns a detector
    could take for a face)."""
    w, h = src_wh
    y, x = np.mgrid[:h, :w]
    board = np.dstack([((x + y) % 2 * 255).astype(np.uint8)] * 3)
    out = shrink(board, (224, 128)).astype(int)
    assert np.abs(out - 127.5).max() <= 2
