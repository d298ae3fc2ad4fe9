import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from faceblur_cam.detections import Detections
from faceblur_cam.geometry import Margin, area, expand, grow, iou_matrix, merge_boxes, region_mask

boxes = st.tuples(
    st.floats(-50, 500), st.floats(-50, 500), st.floats(1, 300), st.floats(1, 300)
).map(lambda t: [t[0], t[1], t[0] + t[2], t[1] + t[3]])
margins = st.builds(Margin, st.floats(1.0, 3.0), st.floats(1.0, 3.0), st.floats(0.0, 0.5))


@given(box=boxes, margin=margins)
def test_grown_box_contains_original(box, margin):
    g = grow(np.array([box], np.float32), margin)[0]
    assert g[0] <= box[0] + 1e-3 and g[1] <= box[1] + 1e-3
    assert g[2] >= box[2] - 1e-3 and g[3] >= box[3] - 1e-3


@given(box=boxes, frac=st.floats(0, 1))
def test_expand_contains_original(box, frac):
    g = expand(np.array([box], np.float32), frac)[0]
    assert g[0] <= box[0] + 1e-3 and g[3] >= box[3] - 1e-3


def test_iou_matrix_identity_and_disjoint():
    a = np.array([[0, 0, 10, 10], [20, 20, 30, 30]], np.float32)
    m = iou_matrix(a, a)
    assert np.allclose(np.diag(m), 1) and m[0, 1] == 0


def test_region_mask_ellipse_covers_centre_not_corners():
    mask = region_mask(np.array([[10, 10, 50, 90]], np.float32), (100, 100))
    assert mask[50, 30] and not mask[11, 11] and not mask[89, 49]
    # an inscribed ellipse covers about pi/4 of its box
    assert abs(mask[10:90, 10:50].mean() - np.pi / 4) < 0.03


def test_region_mask_clipped_at_image_edge():
    mask = region_mask(np.array([[-40, -40, 40, 40]], np.float32), (100, 100))
    assert mask[0, 0] and mask[30, 5] and not mask[60, 60]


def test_detections_empty_and_indexing():
    d = Detections.empty()
    assert len(d) == 0 and d.xyxy.shape == (0, 4)
    d = Detections(np.array([[0, 0, 4, 4], [1, 1, 3, 5]]), np.array([0.5, 0.9]))
    assert len(d[d.scores > 0.6]) == 1
    assert d.track_ids.tolist() == [-1, -1]
    assert d.to_xywh() == [[0, 0, 4, 4], [1, 1, 2, 4]]


def test_boxes_at_the_frame_edge_reach_past_it_so_their_ellipse_covers_the_visible_part():
    import numpy as np

    from faceblur_cam.geometry import extend_at_edges, region_mask

    boxes = np.array([[0, 100, 40, 180], [300, 200, 360, 280], [600, 400, 640, 480]], np.float32)
    out = extend_at_edges(boxes, (640, 480))
    assert np.allclose(out[1], boxes[1])  # inside: unchanged
    assert np.allclose(out[0], [-20, 100, 50, 180]) and np.allclose(out[2], [590, 380, 660, 520])
    before = region_mask(boxes[:1], (640, 480))
    after = region_mask(out[:1], (640, 480))
    assert before[100:180, 0:40].mean() < 0.8 <= after[100:180, 0:40].mean()
    assert after[before].mean() > 0.97  # next to nothing the old ellipse covered is given up


def _profile_landmarks(box, nose_shift):
    """Five landmarks (eyes, nose, mouth corners) of a face box, the nose ``nose_shift`` box widths
    right of the centre (a turned head)."""
    x1, y1, x2, y2 = box
    w, h = x2 - x1, y2 - y1
    cx = (x1 + x2) / 2 + nose_shift * w
    return np.array([[[cx - 0.2 * w, y1 + 0.35 * h], [cx + 0.2 * w, y1 + 0.35 * h], [cx, y1 + 0.55 * h],
                      [cx - 0.15 * w, y1 + 0.75 * h], [cx + 0.15 * w, y1 + 0.75 * h]]], np.float32)


def test_a_turned_heads_cover_reaches_behind_the_face_where_the_hair_and_ear_are():
    profile = np.array([[220, 100, 270, 200]], np.float32)  # a turned head: a narrow box
    turned = grow(profile, Margin(), _profile_landmarks(profile[0], 0.3))[0]  # nose to the right
    behind, ahead = profile[0, 0] - turned[0], turned[2] - profile[0, 2]
    assert behind > 2 * ahead > 0  # the back of the head is on the left
    mirrored = grow(profile, Margin(), _profile_landmarks(profile[0], -0.3))[0]
    assert mirrored[2] - profile[0, 2] > 2 * (profile[0, 0] - mirrored[0]) > 0


def test_only_a_face_cut_by_the_frame_edge_gets_its_cover_extended():
    from faceblur_cam.geometry import extend_at_edges

    faces = np.array([[250, 80, 390, 260], [0, 200, 40, 280]], np.float32)  # a close-up, a face cut at the left
    covers = grow(faces, Margin())
    assert covers[0, 1] < 0  # the close-up's head reaches past the top edge ...
    out = extend_at_edges(covers, (640, 480), faces=faces)
    assert np.allclose(out[0], covers[0])  # ... but the face is whole: its cover stays the head's size
    assert out[1, 0] < covers[1, 0] - 10  # the cut face: extended past the edge as before
    with pytest.raises(ValueError):
        extend_at_edges(covers, (640, 480), faces=faces[:1])


def test_a_cover_inside_another_is_merged_and_one_that_adds_area_is_kept():
    from faceblur_cam.geometry import absorbed_into_others

    covers = np.array([[100, 100, 300, 340], [150, 150, 250, 290], [280, 100, 400, 240]], np.float32)
    assert absorbed_into_others(covers).tolist() == [0, 2]
    assert absorbed_into_others(covers[[1]]).tolist() == [0]
    assert absorbed_into_others(np.zeros((0, 4), np.float32)).tolist() == []


def _merge_pairwise(xyxy, slack=1.3):
    """merge_boxes as its docstring defines it, one pair at a time (the reference)."""
    boxes = [np.asarray(b, np.float32) for b in np.asarray(xyxy, np.float32).reshape(-1, 4)]
    merged = True
    while merged and len(boxes) > 1:
        merged, out = False, []
        for b in boxes:
            for i, o in enumerate(out):
                inter = float(np.prod(np.clip(np.minimum(o[2:], b[2:]) - np.maximum(o[:2], b[:2]), 0, None)))
                union = np.concatenate([np.minimum(o[:2], b[:2]), np.maximum(o[2:], b[2:])]).astype(np.float32)
                parts = float(area(o)[0] + area(b)[0]) - inter
                if inter > 0 and float(area(union)[0]) <= slack * parts:
                    out[i], merged = union, True
                    break
            else:
                out.append(b)
        boxes = out
    return np.array(boxes, np.float32).reshape(-1, 4)


@given(st.lists(boxes, max_size=24))
def test_changed_areas_merge_exactly_as_pair_by_pair(box_list):
    xyxy = np.array(box_list, np.float32).reshape(-1, 4)
    assert np.array_equal(merge_boxes(xyxy), _merge_pairwise(xyxy))


def test_changed_areas_that_overlap_cheaply_merge_and_far_ones_stay():
    out = merge_boxes(np.array([[0, 0, 100, 100], [10, 10, 110, 110], [400, 400, 450, 450],
                                [0, 200, 100, 300], [90, 290, 300, 500]], np.float32))
    # the first two become one; the third is alone; the last two touch only at a corner: their
    # union would be far larger than both
    assert out.tolist() == [[0, 0, 110, 110], [400, 400, 450, 450], [0, 200, 100, 300], [90, 290, 300, 500]]
