"""Reading an ``.npz`` that may be hostile: nothing is inflated or allocated before it has been checked.

``numpy.load`` trusts the file it opens: it inflates whichever member it is asked for, whatever its
size, and allocates whatever shape a member's header declares. ``NpzReader`` reads the same files
the way NumPy's own safe loading and PyTorch's ``weights_only`` do, one step at a time:

1. the path must be a regular file, checked before it is opened and again on the open descriptor
   (opened without blocking, so a FIFO cannot hang the reader);
2. the zip's central directory lists the members, the first at the file's first byte (as ``numpy.load``
   wants); nothing is inflated. ``names`` are the member names without ``.npy``; the caller reads only the
   ones its format defines;
3. ``header(name, kinds)`` refuses an encrypted member or a compression other than stored or
   deflated, reads only the ``.npy`` header (``numpy.lib.format``: magic, version 1.0 or 2.0, at
   most 10,000 characters), refuses a dtype whose kind is not one of ``kinds`` (never an object),
   and checks that the member's declared size is exactly header + data;
4. ``read(name, header, into)`` fills ``into`` (or a new array) in chunks, no copy on the way; the zip's
   CRC is checked when the member ends.

Every refusal is a ``ValueError`` with the reason on one line; a missing or unreadable file is the
OS's own ``OSError``.
"""

import contextlib
import errno
import math
import os
import stat
import struct
import warnings
import zipfile
from typing import NamedTuple

import numpy as np
from numpy.lib import format as npy_format

from .atomic import describe_kind

#: dtype kinds: numbers (float, signed, unsigned, bool) and unicode text
NUMERIC, TEXT = "fiub", "U"
#: the compressions ``numpy.savez`` (stored) and ``numpy.savez_compressed`` (deflated) write
COMPRESSIONS = {zipfile.ZIP_STORED: "stored", zipfile.ZIP_DEFLATED: "deflated"}
#: the ``.npy`` header versions read, and their readers
HEADER_READERS = {(1, 0): npy_format.read_array_header_1_0, (2, 0): npy_format.read_array_header_2_0}
_KIND_NAMES = {"f": "float", "i": "int", "u": "unsigned", "b": "bool", "U": "text"}
_ENCRYPTED = 0x1  # bit 0 of a zip member's general purpose flags
_CHUNK = 1 << 20  # bytes inflated at a time while filling an array


class Header(NamedTuple):
    """What a member's ``.npy`` header declares: ``shape``, ``dtype``, ``fortran_order``, and ``offset``,
    the number of bytes before the data."""

    shape: tuple
    dtype: np.dtype
    fortran_order: bool
    offset: int


def one_line(text, limit=200):
    """``text`` on one line, at most ``limit`` characters: a reason fit for a one-line error."""
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[:limit - 3] + "..."


@contextlib.contextmanager
def refused_as_damaged(what):
    """Turn what the zip and ``.npy`` parsers raise on a damaged file into one ``ValueError``."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # e.g. NumPy's warning about a Python 2 header: not ours
            yield
    except (ValueError, zipfile.BadZipFile, EOFError, struct.error, NotImplementedError, RuntimeError,
            OverflowError, SyntaxError, RecursionError, TypeError, Warning) as exc:
        raise ValueError(f"{what}: {one_line(exc) or type(exc).__name__}") from None
    except OSError as exc:
        if exc.errno not in (None, errno.EINVAL):  # a real I/O error: the OS's own words
            raise
        raise ValueError(f"{what}: {one_line(exc)}") from None


def open_regular_file(path):
    """``path`` opened for binary reading, refusing anything but a regular file (``ValueError``).

    A FIFO would block the reader until a writer came, a device could be endless, a directory or a
    socket holds no data: each is refused from ``stat`` before any open, and the open itself does not
    block, so a path swapped for a FIFO in between is refused from the descriptor's ``fstat``.
    """
    kind = os.stat(path).st_mode  # a missing file: the OS's own FileNotFoundError
    if not stat.S_ISREG(kind):
        raise ValueError(f"it is a {describe_kind(kind)}, not a regular file")
    nonblocking = getattr(os, "O_NONBLOCK", 0)
    fd = os.open(path, os.O_RDONLY | nonblocking | getattr(os, "O_BINARY", 0))
    try:
        kind = os.fstat(fd).st_mode
        if not stat.S_ISREG(kind):
            raise ValueError(f"it is a {describe_kind(kind)}, not a regular file")
        if nonblocking:
            os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


class NpzReader:
    """An ``.npz`` open for defensive reading; use it as a context manager.

    Attributes
    ----------
    names : frozenset of str
        The members, named as ``numpy.savez`` names them (without ``.npy``), read from the central
        directory only. A name that appears twice is refused.
    """

    def __init__(self, path):
        self._file = open_regular_file(path)
        try:
            with refused_as_damaged("not a zip archive (an .npz written by save)"):
                self._zip = zipfile.ZipFile(self._file)
            self._members = {}
            for info in self._zip.infolist():
                name = info.filename[:-4] if info.filename.endswith(".npy") else info.filename
                if name in self._members:
                    raise ValueError(f"the archive holds the member {one_line(repr(name), 80)} twice")
                self._members[name] = info
            first = min((info.header_offset for info in self._members.values()), default=0)
            if first:  # the zip module finds an archive after any prefix; numpy.load does not
                raise ValueError(f"{first:,} bytes stand before the archive's first member")
        except BaseException:
            self.close()
            raise
        self.names = frozenset(self._members)

    def close(self):
        with contextlib.suppress(AttributeError):
            self._zip.close()
        self._file.close()

    def __enter__(self):
        return self

    def __exit__(self, *_exception):
        self.close()

    def _entry(self, name):
        """The zip entry of member ``name``, checked from the central directory: nothing inflated yet."""
        info = self._members[name]
        if info.flag_bits & _ENCRYPTED:
            raise ValueError(f"member {name!r} is encrypted")
        if info.compress_type not in COMPRESSIONS:
            raise ValueError(f"member {name!r} uses compression method {info.compress_type}; "
                             f"only {' and '.join(COMPRESSIONS.values())} members are read")
        return info

    def header(self, name, kinds):
        """The ``.npy`` header of member ``name``, checked: a dtype of one of ``kinds``, no object, no
        record or sub-array, and a declared member size of exactly header + data."""
        entry = self._entry(name)
        with refused_as_damaged(f"member {name!r} is not a readable .npy array"), self._zip.open(entry) as member:
            version = npy_format.read_magic(member)
            if version not in HEADER_READERS:
                raise ValueError(f".npy version {version[0]}.{version[1]} (this reader takes 1.0 and 2.0)")
            shape, fortran_order, dtype = HEADER_READERS[version](member)
            offset = member.tell()
        if dtype.kind not in kinds or dtype.hasobject or dtype.fields is not None or dtype.subdtype is not None:
            allowed = " or ".join(_KIND_NAMES[k] for k in kinds)
            raise ValueError(f"member {name!r} has dtype {one_line(dtype, 60)}; only {allowed} is allowed there")
        if any(d < 0 for d in shape):
            raise ValueError(f"member {name!r} declares the shape {shape}")
        size = offset + math.prod(shape) * dtype.itemsize
        if entry.file_size != size:
            raise ValueError(f"member {name!r} declares {entry.file_size} bytes, its header says {size} "
                             f"({offset} of header, shape {tuple(shape)} of {dtype})")
        return Header(tuple(shape), dtype, fortran_order, offset)

    def read(self, name, header, into=None):
        """The array of member ``name`` as ``header`` (from ``self.header``) describes it, read in chunks:
        into the array ``into`` itself when it has the header's shape and dtype (C order), else a new one."""
        shape = header.shape[::-1] if header.fortran_order else header.shape
        fits = (into is not None and not header.fortran_order
                and (into.shape, into.dtype, into.flags.c_contiguous) == (shape, header.dtype, True))
        array = into if fits else np.empty(shape, dtype=header.dtype)
        target = memoryview(array.reshape(-1).view(np.uint8))
        entry = self._entry(name)
        with refused_as_damaged(f"member {name!r} is damaged"), self._zip.open(entry) as member:
            member.read(header.offset)
            filled = 0
            while filled < len(target):
                chunk = member.read(min(_CHUNK, len(target) - filled))
                if not chunk:
                    raise ValueError(f"it ends after {filled} of its {len(target)} bytes of data")
                target[filled:filled + len(chunk)] = chunk
                filled += len(chunk)
            if member.read(1):  # also where the zip's CRC-32 is checked
                raise ValueError("it holds more data than its header says")
        return array.T if header.fortran_order else array
