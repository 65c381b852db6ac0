"""Regression tests for what the campaign's bad-input part found: each failed before its fix."""
import errno
import os
import resource
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))

from bad_inputs import flate_bomb_pdf, form_bomb_pdf, no_pages_pdf, page_tree_loop_pdf, tiff_chain  # noqa: E402

from ocrwatchd.daemon import publish as pub  # noqa: E402
from ocrwatchd.daemon.publish import SetFiles, Vanished, publish, roll_forward  # noqa: E402
from ocrwatchd.documents import DocumentOptions, TooManyPages, open_document  # noqa: E402
from ocrwatchd.engine.decode import ImageTooLarge, UnsupportedImage  # noqa: E402


def test_a_tiff_longer_than_the_directory_walk_or_max_pages_is_refused(tmp_path):
    # Before: the walk stopped at 10,000 directories and the file went on as a 10,000-page document.
    (tmp_path / "long.tif").write_bytes(tiff_chain(10_001))
    with pytest.raises(TooManyPages, match="more than 10,000 pages"):
        open_document(tmp_path / "long.tif")
    (tmp_path / "many.tif").write_bytes(tiff_chain(30))
    with pytest.raises(TooManyPages, match="30 pages, above max_pages"):
        open_document(tmp_path / "many.tif", DocumentOptions(max_pages=29))
    with open_document(tmp_path / "many.tif", DocumentOptions(max_pages=30)) as doc:
        assert doc.page_count == 30
    (tmp_path / "loop.tif").write_bytes(tiff_chain(3, loop=True))      # a chain that loops: its pages, once
    with open_document(tmp_path / "loop.tif") as doc:
        assert doc.page_count == 3


@pytest.mark.parametrize("make, what", [(lambda: flate_bomb_pdf(64, 40), "content stream listed 40 times"),
                                        (form_bomb_pdf, "forms drawing forms, 10^7 draws")])
def test_pdf_content_bombs_are_refused_before_pdfium_parses_them(tmp_path, make, what):
    # Before: the first took 3 GB and 25 s, the second never finished (PDFium parses a form at every draw).
    path = tmp_path / "bomb.pdf"
    path.write_bytes(make())
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t0 = time.monotonic()
    with pytest.raises(ImageTooLarge, match="page 1's content"):
        open_document(path)
    assert time.monotonic() - t0 < 10, what
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss0 < 200 << 10, what     # KB: under 200 MB more


def test_a_pdf_drawing_forms_ten_thousand_times_is_still_read(tmp_path):
    path = tmp_path / "forms.pdf"
    path.write_bytes(form_bomb_pdf(depth=4, fan=10))                   # 10^4 draws: 0.7 s, 125 MB in PDFium
    with open_document(path) as doc:
        assert doc.page(0).pixels().image.width > 0


def test_broken_page_trees_are_unsupported_not_internal_errors(tmp_path):
    # Before: the page tree loop raised PdfiumError, which the daemon quarantined as an internal error.
    for name, data in (("loop.pdf", page_tree_loop_pdf()), ("none.pdf", no_pages_pdf())):
        (tmp_path / name).write_bytes(data)
        with pytest.raises(UnsupportedImage):
            open_document(tmp_path / name)


def _set(tmp_path: Path, name: str, files: dict[str, bytes]) -> SetFiles:
    claim = tmp_path / "in" / ".ocrwatchd" / "processing" / "owner" / name
    claim.parent.mkdir(parents=True, exist_ok=True)
    claim.write_bytes(b"original " + os.fsencode(name))
    return SetFiles(tmp_path / "failed", Path(name), files, claim, tmp_path / "failed")


def test_a_255_byte_name_gets_one_shortened_base_for_its_whole_set(tmp_path):
    # Before: NAME.error.json was 262 bytes: ENAMETOOLONG, and the quarantine itself failed.
    name = "n" * 251 + ".png"
    paths = publish(_set(tmp_path, name, {".txt": b"t", ".alto.xml": b"a", ".error.json": b"{}"}), "owner")
    bases = {p.name[: p.name.index("~") + 9] for p in paths.values()}
    assert len(bases) == 1 and all(len(os.fsencode(p.name)) <= 255 for p in paths.values())
    assert paths["original"].read_bytes() == b"original " + os.fsencode(name)
    again = publish(_set(tmp_path, name, {".error.json": b"{}"}), "owner")    # the same name again: -1
    assert again[".error.json"].name.endswith("-1.error.json") and len(os.fsencode(again[".error.json"].name)) <= 255


def test_a_name_that_is_not_utf8_publishes(tmp_path):
    # Before: the manifest (and the staging folder's token) encoded the name as UTF-8 and raised.
    name = os.fsdecode(b"caf\xe9.png")
    paths = publish(_set(tmp_path, name, {".error.json": b"{}"}), "owner")
    assert os.fsencode(paths["original"].name) == b"caf\xe9.png"


def test_an_original_we_may_not_link_is_renamed_into_place_and_brought_back_on_a_name_clash(tmp_path, monkeypatch):
    """Another user's 0600 file: fs.protected_hardlinks refuses link(), and it cannot be read to copy. Before, its
    quarantine failed for ever. Here the name clash forces the set to the next base after the original was placed."""
    real = pub.place

    def place(src, dst):
        if Path(src).name == pub.ORIGINAL:
            raise PermissionError(errno.EACCES, "Permission denied", str(src))
        return real(src, dst)
    monkeypatch.setattr(pub, "place", place)
    job = _set(tmp_path, "scan.png", {".error.json": b"{}"})
    inode = os.lstat(job.original).st_ino
    taken = job.folder / "scan.error.json"
    job.folder.mkdir()
    real_free = pub.free_base
    monkeypatch.setattr(pub, "free_base", lambda m, after=0: real_free(m, after) if after else 0)
    taken.write_bytes(b"someone else's")          # taken after the names were chosen: the marker's link clashes
    paths = publish(job, "owner")
    assert paths["original"].name == "scan-1.png" and os.lstat(paths["original"]).st_ino == inode
    assert taken.read_bytes() == b"someone else's" and not (job.folder / "scan.png").exists()
    assert not list((job.folder / ".ocrwatchd" / "staging").iterdir())


def test_a_failure_while_staging_leaves_nothing_and_a_full_disk_at_start_does_not_stop_the_daemon(tmp_path,
                                                                                               monkeypatch):
    real, real_place = pub.write_new_file, pub.place
    calls = []

    def full(path, data):
        calls.append(path.name)
        if len(calls) == 2:
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        return real(path, data)
    monkeypatch.setattr(pub, "write_new_file", full)
    job = _set(tmp_path, "scan.png", {".txt": b"t", ".error.json": b"{}"})
    with pytest.raises(OSError):
        publish(job, "owner")
    assert not list((job.folder / ".ocrwatchd" / "staging").iterdir()) and job.original.exists()

    # A set named by a process that died, whose commit now finds the disk full: roll_forward (at start, from the
    # janitor) logs and goes on — before, the exception stopped the daemon's start. The set stays named and is
    # finished on a later round.
    monkeypatch.setattr(pub, "write_new_file", real)
    monkeypatch.setattr(pub, "fault_point", lambda step: (_ for _ in ()).throw(SystemExit) if step == "manifest"
                        else None)
    with pytest.raises(SystemExit):
        publish(job, "dead~1~1")
    monkeypatch.setattr(pub, "fault_point", lambda step: None)

    def no_space(src, dst):
        raise OSError(errno.ENOSPC, "No space left on device", str(dst))
    monkeypatch.setattr(pub, "place", no_space)
    assert roll_forward(job.folder, lambda owner: True, "taker~1~1") == 0
    monkeypatch.setattr(pub, "place", real_place)
    assert roll_forward(job.folder, lambda owner: True, "taker~1~1") == 1
    assert (job.folder / "scan.png").read_bytes() == b"original scan.png" and (job.folder / "scan.txt").exists()


def test_a_set_whose_original_vanished_is_dropped_not_left_half(tmp_path):
    job = _set(tmp_path, "gone.png", {".error.json": b"{}"})
    job.original.unlink()
    with pytest.raises(Vanished):
        publish(job, "owner")
    assert not (job.folder / "gone.error.json").exists()
