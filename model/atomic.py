"""Write a file so that readers see the old version or the new one, never half of either.

``atomic_write`` writes a temporary file beside the target (``.{name}.handprop-tmp-XXXXXX{suffix}``, easy
to spot and delete after a SIGKILL: ``rm .*.handprop-tmp-*``), fsyncs it, then ``os.replace``-s it over the
target. On any failure, ``KeyboardInterrupt`` included, the temporary file is removed and the target is
left as it was.
"""

import contextlib
import errno
import os
import stat
import tempfile
from pathlib import Path

TMP_TAG = ".handprop-tmp-"
KINDS = ((stat.S_ISDIR, "directory"), (stat.S_ISFIFO, "FIFO"), (stat.S_ISCHR, "character device"),
         (stat.S_ISBLK, "block device"), (stat.S_ISSOCK, "socket"), (stat.S_ISREG, "regular file"))


def current_umask():
    """The process umask, e.g. ``0o022``: read by setting it, to the restrictive ``0o077`` for that instant."""
    old = os.umask(0o077)
    os.umask(old)
    return old


def describe_kind(mode):
    """A word for a file type from ``st_mode``: 'directory', 'FIFO', 'character device', ..."""
    return next((word for test, word in KINDS if test(mode)), "special file")


def existing_file(path):
    """``os.stat`` of ``path`` (through symlinks) if it is a regular file, None if it does not exist.

    Anything else there (a directory, FIFO, device, socket) is an ``OSError`` naming ``path``: it is
    refused rather than replaced. This is the one test of the target that the output checks share.
    """
    try:
        st = os.stat(path)
    except FileNotFoundError:  # a symlink loop is ELOOP, not this, and is reported
        return None
    if not stat.S_ISREG(st.st_mode):
        raise OSError(errno.EEXIST, f"it is a {describe_kind(st.st_mode)}, not a regular file; refusing to "
                                    "replace it", str(path))
    return st


def atomic_write(path, write, suffix=""):
    """Call ``write(fh)`` on a temporary binary file beside ``path``, then ``os.replace`` it there; return
    ``Path(path)``.

    A symlink is written through (its final target gets the content, the link stays a link); missing
    directories are created. A new file gets ``0o666 & ~umask``, as ``open`` gives it; a replaced file
    keeps its permission bits (setuid/setgid/sticky dropped) and, where the process may, its owner and group.
    An ``OSError`` about the temporary file, the directories or the rename names ``path``, so the user sees
    their own file name; other exceptions of ``write`` pass through unchanged.
    """
    user_path = Path(path)
    target = Path(os.path.realpath(user_path))
    try:
        old = existing_file(target)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name[:100]}{TMP_TAG}", suffix=suffix, dir=target.parent)
    except OSError as exc:
        raise OSError(exc.errno, exc.strerror, str(user_path)) from exc
    try:
        with os.fdopen(fd, "wb") as fh:
            os.fchmod(fd, stat.S_IMODE(old.st_mode) & 0o777 if old else 0o666 & ~current_umask())  # mkstemp: 0600
            if old and hasattr(os, "fchown"):
                with contextlib.suppress(OSError):  # not root, not in the group: keep ours
                    os.fchown(fd, old.st_uid, old.st_gid)
            write(fh)
            fh.flush()
            os.fsync(fd)
        os.replace(tmp, target)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(exc, OSError) and exc.errno is not None and exc.filename in (None, tmp):
            raise OSError(exc.errno, exc.strerror, str(user_path)) from exc
        raise
    return user_path
