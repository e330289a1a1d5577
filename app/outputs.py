"""Check every output path before any work, so a long run never ends in a refused or harmful write.

``check_outputs`` is called once, right after the command line is parsed. It refuses (with a
``UsageError``: one line, exit status 2) what ``model.atomic.atomic_write`` would refuse or do
harm with later: an output that is an input or another output, an existing target that is not a
regular file, a directory that cannot be written, a wrong extension. It creates nothing.
"""

import os
import stat
import tempfile
from pathlib import Path

from app.cli import UsageError
from model.atomic import describe_kind


def check_outputs(outputs, inputs=()):
    """Refuse output paths that would fail or destroy something, before any work is done.

    Parameters
    ----------
    outputs : list of (str, path or None, tuple of str or None)
        ``(option, path, allowed_suffixes)``, e.g. ``[("--save", "runs/model.npz", (".npz",)),
        ("--history", "h.csv", (".csv", ".json"))]``. A ``None`` path (option not given) is skipped;
        ``None`` suffixes allow any name. Suffixes are matched case-sensitively, as the writers do.
    inputs : list of (str, path or None), optional
        ``(option, path)`` of files the run reads, e.g. ``[("--data", "d.csv")]``.

    Returns
    -------
    dict of str to pathlib.Path or None
        ``{option: Path(path)}`` for every output, the user's path as given (not resolved); ``None``
        for an output whose path is ``None``.

    Raises
    ------
    app.cli.UsageError
        One line naming the option and the user's path, for the first of: a wrong extension; an
        existing target that is not a regular file (a symlink to a regular file is fine: it is
        written through); a parent that is not a directory or cannot be written (checked on the
        nearest existing ancestor, since missing directories are created; a read-only file system
        counts, which also holds for root); the same file as an input or an earlier output
        (compared by resolved real path, and by device and inode for existing files, so symlinks
        and hard links count).
    """
    inputs = [(opt, p) for opt, p in inputs if p is not None]
    seen = [(opt, p, _identity(p)) for opt, p in inputs]
    result = {}
    for option, path, suffixes in outputs:
        if path is None:
            result[option] = None
            continue
        where = f"{option} {path}"
        _check_name(where, path, suffixes)
        _check_target(where, path)
        _check_directory(where, path)
        ident = _identity(path)
        for other_option, other_path, other_ident in seen:
            if _same(ident, other_ident):
                role = "an input" if (other_option, other_path) in inputs else "another output"
                raise UsageError(f"{where} is the same file as {other_option} {other_path}; "
                                 f"refusing to overwrite {role}: give a different path")
        seen.append((option, path, ident))
        result[option] = Path(path)
    return result


def _check_name(where, path, suffixes):
    text = os.fspath(path)
    if not text or text.endswith(("/", os.sep)) or Path(text).name in ("", ".", ".."):
        raise UsageError(f"{where}: needs a file name, not a directory")
    if suffixes and not text.endswith(tuple(suffixes)):
        allowed = " or ".join(suffixes)
        raise UsageError(f"{where}: the file name must end in {allowed}")


def _check_target(where, path):
    """An existing target (followed through symlinks) must be a regular file."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return  # a new file, or a dangling symlink whose target will be created
    except NotADirectoryError:
        raise UsageError(f"{where}: a parent in the path is a file, not a directory") from None
    except OSError as exc:  # permission denied on the way, a symlink loop, ...
        raise UsageError(f"{where}: cannot be written: {exc.strerror}") from None
    if not stat.S_ISREG(st.st_mode):
        raise UsageError(f"{where}: exists and is a {describe_kind(st.st_mode)}, not a regular file; "
                         "refusing to replace it")


def _check_directory(where, path):
    """The directory the file will be created in, or its nearest existing ancestor, must be writable."""
    parent = Path(os.path.realpath(path)).parent
    while not os.path.lexists(parent):
        parent = parent.parent
    if not parent.is_dir():
        raise UsageError(f"{where}: {parent} is a file, not a directory")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise UsageError(f"{where}: the directory {parent} is not writable")
    if _read_only_fs(parent):
        raise UsageError(f"{where}: the directory {parent} is on a read-only file system")
    try:  # the only sure test (/proc and /sys look writable to root): make a file there, which vanishes again
        with tempfile.TemporaryFile(dir=parent):
            pass
    except OSError as exc:
        raise UsageError(f"{where}: no file can be created in {parent} ({exc.strerror})") from None


def _read_only_fs(directory):
    try:
        return bool(os.statvfs(directory).f_flag & os.ST_RDONLY)
    except (OSError, AttributeError):  # no statvfs (Windows): os.access has answered
        return False


def _identity(path):
    """``(real path, (device, inode) or None)``: what two names of one file have in common."""
    real = os.path.realpath(path)
    try:
        st = os.stat(path)
        return real, (st.st_dev, st.st_ino)
    except OSError:
        return real, None


def _same(a, b):
    return a[0] == b[0] or (a[1] is not None and a[1] == b[1])
