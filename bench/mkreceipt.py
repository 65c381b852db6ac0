#!/usr/bin/env python3
"""Synthetic scanned till receipts with line ground truth, for scoring with ../shared/eval (scoreset.py).

A held-out receipt family beside SROIE's nine: what the receipt rules were measured on is real but few, so this
checks they carry over to receipts laid out, printed and scanned in ways nobody here tuned on.

Each receipt is a thermal-printer strip (480–640 px wide, 14–22 px monospaced or condensed faces, as a 180–200 dpi
scan of 58–80 mm paper): a shop name, its registration number, address, `KEY: value` header lines (phone,
invoice number, date and time, cashier), dashed rules, 4–14 item rows — a name and a code, `qty x price`, the
amount flush right and sometimes a tax code after it —, subtotal, tax, rounding, total, tendered and change, a
thank-you line. Then the scan: the strip on a grey scanner bed, faded print (lighter towards one end), blur,
noise, a small tilt, JPEG. Ground truth: one line per drawn string (a row's name, its quantity and its amount are
separate strings, as SROIE transcribes columns apart), its box and text.

With --lang zh the receipts are Chinese (小票): a Hei, Song or Kai face at 18–24 px, the shop's name and address
in Chinese, `键：值` header lines with a full-width or ASCII colon (单号, 日期, 收银员, 机号), a 品名 / 数量 / 金额
header, item names of 2–8 Chinese characters (taken from Debian's Chinese man pages, as bench/mkzh.py takes its
prose, `apt-get install manpages-zh` and the fonts it names) sometimes with a size or weight after them,
`qty x price` and the amount, then 合计 / 优惠 / 应收 / 实收 / 找零 and a closing line; the same scan.

Usage: python bench/mkreceipt.py OUTDIR [--seed N] [--count K] [--lang en|zh]
"""
from __future__ import annotations

import argparse
import io
import json
import math
import os
import random
import re

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

F = "/usr/share/fonts/truetype/dejavu/"
FONTS = [F + "DejaVuSansMono.ttf", F + "DejaVuSansMono-Bold.ttf", F + "DejaVuSansCondensed.ttf",
         F + "DejaVuSans.ttf"]
BOLD = [F + "DejaVuSans-Bold.ttf", F + "DejaVuSansMono-Bold.ttf", F + "DejaVuSerifCondensed-Bold.ttf"]
WORDS = sorted({w.strip(".,;:()\"'").upper() for w in re.split(r"\s+", open("/usr/share/common-licenses/GPL-3").read())
                if w.strip(".,;:()\"'").isalpha() and 2 <= len(w.strip(".,;:()\"'")) <= 9})


def words(rng: random.Random, n: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(n))


def digits(rng: random.Random, n: int) -> str:
    return "".join(str(rng.randrange(10)) for _ in range(n))


class Strip:
    """A till roll being printed: each string drawn at the current row y and recorded as a ground-truth line."""

    def __init__(self, width: int, font, margin: int, y: int) -> None:
        self.img = Image.new("L", (width, 4000), 255)
        self.d = ImageDraw.Draw(self.img)
        self.width, self.font, self.margin, self.y = width, font, margin, y
        self.lines: list[dict] = []

    def put(self, x, text, font=None, record=True) -> None:
        font = font or self.font
        x0, y0, x1, y1 = self.d.textbbox((x, self.y), text, font=font)
        self.d.text((x, self.y), text, font=font, fill=0)
        if record:
            self.lines.append({"box": [x0, y0, x1, y1], "text": text})

    def centre(self, text, font=None) -> None:
        self.put((self.width - self.d.textlength(text, font=font or self.font)) // 2, text, font)

    def right(self, text) -> None:
        self.put(self.width - self.margin - self.d.textlength(text, font=self.font), text)

    def rule(self, rng: random.Random) -> None:
        """A row of one glyph across the roll, not in the ground truth."""
        ch = rng.choice("-=*")
        self.put(self.margin, ch * int((self.width - 2 * self.margin) // self.d.textlength(ch, font=self.font)),
                 record=False)

    def keyed(self, rng: random.Random, pairs: list[tuple[str, str]], sep: str, pitch: int, least: int,
              most: int) -> None:
        """A section between two rules of `key: value` lines, the first least to most of the pairs."""
        self.rule(rng)
        self.y += pitch
        for key, value in pairs[:rng.randint(least, most)]:
            self.put(self.margin, key + sep + value)
            self.y += pitch
        self.rule(rng)
        self.y += pitch

    def printed(self) -> np.ndarray:
        return np.asarray(self.img.crop((0, 0, self.width, self.y)), np.float32)


def receipt(rng: random.Random, np_rng: np.random.Generator):
    width = rng.randint(480, 640)
    mono = ImageFont.truetype(rng.choice(FONTS), rng.randint(14, 22))
    bold = ImageFont.truetype(rng.choice(BOLD), rng.randint(20, 28))
    pitch = int(mono.getbbox("Ag")[3] * rng.uniform(1.35, 1.7))
    p = Strip(width, mono, rng.randint(16, 36), rng.randint(30, 60))
    margin = p.margin
    p.centre(words(rng, rng.randint(1, 3)) + rng.choice([" SDN BHD", " ENTERPRISE", " TRADING", " MART", ""]), bold)
    p.y += int(pitch * 1.4)
    p.centre(f"({digits(rng, rng.randint(5, 7))}-{rng.choice('ADHKMPTUVWX')})")
    p.y += pitch
    for _ in range(rng.randint(2, 3)):
        p.centre(f"{rng.randint(1, 300)}, {words(rng, rng.randint(1, 3))}" if rng.random() < 0.5 else words(rng, 2))
        p.y += pitch
    sep = rng.choice([": ", " : ", ":"])
    head = [("TEL", f"0{rng.randint(3, 9)}-{digits(rng, 4)} {digits(rng, 4)}"),
            ("GST ID", digits(rng, 12)),
            (rng.choice(["INVOICE NO", "RECEIPT #", "BILL NO", "DOC NO"]), f"{words(rng, 1)[:3]}{digits(rng, 6)}"),
            ("DATE", f"{rng.randint(1, 28):02d}/{rng.randint(1, 12):02d}/20{rng.randint(15, 19)}"
                     f" {rng.randint(8, 21):02d}:{rng.randint(0, 59):02d}"),
            (rng.choice(["CASHIER", "SALESPERSON", "OPERATOR"]), words(rng, 1))]
    rng.shuffle(head)
    p.keyed(rng, head, sep, pitch, 3, 5)
    total = 0.0
    tax = rng.choice(["SR", "ZR", ""])
    for _ in range(rng.randint(4, 14)):
        qty, price = rng.randint(1, 6), rng.randint(50, 9999) / 100
        amount = round(qty * price, 2)
        total += amount
        p.put(margin, words(rng, rng.randint(1, 3))[:int((width - 2 * margin) / p.d.textlength("M", font=mono)) - 1])
        p.y += pitch
        if rng.random() < 0.5:
            p.put(margin + 10, digits(rng, 13))
            p.y += pitch
        p.put(margin + rng.randint(10, 60), f"{qty} x {price:.2f}")
        p.right(f"{amount:.2f}" + (f" {tax}" if tax else ""))
        p.y += pitch
    p.rule(rng)
    p.y += pitch
    gst = round(total * 0.06, 2)
    for label, value in (("SUBTOTAL", total), ("GST 6%", gst), ("ROUNDING", 0.0), ("TOTAL", total + gst),
                         ("CASH", float(int(total + gst) + rng.choice([0, 1, 10, 50]))),
                         ("CHANGE", float(int(total + gst) + 1) - (total + gst))):
        if label == "ROUNDING" and rng.random() < 0.5:
            continue
        p.put(margin, label if rng.random() < 0.7 else label.title())
        p.right(f"{value:.2f}")
        p.y += pitch
    p.rule(rng)
    p.y += pitch
    p.centre(rng.choice(["THANK YOU", "THANK YOU, PLEASE COME AGAIN", "GOODS SOLD ARE NOT RETURNABLE"]))
    p.y += pitch + rng.randint(20, 60)
    return scanned(p.printed(), p.lines, rng, np_rng)


def scanned(strip: np.ndarray, lines: list[dict], rng: random.Random, np_rng: np.random.Generator):
    """The printed strip as a scan (faded, on a scanner bed, tilted, blurred, noised, JPEG) and its ground truth."""
    width = strip.shape[1]
    # thermal print fades: ink lighter towards one end, unevenly
    fade = np.linspace(rng.uniform(0, 40), rng.uniform(40, 140), strip.shape[0])[:, None]
    strip = 255 - (255 - strip) * (1 - fade / 255)
    # on a scanner bed, a little tilted
    bed_h, bed_w = strip.shape[0] + rng.randint(60, 200), width + rng.randint(80, 300)
    bed = np.full((bed_h, bed_w), rng.uniform(90, 200), np.float32)
    ox, oy = rng.randint(20, bed_w - width - 20), rng.randint(20, bed_h - strip.shape[0] - 20)
    bed[oy:oy + strip.shape[0], ox:ox + width] = strip
    angle = rng.uniform(-2.0, 2.0)
    page = Image.fromarray(bed.astype(np.uint8)).rotate(angle, resample=Image.BICUBIC, fillcolor=int(bed[0, 0]),
                                                        center=(bed_w / 2, bed_h / 2))
    page = page.filter(ImageFilter.GaussianBlur(rng.uniform(0.4, 1.1)))
    arr = np.asarray(page, np.float32) + np_rng.normal(0, rng.uniform(3, 12), (bed_h, bed_w))
    buf = io.BytesIO()
    Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8)).save(buf, "JPEG", quality=rng.randint(55, 85))
    # ground truth: the boxes moved onto the bed and turned as the page was
    return buf.getvalue(), {"pages": [{"lines": turned(lines, angle, (bed_w / 2, bed_h / 2), (ox, oy))}]}


def turned(lines: list[dict], angle: float, centre: tuple[float, float], offset: tuple[int, int] = (0, 0)):
    """Ground-truth lines whose boxes were moved by offset and then turned as PIL's rotate(angle, center=centre)
    turned the image, as polygons."""
    t = np.deg2rad(-angle)
    c, s = np.cos(t), np.sin(t)
    (cx, cy), (ox, oy) = centre, offset
    out = []
    for ln in lines:
        x0, y0, x1, y1 = ln["box"]
        quad = [(x0 + ox, y0 + oy), (x1 + ox, y0 + oy), (x1 + ox, y1 + oy), (x0 + ox, y1 + oy)]
        poly = [[round(cx + (x - cx) * c - (y - cy) * s, 1), round(cy + (x - cx) * s + (y - cy) * c, 1)]
                for x, y in quad]
        out.append({"polygon": poly, "text": ln["text"]})
    return out


def cjk_runs() -> list[str]:
    """Runs of 2 or more Chinese characters from the man pages' prose (mkzh.corpus), item and street names."""
    from mkzh import corpus
    return [run for line in corpus() for run in re.findall("[\u4e00-\u9fff]{2,}", line)]


def zh_words(rng: random.Random, runs: list[str], lo: int, hi: int) -> str:
    run = rng.choice([r for r in runs if len(r) >= lo] or runs)
    n = rng.randint(lo, min(hi, len(run)))
    start = rng.randint(0, len(run) - n)
    return run[start:start + n]


def receipt_zh(rng: random.Random, np_rng: np.random.Generator, runs: list[str]):
    from mkzh import FONTS as ZH_FONTS
    width = rng.randint(480, 640)
    path, index = rng.choice(ZH_FONTS)
    font = ImageFont.truetype(path, rng.randint(18, 24), index=index)
    big = ImageFont.truetype(path, rng.randint(26, 34), index=index)
    pitch = int(font.getbbox("国Ag")[3] * rng.uniform(1.3, 1.6))
    p = Strip(width, font, rng.randint(16, 36), rng.randint(30, 60))
    margin = p.margin
    sep = rng.choice(["：", ":"])
    p.centre(zh_words(rng, runs, 2, 5) + rng.choice(["超市", "便利店", "餐厅", "商行", "药房"]), big)
    p.y += int(pitch * 1.4)
    p.centre(f"地址{sep}{zh_words(rng, runs, 3, 7)}路{rng.randint(1, 300)}号")
    p.y += pitch
    p.centre(f"电话{sep}0{rng.randint(10, 99)}-{digits(rng, 8)}")
    p.y += pitch
    head = [("单号", digits(rng, rng.randint(10, 16))),
            ("日期", f"20{rng.randint(18, 26)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d} "
                     f"{rng.randint(8, 21):02d}:{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d}"),
            ("收银员", zh_words(rng, runs, 2, 3)), ("机号", f"{rng.randint(1, 20):02d}")]
    rng.shuffle(head)
    p.keyed(rng, head, sep, pitch, 2, 4)
    qty_x = margin + int((width - 2 * margin) * 0.55)
    p.put(margin, "品名")
    p.put(qty_x, "数量")
    p.right("金额")
    p.y += pitch
    total = 0.0
    for _ in range(rng.randint(3, 10)):
        qty, price = rng.randint(1, 5), rng.randint(100, 9999) / 100
        amount = round(qty * price, 2)
        total += amount
        name = zh_words(rng, runs, 2, 8) + (rng.choice(["500ml", "(大)", "1kg", "x6"]) if rng.random() < 0.3 else "")
        p.put(margin, name)
        p.y += pitch
        p.put(margin + rng.randint(10, 40), f"{qty} x {price:.2f}")
        p.right(f"{amount:.2f}")
        p.y += pitch
    p.rule(rng)
    p.y += pitch
    discount = round(total * rng.choice([0, 0, 0.05, 0.1]), 2)
    due = round(total - discount, 2)
    paid = float(math.ceil(due) + rng.choice([0, 1, 10, 50]))
    for label, value in (("合计", total), ("优惠", discount), ("应收", due), ("实收", paid), ("找零", paid - due)):
        if label == "优惠" and not discount:
            continue
        if rng.random() < 0.5:
            p.put(margin, label + sep)
            p.right(f"{value:.2f}")
        else:
            p.put(margin, f"{label}{sep}{value:.2f}")
        p.y += pitch
    p.rule(rng)
    p.y += pitch
    p.centre(rng.choice(["谢谢惠顾，欢迎再次光临", "谢谢惠顾", "请妥善保管小票", "欢迎下次光临"]))
    p.y += pitch + rng.randint(20, 60)
    return scanned(p.printed(), p.lines, rng, np_rng)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--count", type=int, default=10)
    ap.add_argument("--lang", choices=("en", "zh"), default="en")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    runs = cjk_runs() if a.lang == "zh" else []
    for k in range(a.count):
        rng, np_rng = random.Random(a.seed * 1000 + k), np.random.default_rng(a.seed * 1000 + k)
        jpeg, gt = receipt_zh(rng, np_rng, runs) if a.lang == "zh" else receipt(rng, np_rng)
        name = "receipt%02d" % k
        with open(os.path.join(a.out, name + ".jpg"), "wb") as f:
            f.write(jpeg)
        with open(os.path.join(a.out, name + ".gt.json"), "w") as f:
            json.dump(gt, f)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
