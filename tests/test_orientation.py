"""Page orientation: the axis from line geometry, the sense from classifier and recogniser, coordinates mapped back."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from conftest import text_image
from ocrwatchd.engine.orientation import PageOrientation, line_axis, turn, turn_back


def box(x0, y0, x1, y1):
    return np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], np.float64)


def test_line_axis_weighs_lines_by_length_and_ignores_squares():
    level = [box(0, 10 * i, 400, 10 * i + 20) for i in range(5)]
    upright = [box(10 * i, 0, 10 * i + 20, 300) for i in range(3)]
    squares = [box(0, 0, 30, 30)] * 20
    assert line_axis(level + upright + squares) == ("h", [0, 1, 2, 3, 4])
    assert line_axis(upright + squares)[0] == "v"
    assert line_axis(squares) == (None, [])


@pytest.mark.parametrize("degrees", [0, 90, 180, 270])
def test_turn_back_undoes_turn(degrees):
    page = np.zeros((30, 50), np.uint8)
    page[4, 7] = 255                            # a marked pixel at (x=7, y=4) of the page as given
    turned = turn(page, degrees)
    ys, xs = np.nonzero(turned)
    centre = np.array([[xs[0] + 0.5, ys[0] + 0.5]])
    assert np.allclose(turn_back(centre, degrees, 50, 30), [[7.5, 4.5]])


class Classifier:
    def __init__(self, p180):
        self.p180 = p180

    def p_upside_down(self, crops):
        return [self.p180] * len(crops)


class NeverAsked:
    class spec:
        pad = 0.1

    def read_crops(self, crops):
        raise AssertionError("an upright page must not need the recogniser")


def test_upright_pages_are_settled_by_the_classifier_alone():
    image = np.full((200, 500), 255, np.uint8)
    quads = [box(10, 20 + 40 * i, 480, 50 + 40 * i) for i in range(4)]
    assert PageOrientation(Classifier(0.05), NeverAsked()).decide(image, quads) == 0


class ReadsInkOnTheLeft:
    """A recogniser that is sure of a line whose ink starts on the left (as cut, upright) and unsure of one
    turned round; counts the crops it reads."""

    class spec:
        pad = 0.1

    def __init__(self, sure=0.95, unsure=0.45):
        self.sure, self.unsure, self.read = sure, unsure, 0

    def read_crops(self, crops):
        self.read += len(crops)
        return [("text", self.sure if c[:, :c.shape[1] // 2].mean() < c[:, c.shape[1] // 2:].mean() else self.unsure)
                for c in crops]


def lines_inked_on_the_left(n=12):
    image = np.full((40 * n + 40, 500), 255, np.uint8)
    quads = []
    for i in range(n):
        image[20 + 40 * i:50 + 40 * i, 10:200] = 0
        quads.append(box(10, 20 + 40 * i, 480, 50 + 40 * i))
    return image, quads


def test_a_doubted_page_is_settled_by_its_first_lines_read_both_ways():
    image, quads = lines_inked_on_the_left()
    reader = ReadsInkOnTheLeft()
    assert PageOrientation(Classifier(0.9), reader).decide(image, quads) == 0
    assert reader.read == 2 * 4                                   # four lines each way, not twelve
    upside_down = turn(image, 180)
    reader = ReadsInkOnTheLeft()
    turned_quads = [np.array(turn_back(q, 180, 500, image.shape[0]))[[2, 3, 0, 1]] for q in quads]
    assert PageOrientation(Classifier(0.9), reader).decide(upside_down, turned_quads) == 180
    assert reader.read == 2 * 4
    close = ReadsInkOnTheLeft(sure=0.8, unsure=0.7)               # readings that stay close: the whole sample
    assert PageOrientation(Classifier(0.9), close).decide(image, quads) == 0 and close.read == 2 * 12


@pytest.fixture(scope="module")
def page_image():
    lines = [(40, 80 + 70 * i, t, 1.3) for i, t in enumerate(
        ["Invoice number 4711", "Total due 123.45 EUR", "Pay within thirty days", "Thank you for your order"])]
    return text_image(900, 420, lines)


@pytest.mark.parametrize("degrees", [90, 180, 270])
def test_turned_pages_are_read_upright_with_coordinates_in_the_page_as_given(tmp_path, engine, page_image, degrees):
    from ocrwatchd.pipeline import process

    cv2.imwrite(str(tmp_path / "upright.png"), page_image)
    upright = process(tmp_path / "upright.png", engine).result["pages"][0]
    # The page as fed: turned by `degrees` counter-clockwise, so `degrees` clockwise makes it upright again.
    fed = turn(page_image, (360 - degrees) % 360)
    cv2.imwrite(str(tmp_path / "fed.png"), fed)
    page = process(tmp_path / "fed.png", engine).result["pages"][0]
    assert upright["orientation"] == 0 and page["orientation"] == degrees
    assert "writing" not in page                 # a page fed in sideways, not one set vertically
    assert [line["text"] for line in page["lines"]] == [line["text"] for line in upright["lines"]]
    assert (page["width"], page["height"]) == (fed.shape[1], fed.shape[0])
    for got, want in zip(page["lines"], upright["lines"]):
        # the upright line's box, carried onto the page as fed, is where the line is reported
        corners = np.array(want["polygon"])
        fed_pts = turn_back(corners, degrees, fed.shape[1], fed.shape[0])   # upright = fed turned by `degrees`
        x0, y0 = fed_pts.min(axis=0)
        x1, y1 = fed_pts.max(axis=0)
        assert np.allclose(got["box"], [x0, y0, x1, y1], atol=6)
        assert got["box"][2] <= fed.shape[1] + 1 and got["box"][3] <= fed.shape[0] + 1
