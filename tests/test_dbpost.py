import cv2
import numpy as np
import pytest

from ocrwatchd.engine.dbpost import DBParams, boxes_from_probability_map, order_quad, unclip

P = DBParams(thresh=0.3, box_thresh=0.5, unclip_ratio=1.5, use_dilation=False)


def test_one_kernel_gives_one_quad_grown_by_the_unclip_distance():
    prob = np.zeros((100, 300), np.float32)
    prob[40:60, 50:250] = 0.9          # a 200×20 kernel
    (det,) = boxes_from_probability_map(prob, P)
    xs, ys = det.quad[:, 0], det.quad[:, 1]
    # DB's offset: area * ratio / perimeter = 4000 * 1.5 / 440 ≈ 13.6 px on every side
    d = 200 * 20 * 1.5 / 440
    assert xs.min() == pytest.approx(50 - d, abs=1.5) and xs.max() == pytest.approx(249 + d, abs=1.5)
    assert ys.min() == pytest.approx(40 - d, abs=1.5) and ys.max() == pytest.approx(59 + d, abs=1.5)
    assert det.score == pytest.approx(0.9, abs=0.01)


def test_quads_are_clockwise_from_top_left():
    q = order_quad(np.array([[10, 20], [0, 0], [10, 0], [0, 20]]))
    assert q.tolist() == [[0, 0], [10, 0], [10, 20], [0, 20]]


def test_separate_kernels_stay_separate_and_weak_ones_are_dropped():
    prob = np.zeros((200, 300), np.float32)
    prob[20:40, 20:280] = 0.95          # strong line
    prob[80:100, 20:280] = 0.95         # another strong line
    prob[140:160, 20:280] = 0.4         # above thresh, below box_thresh: not text
    dets = boxes_from_probability_map(prob, P)
    assert len(dets) == 2
    assert sorted(round(d.quad[:, 1].mean()) for d in dets) == [30, 90]


def test_tiny_blobs_are_dropped():
    prob = np.zeros((50, 50), np.float32)
    prob[10:12, 10:30] = 1.0            # 2 px tall kernel < min_size 3
    assert boxes_from_probability_map(prob, P) == []


def test_rotated_kernel_gives_rotated_quad():
    prob = np.zeros((400, 400), np.float32)
    box = cv2.boxPoints(((200, 200), (240, 24), 30.0)).astype(np.int32)
    cv2.fillPoly(prob, [box], 1.0)
    (det,) = boxes_from_probability_map(prob, P)
    top = det.quad[1] - det.quad[0]
    angle = np.degrees(np.arctan2(top[1], top[0]))
    assert abs(angle - 30) < 2 or abs(angle + 150) < 2


def test_max_candidates_bounds_the_work():
    prob = np.zeros((100, 1000), np.float32)
    for x in range(0, 1000, 20):
        prob[40:60, x:x + 12] = 1.0
    assert len(boxes_from_probability_map(prob, P)) == 50
    assert len(boxes_from_probability_map(prob, DBParams(**{**P.__dict__, "max_candidates": 7}))) == 7


def test_coordinates_beyond_int16():
    # PaddleOCR casts to int16 and wraps past 32767 px; long screenshots are that tall.
    prob = np.zeros((40000, 60), np.float32)
    prob[39000:39020, 10:50] = 1.0
    (det,) = boxes_from_probability_map(prob, P)
    assert 38980 < det.quad[:, 1].min() < 39000 < 39020 < det.quad[:, 1].max() < 39040


def test_polygon_mode_returns_the_contour_outline():
    prob = np.zeros((200, 200), np.float32)
    cv2.fillPoly(prob, [np.array([[20, 20], [180, 20], [180, 60], [100, 60], [100, 120], [20, 120]])], 1.0)
    (det,) = boxes_from_probability_map(prob, DBParams(**{**P.__dict__, "polygons": True}))
    assert det.polygon is not None and len(det.polygon) > 4    # an L shape is not a quad
    assert det.quad.shape == (4, 2)


def test_unclip_collapsing_shape_returns_none():
    assert unclip(np.array([[0, 0], [0, 0], [0, 0], [0, 0]]), 1.5) is None


def test_rejects_non_2d_maps():
    with pytest.raises(ValueError):
        boxes_from_probability_map(np.zeros((1, 10, 10), np.float32), P)


def test_line_fused_with_a_drop_cap_is_pulled_apart():
    # A big initial letter bridged to the first line by weaker probability: as one region its rectangle would
    # span three lines and score too low; thresholded higher it falls into the letter and the line.
    prob = np.zeros((200, 600), np.float32)
    prob[20:120, 20:100] = 0.95          # drop cap
    prob[30:50, 100:110] = 0.5           # weak bridge
    prob[30:50, 110:580] = 0.95          # first line
    dets = boxes_from_probability_map(prob, P)
    assert len(dets) == 2
    line = max(dets, key=lambda d: np.ptp(d.quad[:, 0]))
    assert np.ptp(line.quad[:, 1]) < 50  # the line keeps its own height


def test_uniform_irregular_region_is_not_split():
    from ocrwatchd.engine.dbpost import _split_irregular

    prob = np.zeros((200, 600), np.float32)
    prob[20:120, 20:100] = 0.95
    prob[30:50, 100:580] = 0.95          # same strength everywhere: nothing to pull apart
    (contour,), _ = cv2.findContours((prob > P.thresh).astype(np.uint8), cv2.RETR_LIST, cv2.CHAIN_APPROX_SIMPLE)
    assert len(_split_irregular(prob, contour.reshape(-1, 2), P)) == 1
