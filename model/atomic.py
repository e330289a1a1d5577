"""Write a file so that readers see the old version or the new one, never half of either.

``atomic_write`` writes a temporary file beside the target, flushes and fsyncs it, gives it the
right permissions, then ``os.replace``-s it over the target. The temporary file is named
``.{name}.handprop-tmp-XXXXXX{suffix}`` (``XXXXXX`` random), so a leftover from a killed process
is easy to recognise and delete (``rm .*.handprop-tmp-*``); on every failure this function can see
(any exception, including ``KeyboardInterrupt``) it is removed.
"""

import contextlib
import errno
import os
import stat
import tempfile
from pathlib import Path

TMP_TAG = ".handprop-tmp-"
_NAME_KEEP = 100  # characters of the target's name kept in the temporary name (NAME_MAX is 255)


def current_umask():
    """The process umask, e.g. ``0o022``.

    On Linux it is read from ``/proc/self/status`` without touching it. Elsewhere it can only be
    read by setting it: ``os.umask`` is called twice, first with the restrictive ``0o077`` so
    that a file another thread creates in that instant is at worst too private, never too open.
    It is read on every call (not cached at import) so a umask changed later is honoured.
    """
    try:
        with open("/proc/self/status", encoding="ascii", errors="replace") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    old = os.umask(0o077)
    os.umask(old)
    return old


def atomic_write(path, write, suffix=""):
    """Call ``write(fh)`` on a temporary binary file beside ``path``, then ``os.replace`` it there.

    Parameters
    ----------
    path : str or os.PathLike
        The file to create or replace. A symlink is written through: its final target gets the
        new content and the link stays a link. Missing parent directories are created.
    write : callable
        ``write(fh)`` writes the content into ``fh``, a binary file object opened for writing.
    suffix : str, optional
        Appended to the temporary file's name (``.{name}.handprop-tmp-XXXXXX{suffix}``).

    Returns
    -------
    pathlib.Path
        ``path`` as given (not resolved).

    Notes
    -----
    Permissions: a new file gets ``0o666 & ~umask`` (0644 under umask 022), like ``open``; a file
    that is replaced keeps its permission bits (setuid/setgid/sticky are dropped) and, where the
    process may, its owner and group. An existing target that is not a regular file (directory,
    FIFO, device, socket) is refused rather than replaced.

    Errors: on any exception (``BaseException``) the temporary file is removed and ``path`` is left
    as it was. An ``OSError`` about the temporary file or the directories (e.g. permission denied)
    is re-raised naming ``path``, so the user sees their own file name; exceptions raised by
    ``write`` about other files, or without an errno, pass through unchanged.
    """
    user_path = Path(path)
    target = Path(os.path.realpath(user_path))
    try:
        mode, owner = _existing(target, user_path)
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        _raise_naming(exc, user_path, lambda name: True)
        raise
    if mode is None:
        mode = 0o666 & ~current_umask()
    prefix = f".{target.name[:_NAME_KEEP]}{TMP_TAG}"

    def ours(name):  # the temporary file (whatever random name mkstemp tried), the target, its directory
        return name in (str(target), str(target.parent)) or (
            os.path.dirname(name) == str(target.parent) and os.path.basename(name).startswith(prefix))

    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(prefix=prefix, suffix=suffix, dir=target.parent)
        with os.fdopen(fd, "wb") as fh:
            os.fchmod(fh.fileno(), mode)  # mkstemp made it 0600
            _chown_like(fh.fileno(), owner)
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException as exc:
        if tmp is not None:
            _remove(tmp)
        if isinstance(exc, OSError):
            _raise_naming(exc, user_path, ours)
        raise
    return user_path


def _existing(target, user_path):
    """``(mode, (uid, gid))`` of an existing regular ``target``, ``(None, None)`` if it is missing."""
    try:
        st = os.stat(target)
    except FileNotFoundError:  # a symlink loop is ELOOP, not this, and is reported
        return None, None
    if not stat.S_ISREG(st.st_mode):
        raise OSError(errno.EEXIST, f"exists and is not a regular file ({describe_kind(st.st_mode)}); "
                      "refusing to replace it", str(user_path))
    return stat.S_IMODE(st.st_mode) & 0o777, (st.st_uid, st.st_gid)


def describe_kind(mode):
    """A word for a file type from ``st_mode``: 'directory', 'FIFO', 'character device', ..."""
    kinds = ((stat.S_ISDIR, "directory"), (stat.S_ISFIFO, "FIFO"), (stat.S_ISCHR, "character device"),
             (stat.S_ISBLK, "block device"), (stat.S_ISSOCK, "socket"), (stat.S_ISLNK, "symlink"),
             (stat.S_ISREG, "regular file"))
    return next((word for test, word in kinds if test(mode)), "special file")


def _chown_like(fd, owner):
    """Give the new file the replaced file's owner and group where allowed (best effort)."""
    if owner is None or not hasattr(os, "fchown"):
        return
    st = os.fstat(fd)
    if (st.st_uid, st.st_gid) != owner:
        with contextlib.suppress(OSError):  # not allowed (not root, not a member of the group): keep ours
            os.fchown(fd, *owner)


def _remove(tmp):
    with contextlib.suppress(OSError):
        os.unlink(tmp)


def _raise_naming(exc, user_path, ours):
    """Re-raise ``exc`` as an ``OSError`` naming ``user_path`` if it names nothing or what ``ours`` accepts.

    Returns (so the caller re-raises ``exc`` unchanged) when it has no errno, already names
    ``user_path``, or names a file of the caller's own ``write``.
    """
    if exc.errno is None:
        return
    if exc.filename is not None and (str(exc.filename) == str(user_path) or not ours(str(exc.filename))):
        return
    raise OSError(exc.errno, exc.strerror, str(user_path)) from exc
