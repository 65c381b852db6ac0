#!/usr/bin/env python3
"""Peak RSS and wall time of `ocrwatchd detect` as images grow: the tiled engine's memory must stay flat.

Usage: python bench/memory.py [--mp 20,50,100] [--out bench/out] [--drawing PATH.png]

Renders drawing-like gray scans of the given megapixel sizes (small labels scattered over a sheet, so the
text-height policy keeps native resolution and every pixel is tiled), runs each through a fresh
`ocrwatchd detect` process under /usr/bin/time -v, and writes bench/out/memory.md (a Markdown table). Only the
decoded image (1 byte per pixel for gray) should grow with size; the tile working set is constant.
"""
from __future__ import annotations

import argparse
import json
import math
import random
import re
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np

from ocrwatchd.engine.decode import decode_image

WORDS = ("tiled detection keeps memory flat while the sheet grows larger bolt flange gasket valve north "
         "section detail revision drawing scale sheet approved checked").split()


def render(path: Path, megapixels: float, seed: int = 1) -> tuple[int, int]:
    rng = random.Random(seed)
    w = int(math.sqrt(megapixels * 1e6 * 1.5))
    h = int(megapixels * 1e6 / w)
    img = np.full((h, w), 255, np.uint8)
    for _ in range(int(megapixels * 6)):             # frames and rules
        x, y = rng.randrange(w), rng.randrange(h)
        cv2.rectangle(img, (x, y), (x + rng.randrange(200, 1500), y + rng.randrange(200, 1500)), 0, 3)
    for _ in range(int(megapixels * 4)):             # labels, 20-30 px tall
        text = " ".join(rng.choice(WORDS) for _ in range(rng.randint(2, 5)))
        cv2.putText(img, text, (rng.randrange(w - 800), rng.randrange(40, h)), cv2.FONT_HERSHEY_SIMPLEX,
                    rng.uniform(0.7, 1.0), 0, 2, cv2.LINE_AA)
    cv2.imwrite(str(path), img)
    return w, h


def measure(image: Path, out: Path, extra: list[str]) -> dict:
    cmd = ["/usr/bin/time", "-v", sys.executable, "-m", "ocrwatchd", "detect", "--device", "cpu", str(image),
           "-o", str(out), "--overwrite", *extra]
    t0 = time.perf_counter()
    p = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if p.returncode != 0:
        raise SystemExit(f"detect failed on {image}: {p.stderr[-500:]}")
    rss_kb = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", p.stderr).group(1))
    result = json.loads(out.read_text())
    return {"peak_mb": rss_kb / 1024, "wall_s": wall, "tiles": result["stats"]["tiles"],
            "lines": result["stats"]["lines"], "scale": result["params"]["scale"],
            "provider": result["model"]["provider"]}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--mp", default="20,50,100", help="megapixel sizes to render")
    ap.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "out")
    ap.add_argument("--drawing", type=Path, action="append", default=[],
                    help="also measure these images (e.g. mkscan's 9000×6000 drawing)")
    ap.add_argument("--detect-args", default="", help="extra `ocrwatchd detect` flags, e.g. '--no-recognize'")
    a = ap.parse_args()
    a.out.mkdir(parents=True, exist_ok=True)
    cases = []
    for mp in (float(x) for x in a.mp.split(",")):
        img = a.out / f"sheet-{mp:g}mp.png"
        if not img.exists():
            render(img, mp)
        cases.append(img)
    cases += a.drawing
    rows = []
    for img in cases:
        r = measure(img, a.out / (img.stem + ".json"), a.detect_args.split())
        full = decode_image(img.read_bytes()).pixels     # what the daemon holds: gray stays one channel
        r.update(image=img.name, size=f"{full.shape[1]}×{full.shape[0]}", mp=full.shape[0] * full.shape[1] / 1e6,
                 decoded_mb=full.nbytes / 2**20)
        del full
        rows.append(r)
        print(json.dumps(r), flush=True)
    lines = ["| image | size | MP | tiles | lines | decoded image MB | peak RSS MB | RSS − image MB | wall s |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['image']} | {r['size']} | {r['mp']:.1f} | {r['tiles']} | {r['lines']} | "
                     f"{r['decoded_mb']:.0f} | {r['peak_mb']:.0f} | {r['peak_mb'] - r['decoded_mb']:.0f} | "
                     f"{r['wall_s']:.1f} |")
    table = "\n".join(lines) + f"\n\nprovider: {rows[0]['provider']}; one `ocrwatchd detect` process per image, " \
                               "peak RSS from /usr/bin/time -v (whole process, model load included).\n"
    table = f"`ocrwatchd detect {a.detect_args}`\n\n" + table
    (a.out / f"memory{'-' + a.detect_args.strip('-').replace(' ', '') if a.detect_args else ''}.md").write_text(table)
    print(table)


if __name__ == "__main__":
    main()
