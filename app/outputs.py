"""Check every output path before any work, so a long run never ends in a refused or harmful write: ``check_outputs``,
called once, right after the command line is parsed, refuses (a ``UsageError``: one line, exit status 2) what
``model.atomic.atomic_write`` would refuse or do harm with later. It creates nothing.
"""

import os
import tempfile
from pathlib import Path

from app.cli import UsageError
from model.atomic import existing_file


def check_outputs(outputs, inputs=()):
    """``{option: Path(path) or None}`` for ``outputs``, each a ``(option, path or None, allowed suffixes or
    None)``, after refusing the first that would fail or destroy something.

    ``inputs`` are the ``(option, path or None)`` the run reads. Refused, in this order, with one line naming
    the option and the user's path: a wrong extension (matched case-sensitively, as the writers do) or no
    file name; an existing target that is not a regular file (a symlink to one is written through); a
    directory (or its nearest existing ancestor, as missing ones are created) where no file can be made;
    the same file as an input or an earlier output (by real path, and by device and inode for existing
    files, so symlinks and hard links count).
    """
    seen = [(opt, p, "an input", _identity(p)) for opt, p in inputs if p is not None]
    result = {}
    for option, path, suffixes in outputs:
        result[option] = None if path is None else Path(path)
        if path is None:
            continue
        where = f"{option} {path}"
        _check_name(where, path, suffixes)
        _check_target(where, path)
        _check_directory(where, path)
        ident = _identity(path)
        for other_option, other_path, role, other_ident in seen:
            if ident[0] == other_ident[0] or (ident[1] is not None and ident[1] == other_ident[1]):
                raise UsageError(f"{where} is the same file as {other_option} {other_path}; "
                                 f"refusing to overwrite {role}: give a different path")
        seen.append((option, path, "another output", ident))
    return result


def _check_name(where, path, suffixes):
    text = os.fspath(path)
    if not text or text.endswith(("/", os.sep)) or Path(text).name in ("", ".", ".."):
        raise UsageError(f"{where}: needs a file name, not a directory")
    if suffixes and not text.endswith(tuple(suffixes)):
        raise UsageError(f"{where}: the file name must end in {' or '.join(suffixes)}")


def _check_target(where, path):
    """An existing target (followed through symlinks) must be a regular file: ``existing_file``'s rule."""
    try:
        existing_file(path)
    except NotADirectoryError:
        raise UsageError(f"{where}: a parent in the path is a file, not a directory") from None
    except OSError as exc:  # not a regular file, permission denied on the way, a symlink loop, ...
        raise UsageError(f"{where}: cannot be written: {exc.strerror}") from None


def _check_directory(where, path):
    """A file can be made in the directory, or in its nearest existing ancestor (missing ones are created).

    A file made there and gone again is the only sure test: a read-only file system, or /proc, whose mode
    bits say writable to root, takes none, and no guess about permissions is needed.
    """
    parent = Path(os.path.realpath(path)).parent
    while not os.path.lexists(parent):
        parent = parent.parent
    try:
        with tempfile.TemporaryFile(dir=parent):
            pass
    except OSError as exc:
        raise UsageError(f"{where}: no file can be created in {parent} ({exc.strerror})") from None


def _identity(path):
    """``(real path, (device, inode) or None)``: what two names of one file have in common."""
    try:
        st = os.stat(path)
        return os.path.realpath(path), (st.st_dev, st.st_ino)
    except OSError:
        return os.path.realpath(path), None
