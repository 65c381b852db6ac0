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
