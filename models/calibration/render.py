"""Render the calibration pages that int8 quantization measures activation ranges on (ocrwatchd/quantize.py).

The pages are ours (text written for them, DejaVu and WenQuanYi Micro Hei fonts, both free to redistribute) and
cover the families ocrwatchd reads: a printed book page, a receipt, a noisy low-resolution form, a Chinese report
page and a shaded, tilted phone photo of a page. They are committed; this script is how they were made:

    python models/calibration/render.py models/calibration     # needs Pillow, numpy, fonts-dejavu, fonts-wqy-microhei

Fixed seeds: the same script gives the same pages.
"""
from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

DEJAVU = Path("/usr/share/fonts/truetype/dejavu")
WQY = Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc")

PROSE = (
    "A watched folder is a promise: whatever is dropped into it comes back as text, once, and nothing is lost "
    "on the way. Scanners write files slowly, copiers send them in bursts, and phones produce pictures of pages "
    "held at an angle under a desk lamp. Each of these arrives as pixels, and every line on them should come "
    "back as words that can be searched, copied and counted. The reader finds the lines first, as boxes, and "
    "then reads each box as a sequence of characters. Small print at the foot of a form, the totals of a "
    "receipt and the page numbers of a report are all lines of their own. Numbers such as 1,234.56 or "
    "2026-11-29 and codes like AB-7731/X must come back exactly as printed, with their dots and dashes. "
    "Where the paper is grey, the ink faint or the page turned, the reader still owes its user the text. "
)
RECEIPT = [
    "CORNER MARKET LTD", "12 HARBOUR ROAD", "TEL 03-5550 1234", "", "INVOICE NO: CM-004417", "DATE: 29/11/2026  14:07",
    "CASHIER: 07", "", "QTY ITEM              AMOUNT", "2   BREAD WHOLEMEAL     5.80", "1   MILK 1L             3.45",
    "3   APPLES              4.20", "1   COFFEE BEANS 250G  12.90", "1   RICE 5KG           18.00",
    "", "SUBTOTAL              44.35", "ROUNDING              -0.00", "TOTAL                 44.35",
    "CASH                  50.00", "CHANGE                 5.65", "", "THANK YOU, PLEASE COME AGAIN",
]
FORM = [
    ("TO:", "Dr. R. Alvarez, Research Division"), ("FROM:", "M. Okafor"), ("DATE:", "March 4, 1997"),
    ("FAX NO:", "(910) 555-0142"), ("PAGES:", "3 (including cover)"), ("RE:", "Quarterly sample report, lot 58-221"),
]
CHINESE = [
    "第三季度工作报告", "本季度共处理文件一万二千四百份，比上季度增长百分之十八。",
    "扫描件主要来自复印机和手机，其中约三成页面需要旋转后才能识别。",
    "系统在两台服务器上运行，每台配置两个工作进程，内存峰值保持在八百兆以内。",
    "下一阶段的重点是提高表格和收据的识别质量，并缩短每页的处理时间。",
    "附表：一月 3,980 份；二月 4,105 份；三月 4,315 份。",
]


def font(name: str, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(DEJAVU / name), size)


def scanned(img: Image.Image, rng: np.random.Generator, noise: float, blur: float) -> Image.Image:
    if blur:
        img = img.filter(ImageFilter.GaussianBlur(blur))
    a = np.asarray(img, dtype=np.float32)
    a += rng.normal(0, noise, a.shape)
    return Image.fromarray(np.clip(a, 0, 255).astype(np.uint8))


def book_page(rng: np.random.Generator) -> Image.Image:
    """A5 at 300 dpi, 11 pt serif: text about 35 px tall, as from an office scanner."""
    img = Image.new("L", (1748, 2480), 245)
    d = ImageDraw.Draw(img)
    d.text((160, 170), "Chapter 4. Reading what arrives", font=font("DejaVuSerif-Bold.ttf", 58), fill=20)
    y = 300
    body = font("DejaVuSerif.ttf", 46)
    for para in range(3):
        for line in textwrap.wrap(PROSE if para != 1 else PROSE[::-1].swapcase()[::-1], 58):
            d.text((160, y), line, font=body, fill=25)
            y += 66
        y += 40
    d.text((840, 2330), "- 47 -", font=font("DejaVuSerif.ttf", 38), fill=40)
    return scanned(img.rotate(0.6, fillcolor=245, resample=Image.BICUBIC), rng, noise=3, blur=0.6)


def receipt(rng: np.random.Generator) -> Image.Image:
    """A thermal receipt at 200 dpi: monospace, faded unevenly."""
    img = Image.new("L", (640, 1500), 238)
    d = ImageDraw.Draw(img)
    mono = font("DejaVuSansMono.ttf", 30)
    y = 60
    for line in RECEIPT:
        d.text((40, y), line, font=mono, fill=int(rng.integers(40, 110)))
        y += 52
    fade = np.linspace(0, 60, img.height, dtype=np.float32)[:, None]
    a = np.asarray(img, dtype=np.float32) + fade * (np.asarray(img) < 200)
    return scanned(Image.fromarray(np.clip(a, 0, 255).astype(np.uint8)), rng, noise=8, blur=0.8)


def form(rng: np.random.Generator) -> Image.Image:
    """A faxed cover sheet at about 100 dpi: boxes, labels, 6-8 pt small print, speckle and thresholding."""
    img = Image.new("L", (850, 1100), 255)
    d = ImageDraw.Draw(img)
    d.text((250, 50), "FACSIMILE COVER SHEET", font=font("DejaVuSans-Bold.ttf", 30), fill=0)
    y = 150
    for label, value in FORM:
        d.rectangle((60, y - 8, 790, y + 34), outline=0, width=2)
        d.text((72, y), label, font=font("DejaVuSans-Bold.ttf", 17), fill=0)
        d.text((220, y), value, font=font("DejaVuSans.ttf", 17), fill=0)
        y += 60
    d.text((60, y + 30), "MESSAGE:", font=font("DejaVuSans-Bold.ttf", 17), fill=0)
    for line in textwrap.wrap(PROSE[:420], 70):
        y += 30
        d.text((80, y + 40), line, font=font("DejaVuSans.ttf", 16), fill=0)
    y += 120
    d.line((60, y, 790, y), fill=0, width=1)
    for line in textwrap.wrap("CONFIDENTIALITY NOTE: " + PROSE[420:820], 118):
        y += 16
        d.text((60, y), line, font=font("DejaVuSans.ttf", 10), fill=0)
    a = np.asarray(scanned(img, rng, noise=30, blur=0.7), dtype=np.float32)
    a = np.where(a < 150, 0, 255).astype(np.float32)          # the fax machine's threshold
    specks = rng.random(a.shape) < 0.002
    a[specks] = 255 - a[specks]
    return Image.fromarray(a.astype(np.uint8))


def chinese_page(rng: np.random.Generator) -> Image.Image:
    """A Chinese report page at 200 dpi, heading and body in Micro Hei."""
    img = Image.new("L", (1240, 1400), 250)
    d = ImageDraw.Draw(img)
    d.text((120, 120), CHINESE[0], font=ImageFont.truetype(str(WQY), 52), fill=15)
    y = 250
    body = ImageFont.truetype(str(WQY), 34)
    for para in CHINESE[1:]:
        for k in range(0, len(para), 28):
            d.text((120, y), para[k:k + 28], font=body, fill=30)
            y += 58
        y += 24
    return scanned(img, rng, noise=5, blur=0.5)


def phone_photo(rng: np.random.Generator) -> Image.Image:
    """A page photographed under a lamp: tilted 4 degrees, shaded from one corner, soft."""
    img = Image.new("L", (1200, 1600), 230)
    d = ImageDraw.Draw(img)
    y = 120
    for line in textwrap.wrap(PROSE, 40)[:18]:
        d.text((110, y), line, font=font("DejaVuSans.ttf", 40), fill=35)
        y += 70
    img = img.rotate(4, fillcolor=90, resample=Image.BICUBIC)
    yy, xx = np.mgrid[0:img.height, 0:img.width].astype(np.float32)
    shade = 1.0 - 0.45 * np.hypot(xx / img.width, yy / img.height) / np.sqrt(2)
    a = np.asarray(img, dtype=np.float32) * shade
    return scanned(Image.fromarray(np.clip(a, 0, 255).astype(np.uint8)), rng, noise=7, blur=1.2)


PAGES = {"book-page": book_page, "receipt": receipt, "form": form, "chinese-page": chinese_page,
         "phone-photo": phone_photo}


def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for n, (name, make) in enumerate(PAGES.items()):
        page = make(np.random.default_rng(100 + n))
        # as scanners write them: JPEG for grey pages, PNG for the fax's black and white
        path = out / (f"{name}.png" if name == "form" else f"{name}.jpg")
        page.save(path, **({"optimize": True} if path.suffix == ".png" else {"quality": 80}))
        print(path)


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).parent)
