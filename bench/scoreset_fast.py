#!/usr/bin/env python3
"""../shared/eval/scoreset.py in one process: the engine is loaded once, so a settings sweep over a set takes the
time of the models, not of 25 process starts. Same files, same ground truth, same `evalocr.score`, same means —
the numbers equal scoreset's with `--cmd 'ocrwatchd detect {img} -o {out}'` (funsd-train --ci: 0.8305 / 0.1913 /
0.7803 / 0.9810 both ways), but no wall time or RSS per image: use scoreset or bench/speed.py for those.

Usage: .venv/bin/python bench/scoreset_fast.py DIR [DIR ...] [--ci] [--set KEY=JSON ...] [--dump OUT]
                                              [--char-split] [--rows]

  --set KEY=JSON   an EngineSettings field, e.g. --set precision='"fp32"' --set target_text_height=24
  --dump OUT       write each result JSON to OUT/NAME.json
  --char-split     char F1 split into recall and precision (characters matched page by page, order-free, spaces
                   ignored, NFKC, as char_f1; summed over the set), with the characters most often missed and
                   read beyond the ground truth
  --rows           a line per image
"""
from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path
from unicodedata import normalize

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
IMAGE_EXTS = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".pdf")   # PDFs: bench/degrade.py --pdf
KEYS = ("recall", "precision", "hmean", "cer", "word_f1", "char_f1")


def ground_truth(img: Path) -> dict | None:
    """The image's ground truth as scoreset reads it: NAME.gt.json, else NAME.gt.txt / NAME.txt as full text."""
    base = img.with_suffix("")
    for cand in (Path(f"{base}.gt.json"), Path(f"{base}.gt.txt"), Path(f"{base}.txt")):
        if cand.exists():
            if cand.suffix == ".json":
                return json.loads(cand.read_text())
            return {"text": cand.read_text(encoding="utf-8").replace("~", "")}
    return None


def characters(texts: list[str], norm) -> Counter:
    return Counter(c for c in normalize("NFKC", norm(" ".join(texts), True)) if not c.isspace())


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("dirs", nargs="+", type=Path)
    ap.add_argument("--ci", action="store_true", help="compare text case-insensitively everywhere")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=JSON")
    ap.add_argument("--dump", type=Path)
    ap.add_argument("--char-split", action="store_true")
    ap.add_argument("--rows", action="store_true")
    ap.add_argument("--shared", type=Path, default=REPO.parent / "shared")
    a = ap.parse_args()
    sys.path.insert(0, str(a.shared / "eval"))
    from evalocr import lines_of, norm, score

    from ocrwatchd.pipeline.engine import Engine, EngineSettings
    from ocrwatchd.pipeline.run import process

    overrides = {k: json.loads(v) for k, v in (s.split("=", 1) for s in a.set)}
    engine = Engine(EngineSettings(**overrides))
    for folder in a.dirs:
        rows, gt_chars, read_chars, hits, missed, beyond = [], Counter(), Counter(), 0, Counter(), Counter()
        for img in sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_EXTS):
            gt = ground_truth(img)
            if gt is None:
                continue
            result = json.loads(json.dumps(process(img, engine).result))   # as the JSON file would read
            if a.dump:
                a.dump.mkdir(parents=True, exist_ok=True)
                (a.dump / f"{img.stem}.json").write_text(json.dumps(result))
            row = score(gt, result, 0.5, a.ci or bool(gt.get("case_insensitive")))
            rows.append(row | {"image": img.name})
            if a.rows:
                print(json.dumps({"image": img.name} | {k: row.get(k) for k in KEYS if row.get(k) is not None}))
            if a.char_split:
                gl = [l for pg in gt["pages"] for l in pg["lines"]] if "pages" in gt else gt.get("lines")
                g = characters([l.get("text", "") for l in gl] if gl is not None else [gt["text"]], norm)
                r = characters([l.get("text") or "" for l in lines_of(result)], norm)
                gt_chars, read_chars, hits = gt_chars + g, read_chars + r, hits + sum((g & r).values())
                missed, beyond = missed + (g - r), beyond + (r - g)     # per page, as char_f1 matches them
        means = {k: round(sum(r[k] for r in rows if r.get(k) is not None) / len(rows), 4)
                 for k in KEYS if rows and any(r.get(k) is not None for r in rows)}
        print(json.dumps({"set": str(folder), "images": len(rows)} | means), flush=True)
        if a.char_split and gt_chars:
            print(json.dumps({"chars_gt": sum(gt_chars.values()), "chars_read": sum(read_chars.values()),
                              "char_recall": round(hits / sum(gt_chars.values()), 4),
                              "char_precision": round(hits / max(1, sum(read_chars.values())), 4),
                              "missed": missed.most_common(12), "beyond": beyond.most_common(12)},
                             ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
