"""Write a file so that readers see the old version or the new one, never half of either."""

import os
import tempfile
from pathlib import Path


def atomic_write(path, write, suffix=""):
    """Call ``write(fileobj)`` on a temporary binary file beside ``path``, then ``os.replace`` it.

    The parent directory is created if missing. On any error the temporary file is removed and
    ``path`` is left as it was.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix + ".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    return path
