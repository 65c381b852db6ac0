"""fsutil: writing and moving files without ever replacing one, also where hard links are unsupported (vfat,
exfat, some FUSE and SMB mounts), and `detect --overwrite` replacing a file only once the new one is complete."""
import errno
import os
import struct

import pytest

from ocrwatchd import fsutil
from ocrwatchd.cli import _write
from ocrwatchd.fsutil import move_new, write_new_file

REAL_LINK, REAL_RENAME, REAL_REPLACE = os.link, os.rename, os.replace


def no_hard_links(monkeypatch):
    def link(*args, **kwargs):
        raise OSError(errno.EPERM, "Operation not permitted (no hard links here)")
    monkeypatch.setattr(os, "link", link)


def racing_writer(monkeypatch, target, won: list):
    """Another no-clobber writer (O_CREAT|O_EXCL) takes `target` just before our publishing step, whichever
    step that is: os.rename, os.replace or the RENAME_NOREPLACE rename. won gets True if it took the name."""
    def first(real):
        def wrapper(src, dst, *args, **kwargs):
            if os.fspath(dst) == os.fspath(target) and not won:
                try:
                    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL)
                    os.write(fd, b"the other writer's")
                    os.close(fd)
                    won.append(True)
                except FileExistsError:
                    won.append(False)   # the name was already reserved by us: the other writer lost
            return real(src, dst, *args, **kwargs)
        return wrapper
    monkeypatch.setattr(os, "rename", first(REAL_RENAME))
    monkeypatch.setattr(os, "replace", first(REAL_REPLACE))
    if hasattr(fsutil, "_renameat2_noreplace"):
        monkeypatch.setattr(fsutil, "_renameat2_noreplace", first(fsutil._renameat2_noreplace))


def renameat2_unsupported(monkeypatch):
    """As on a filesystem or kernel without RENAME_NOREPLACE (replaces racing_writer's hook on it, if any)."""
    def unsupported(src, dst):
        raise OSError(errno.EINVAL, "RENAME_NOREPLACE not supported by this filesystem")
    monkeypatch.setattr(fsutil, "_renameat2_noreplace", unsupported, raising=False)


@pytest.mark.parametrize("renameat2", [True, False], ids=["renameat2", "placeholder"])
def test_without_hard_links_a_racing_writer_is_never_clobbered(tmp_path, monkeypatch, renameat2):
    no_hard_links(monkeypatch)
    target, won = tmp_path / "r.json", []
    racing_writer(monkeypatch, target, won)
    if not renameat2:
        renameat2_unsupported(monkeypatch)
    try:
        write_new_file(target, b"ours")
        ours = True
    except FileExistsError:
        ours = False
    assert won in ([True], [False])                      # the race really happened
    assert ours != won[0]                                # exactly one writer won the name ...
    assert target.read_bytes() == (b"ours" if ours else b"the other writer's")   # ... and holds it whole
    assert [p.name for p in tmp_path.iterdir()] == ["r.json"]                   # no temp file left


@pytest.mark.parametrize("renameat2", [True, False], ids=["renameat2", "placeholder"])
def test_move_without_hard_links_never_clobbers_a_racing_writer(tmp_path, monkeypatch, renameat2):
    src, dst, won = tmp_path / "claimed.png", tmp_path / "out.png", []
    src.write_bytes(b"scan")
    no_hard_links(monkeypatch)
    racing_writer(monkeypatch, dst, won)
    if not renameat2:
        renameat2_unsupported(monkeypatch)
    try:
        move_new(src, dst)
        ours = True
    except FileExistsError:
        ours = False
    assert won in ([True], [False]) and ours != won[0]
    assert dst.read_bytes() == (b"scan" if ours else b"the other writer's")
    assert src.exists() != ours                          # a lost move leaves the source where it was


@pytest.mark.parametrize("renameat2", [True, False], ids=["renameat2", "placeholder"])
def test_without_hard_links_existing_names_are_refused_and_free_ones_taken(tmp_path, monkeypatch, renameat2):
    no_hard_links(monkeypatch)
    if not renameat2:
        renameat2_unsupported(monkeypatch)
    (tmp_path / "taken.json").write_bytes(b"user's")
    with pytest.raises(FileExistsError):
        write_new_file(tmp_path / "taken.json", b"ours")
    write_new_file(tmp_path / "free.json", b"ours")
    src = tmp_path / "a.png"
    src.write_bytes(b"img")
    with pytest.raises(FileExistsError):
        move_new(src, tmp_path / "taken.json")
    os.symlink("/etc/passwd", tmp_path / "link.png")
    move_new(tmp_path / "link.png", tmp_path / "moved.png")   # a symlink moves as itself
    assert (tmp_path / "taken.json").read_bytes() == b"user's" and (tmp_path / "free.json").read_bytes() == b"ours"
    assert src.read_bytes() == b"img" and os.readlink(tmp_path / "moved.png") == "/etc/passwd"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.png", "free.json", "moved.png", "taken.json"]


def posix_acl(*entries: tuple[int, int]) -> bytes:
    """A system.posix_acl_* xattr value: version 2, then (tag, permissions, id) entries."""
    return struct.pack("<I", 2) + b"".join(struct.pack("<HHI", tag, perm, 0xFFFFFFFF) for tag, perm in entries)


def test_results_get_the_mode_the_kernel_gives_any_new_file_there(tmp_path):
    """With a default ACL on the folder the umask does not apply (the ACL does): a group-writable result folder
    stays group-writable, as it would for a file the user's own tools create there."""
    folder = tmp_path / "shared"
    folder.mkdir()
    try:   # user::rw- group::rw- other::r--
        os.setxattr(folder, "system.posix_acl_default", posix_acl((0x01, 6), (0x04, 6), (0x20, 4)))
    except OSError as e:
        pytest.skip(f"no POSIX ACLs on this filesystem ({e.strerror})")
    old = os.umask(0o077)
    try:
        fd = os.open(folder / "by-another-tool", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        os.close(fd)
        write_new_file(folder / "r.json", b"{}")
        write_new_file(tmp_path / "plain.json", b"{}")
    finally:
        os.umask(old)
    assert (folder / "r.json").stat().st_mode & 0o777 == (folder / "by-another-tool").stat().st_mode & 0o777 == 0o664
    assert (tmp_path / "plain.json").stat().st_mode & 0o777 == 0o600     # no ACL: the umask


def test_overwrite_keeps_the_old_file_until_the_new_one_is_complete(tmp_path, monkeypatch):
    target = tmp_path / "r.json"
    target.write_bytes(b"old result")
    seen = []
    real_fsync = os.fsync

    def fsync(fd):   # the new bytes are all written and being made durable: the old file must still be there
        real_fsync(fd)
        seen.append(target.read_bytes() if target.exists() else None)
    monkeypatch.setattr(os, "fsync", fsync)
    _write(target, b"new result", overwrite=True)
    assert seen and seen[0] == b"old result"
    assert target.read_bytes() == b"new result" and [p.name for p in tmp_path.iterdir()] == ["r.json"]


def test_a_failed_overwrite_leaves_the_old_file(tmp_path, monkeypatch):
    target = tmp_path / "r.json"
    target.write_bytes(b"old result")

    def fsync(fd):
        raise OSError(errno.ENOSPC, "No space left on device")
    monkeypatch.setattr(os, "fsync", fsync)
    with pytest.raises(OSError, match="No space"):
        _write(target, b"new result", overwrite=True)
    assert target.read_bytes() == b"old result" and [p.name for p in tmp_path.iterdir()] == ["r.json"]


def test_renameat2_noreplace_works_here_and_refuses_a_taken_name(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    a.write_bytes(b"a")
    b.write_bytes(b"b")
    with pytest.raises(FileExistsError):
        fsutil._renameat2_noreplace(a, b)
    fsutil._renameat2_noreplace(a, tmp_path / "c")
    assert (tmp_path / "c").read_bytes() == b"a" and b.read_bytes() == b"b" and not a.exists()


def test_a_failed_rename_over_the_placeholder_leaves_no_empty_file(tmp_path, monkeypatch):
    no_hard_links(monkeypatch)
    renameat2_unsupported(monkeypatch)

    def rename(src, dst):
        raise OSError(errno.EIO, "Input/output error")
    monkeypatch.setattr(os, "rename", rename)
    with pytest.raises(OSError, match="Input/output"):
        write_new_file(tmp_path / "r.json", b"ours")
    assert list(tmp_path.iterdir()) == []
