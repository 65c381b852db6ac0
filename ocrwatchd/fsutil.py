"""Writing files without ever clobbering one: temp file in the same folder, fsync, then a no-replace publish.

Publishing a finished temp file under its name, without replacing anything already there, in this order:
1. link(temp, name): atomic and no-clobber on every POSIX filesystem, NFS included;
2. where hard links are unsupported (vfat, exfat, some FUSE and SMB mounts): renameat2(RENAME_NOREPLACE);
3. where that is unsupported too (CIFS, FUSE without rename2, kernels before 3.15): reserve the name with
   O_CREAT|O_EXCL — only one creator can win it — and rename over our own placeholder. Readers may see an
   empty file for a moment, but nothing is ever replaced.
A check for the name followed by a plain rename is never used: another writer can take the name in between.
"""
from __future__ import annotations

import ctypes
import errno
import hashlib
import os
import secrets
from pathlib import Path

_NO_LINKS = (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EMLINK)
_NO_FLAG = (errno.EINVAL, errno.ENOSYS, errno.ENOTSUP, errno.EOPNOTSUPP)   # RENAME_NOREPLACE not available
_AT_FDCWD = -100
_RENAME_NOREPLACE = 1


def _refuse(path: Path) -> FileExistsError:
    return FileExistsError(errno.EEXIST, "refusing to overwrite", str(path))


def write_new_file(path: Path, data: bytes) -> None:
    """Atomically create `path` with `data`; FileExistsError if the name is taken (nothing is overwritten).

    The temp file lives in the target folder so the final step is a same-filesystem link/rename, and readers
    never see a half-written file.
    """
    path = Path(path)
    fd, tmp = create_temp(path)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        _publish(tmp, path)
        fsync_dir(path.parent)
    finally:
        if os.path.lexists(tmp):
            os.unlink(tmp)


def replace_file(path: Path, data: bytes) -> None:
    """Atomically replace (or create) `path` with `data`: the old file stays whole until the new one is."""
    path = Path(path)
    fd, tmp = create_temp(path)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
        fsync_dir(path.parent)
    finally:
        if os.path.lexists(tmp):
            os.unlink(tmp)


def create_temp(beside: Path) -> tuple[int, Path]:
    """A new, empty temp file in beside's folder, named .NAME.XXXXXXXX.tmp (what the janitor sweeps).

    Created with mode 0666 like any new file, so the kernel applies the umask — or the folder's default ACL,
    which replaces the umask — exactly as for files the user's own tools create there.
    """
    for _ in range(100):
        tmp = beside.parent / f".{beside.name}.{secrets.token_hex(4)}.tmp"
        try:
            return os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o666), tmp
        except FileExistsError:
            continue
    raise FileExistsError(errno.EEXIST, "no free temp file name", str(beside))


def _publish(tmp: Path, path: Path) -> None:
    """Give the finished temp file its name, never replacing one (see the module docstring for the order)."""
    try:
        os.link(tmp, path)
    except OSError as e:
        if e.errno == errno.EEXIST:
            raise _refuse(path) from None
        if e.errno not in _NO_LINKS:
            raise
        _rename_new(tmp, path)


def _rename_new(src: Path, dst: Path) -> None:
    """rename(src, dst), failing with FileExistsError instead of replacing an existing dst."""
    try:
        return _renameat2_noreplace(src, dst)
    except FileExistsError:
        raise _refuse(dst) from None
    except OSError as e:
        if e.errno not in _NO_FLAG:
            raise
    try:
        os.close(os.open(dst, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600))   # our placeholder
    except FileExistsError:
        raise _refuse(dst) from None
    try:
        os.rename(src, dst)
    except BaseException:
        os.unlink(dst)   # still our empty placeholder: the name was ours alone since the O_EXCL create
        raise


def rename_new(src: Path, dst: Path) -> None:
    """Rename src to dst on one filesystem, never replacing an existing dst (FileExistsError): for a file we may
    neither link nor read (protected_hardlinks refuses links to another user's unreadable file)."""
    _rename_new(Path(src), Path(dst))
    fsync_dir(Path(dst).parent)


def _renameat2_noreplace(src: Path, dst: Path) -> None:
    """Linux renameat2(RENAME_NOREPLACE) through libc (glibc >= 2.28); ENOSYS where libc lacks it."""
    fn = getattr(_libc(), "renameat2", None)
    if fn is None:
        raise OSError(errno.ENOSYS, "renameat2 is not available in this C library")
    if fn(_AT_FDCWD, os.fsencode(src), _AT_FDCWD, os.fsencode(dst), _RENAME_NOREPLACE) != 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err), str(src), None, str(dst))


_LIBC = []


def _libc():
    if not _LIBC:
        try:
            _LIBC.append(ctypes.CDLL(None, use_errno=True))
        except OSError:
            _LIBC.append(None)
    return _LIBC[0]


def fsync_dir(folder: Path) -> None:
    """Make a rename/link in `folder` durable."""
    try:
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def move_new(src: Path, dst: Path) -> None:
    """Move src to dst without ever replacing an existing dst (FileExistsError), across filesystems too.

    Same filesystem: link then unlink — the link is the atomic no-clobber step. Across filesystems: copy to a
    temp file beside dst, fsync, link into place, then remove src.
    """
    src, dst = Path(src), Path(dst)
    try:
        os.link(src, dst, follow_symlinks=False)   # a symlink moves as itself, never as what it points to
    except OSError as e:
        if e.errno == errno.EEXIST:
            raise FileExistsError(errno.EEXIST, "refusing to overwrite", str(dst)) from None
        if e.errno == errno.EXDEV:
            copy_new(src, dst)
        elif e.errno in _NO_LINKS:
            _rename_new(src, dst)
            fsync_dir(dst.parent)
            return
        else:
            raise
    fsync_dir(dst.parent)
    os.unlink(src)
    fsync_dir(src.parent)


def place(src: Path, dst: Path) -> None:
    """Give src's content the name dst as well, never replacing an existing dst (FileExistsError); src stays.

    Same filesystem: a hard link (a symlink or FIFO links as itself). Across filesystems, or where the
    filesystem has no hard links: a copy, published the way write_new_file publishes.
    """
    src, dst = Path(src), Path(dst)
    try:
        os.link(src, dst, follow_symlinks=False)
    except OSError as e:
        if e.errno == errno.EEXIST:
            raise _refuse(dst) from None
        if e.errno != errno.EXDEV and e.errno not in _NO_LINKS:
            raise
        copy_new(src, dst)
    fsync_dir(dst.parent)


def copy_new(src: Path, dst: Path) -> None:
    """Copy src to the new name dst (never replacing one: FileExistsError), published whole like
    write_new_file; src stays. A symlink or FIFO is recreated as itself, never opened."""
    import shutil
    import stat

    mode = os.lstat(src).st_mode
    if stat.S_ISLNK(mode) or stat.S_ISFIFO(mode):   # recreate, never open: a FIFO would block, a link would leak
        if os.path.lexists(dst):
            raise FileExistsError(errno.EEXIST, "refusing to overwrite", str(dst))
        os.symlink(os.readlink(src), dst) if stat.S_ISLNK(mode) else os.mkfifo(dst)
        return
    if not stat.S_ISREG(mode):
        raise OSError(errno.EINVAL, "cannot move this kind of file across filesystems", str(src))

    fd, tmp = create_temp(dst)
    try:
        with os.fdopen(fd, "wb") as out, open(src, "rb") as inp:
            shutil.copyfileobj(inp, out, 1 << 20)
            out.flush()
            os.fsync(out.fileno())
        shutil.copystat(src, tmp)
        _publish(tmp, dst)
        fsync_dir(dst.parent)
    finally:
        if os.path.lexists(tmp):
            os.unlink(tmp)


def sha256_file(path: Path) -> str:
    """The file's sha256, read in chunks."""
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()
