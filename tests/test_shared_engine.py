"""The daemon's workers share one Engine: two pages read at the same moment from two threads get exactly the
lines each gets when read alone (sessions and stages keep no state between calls)."""
import threading

import cv2
from conftest import text_image

from ocrwatchd.pipeline.run import process


def _lines(result: dict) -> list[tuple[str, list]]:
    return [(line["text"], line["box"]) for page in result["pages"] for line in page["lines"]]


def test_two_threads_reading_at_once_get_what_each_reads_alone(tmp_path, engine):
    pages = {
        # short sides >= 736 (min_side), so neither is upscaled before detection
        "invoice.png": text_image(1000, 740, [(50, 120, "INVOICE 2041 DUE 14 MARCH", 1.4),
                                              (50, 300, "Total amount 318.40 EUR", 1.2),
                                              (50, 480, "Paid by bank transfer", 1.1)]),
        "letter.png": text_image(740, 900, [(40, 150, "Dear reader of this page", 1.1),
                                            (40, 350, "the second line is longer", 0.9),
                                            (40, 700, "Kind regards 77", 1.2)]),
    }
    paths = []
    for name, pixels in pages.items():
        cv2.imwrite(str(tmp_path / name), pixels)
        paths.append(tmp_path / name)
    alone = {p: _lines(process(p, engine).result) for p in paths}
    assert all(alone.values()) and alone[paths[0]] != alone[paths[1]]

    together: dict = {}
    start = threading.Barrier(len(paths))

    def read(path):
        start.wait()
        for _ in range(2):                       # twice, so the runs overlap whichever thread starts first
            together.setdefault(path, []).append(_lines(process(path, engine).result))

    threads = [threading.Thread(target=read, args=(p,)) for p in paths]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert together == {p: [alone[p], alone[p]] for p in paths}
