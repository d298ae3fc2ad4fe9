import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from faceblur_cam.detections import Detections
from faceblur_cam.geometry import Margin, expand, grow, iou_matrix, region_mask

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
