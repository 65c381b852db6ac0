#!/usr/bin/env python3
"""The reliability campaign: real `ocrwatchd run` processes on real folders, pushed where files get lost.

Usage: python bench/campaign.py [--parts kill,host,scale,bad,disk] [--short] [--out bench/out]

Each part drives the daemon and then audits the folders (audit.py): every file dropped must end exactly once in
output or failed, every set complete (the JSON beside all its formats), nothing left behind in staging or the
inbox, no temp file after a janitor run. The table (bench/out/campaign.md) has, per part: files in / done /
failed / lost / doubled / left behind / incomplete sets, peak RSS and wall time. `--short` is the version
`make test` runs; the full one is `make campaign`.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO / "bench"), str(REPO / "tests"), str(REPO)]

from campaign_parts import PARTS  # noqa: E402


def table(rows: list[dict]) -> str:
    cols = ["part", "files in", "done", "failed", "lost", "doubled", "left behind", "incomplete sets", "temp left",
            "peak RSS MB", "wall s", "notes"]
    out = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for r in rows:
        out.append("| " + " | ".join(str(r.get(c, "")) for c in cols) + " |")
    return "\n".join(out)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--parts", default=",".join(PARTS))
    ap.add_argument("--short", action="store_true", help="the small version that runs in make test")
    ap.add_argument("--out", type=Path, default=REPO / "bench" / "out")
    ap.add_argument("--work", type=Path, help="folder for the inboxes (default: a temp folder)")
    a = ap.parse_args()
    import tempfile

    rows = []
    with tempfile.TemporaryDirectory(dir=a.work) as tmp:
        for name in a.parts.split(","):
            t0 = time.monotonic()
            row = PARTS[name](Path(tmp) / name, short=a.short)
            row = {"part": name, **row}
            row.setdefault("wall s", round(time.monotonic() - t0))
            rows.append(row)
            print(row, flush=True)
    text = table(rows)
    a.out.mkdir(parents=True, exist_ok=True)
    (a.out / ("campaign-short.md" if a.short else "campaign.md")).write_text(text + "\n")
    print(text)
    bad = [r["part"] for r in rows if r.get("lost") or r.get("doubled") or r.get("incomplete sets")
           or r.get("left behind") or r.get("temp left")]
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
