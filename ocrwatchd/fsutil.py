"""Writing files without ever clobbering one: temp file in the same folder, fsync, then a no-replace publish."""
from __future__ import annotations

import errno
import os
import tempfile
from pathlib import Path


def write_new_file(path: Path, data: bytes) -> None:
    """Atomically create `path` with `data`; FileExistsError if the name is taken (nothing is overwritten).

    The temp file lives in the target folder so the final step is a same-filesystem link/rename, and readers
    never see a half-written file. os.link fails on an existing name, which makes the publish no-clobber;
    filesystems without hard links fall back to an existence check plus rename.
    """
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, 0o666 & ~current_umask())   # mkstemp makes 0600; results are for others to read too
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        try:
            os.link(tmp, path)
        except OSError as e:
            if e.errno == errno.EEXIST:
                raise FileExistsError(errno.EEXIST, "refusing to overwrite", str(path)) from None
            if e.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV, errno.EMLINK):
                raise
            if path.exists():
                raise FileExistsError(errno.EEXIST, "refusing to overwrite", str(path)) from None
            os.rename(tmp, path)
        fsync_dir(path.parent)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def current_umask() -> int:
    """The process umask, read without changing it (os.umask would race with other threads)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except OSError:
        pass
    return 0o022


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
            _copy_new(src, dst)
        elif e.errno in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EMLINK):
            if dst.exists():
                raise FileExistsError(errno.EEXIST, "refusing to overwrite", str(dst)) from None
            os.rename(src, dst)
            fsync_dir(dst.parent)
            return
        else:
            raise
    fsync_dir(dst.parent)
    os.unlink(src)
    fsync_dir(src.parent)


def _copy_new(src: Path, dst: Path) -> None:
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

    fd, tmp = tempfile.mkstemp(prefix=f".{dst.name}.", suffix=".tmp", dir=dst.parent)
    try:
        with os.fdopen(fd, "wb") as out, open(src, "rb") as inp:
            shutil.copyfileobj(inp, out, 1 << 20)
            out.flush()
            os.fsync(out.fileno())
        shutil.copystat(src, tmp)
        os.link(tmp, dst)
    except FileExistsError:
        raise FileExistsError(errno.EEXIST, "refusing to overwrite", str(dst)) from None
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
