"""A text file's physical lines, read in blocks of bytes: refused early when it is not text, never held whole.

``line_blocks`` reads a file (opened ``"rb"``) a block at a time and yields its lines (bytes, each with its
line end), checking every block for a NUL or a byte that is not UTF-8 before reading the next, and refusing
a line longer than ``MAX_LINE_CHARS``; ``Lines`` hands them out a batch at a time. The lines stay bytes:
numpy's parser decodes them itself, as does whatever else reads one (they are UTF-8, checked).
"""

import codecs

#: Longest physical line accepted, in bytes (a guard against binary files without line ends).
MAX_LINE_CHARS = 1 << 24
#: Bytes read at a time; each block is checked before the next one is read, so a file of NUL
#: bytes is refused after one block, however large it is.
BLOCK = 1 << 16


def line_blocks(fh, path):
    """Yield ``(lines, size, quoted)`` for each block read: the file's physical lines that end in it (bytes,
    each with its line end; a UTF-8 byte-order mark dropped), their bytes, and whether any holds a quote.

    Lines split at CR, LF and CRLF, as the csv module and numpy's parser count them. Each block is checked
    for a NUL or a byte that is not UTF-8 before the next is read; the lines before a bad one are yielded
    first, so errors come in line order.
    """
    if fh.peek(3)[:3] == codecs.BOM_UTF8:
        fh.read(3)
    done, carry, pending = 0, [], b""  # lines yielded; pieces of the unfinished line; its unfinished character
    while block := fh.read(BLOCK):
        bad = None
        if pending or b"\x00" in block or not block.isascii():
            bad, byte, pending = not_text(pending, block)
        if bad is None and b"\n" not in block and b"\r" not in block:
            carry.append(block)
        else:
            text = b"".join(carry) + block[:bad]
            lines = text.splitlines(keepends=True)
            if bad is not None:
                yield from _lines_before(path, lines, done, byte)
            carry = [lines.pop()] if not lines[-1].endswith(b"\n") else []  # unfinished, or a CR before an LF
            done += len(lines)
            yield lines, len(text) - len(carry[0] if carry else b""), b'"' in text
        if sum(map(len, carry)) > MAX_LINE_CHARS:
            raise ValueError(f"{path}: line {done + 1}: longer than {MAX_LINE_CHARS} bytes; not a CSV file of numbers")
    if pending:  # the file ends inside a character
        refuse_binary(path, done + 1, pending[0])
    if carry:
        yield [b"".join(carry)], sum(map(len, carry)), True


def _lines_before(path, lines, done, byte):
    """Yield the whole lines of ``lines`` (which end at a bad ``byte``), then refuse the line it is on."""
    if lines and not lines[-1].endswith((b"\n", b"\r")):
        lines.pop()  # the start of the bad line
    yield lines, sum(map(len, lines)), True
    refuse_binary(path, done + len(lines) + 1, byte)


def not_text(pending, block):
    """``(bad, byte, pending)``: where the first NUL or byte that is not UTF-8 cuts ``block`` (None: nowhere; 0
    when it is in ``pending``, the unfinished character the block before ended with), that byte, and the
    unfinished character that ends ``block``, for the next."""
    data, offset = pending + block, len(pending)
    bad, pending = len(data), b""
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.reason == "unexpected end of data":  # a character the next block may finish
            pending = data[exc.start:]
        else:
            bad = exc.start
    nul = data.find(b"\x00", 0, bad)
    bad = nul if nul >= 0 else bad
    return (None, None, pending) if bad == len(data) else (max(bad - offset, 0), data[bad], pending)


def refuse_binary(path, lineno, byte):
    what = "a NUL byte" if byte == 0 else f"byte 0x{byte:02x}, which is not UTF-8"
    raise ValueError(f"{path}: line {lineno}: not a text CSV file ({what})")


class Lines:
    """The file's physical lines, a batch at a time.

    An error met while reading ahead for a batch is held back until the lines before it are parsed,
    so that errors come in line order.
    """

    def __init__(self, blocks):
        self.blocks, self.buffer, self.error = blocks, [], None
        self.consumed = 0  # lines handed out so far
        self.chars_seen, self.lines_seen = 0, 0
        self.quoted = False  # whether a line in the buffer may hold a quote

    def _read(self):
        if self.error is not None:
            raise self.error
        block, size, quoted = next(self.blocks)  # a ValueError is the file's fault
        self.chars_seen += size
        self.lines_seen += len(block)
        self.quoted |= quoted
        return block

    def batch(self, chars):
        """The next lines, about ``chars`` bytes of them ([] at the end of the file), and whether any
        of them holds a quote."""
        lines, self.buffer, self.quoted = self.buffer, [], bool(self.buffer) and self.quoted
        start = self.chars_seen - sum(map(len, lines))
        while self.chars_seen - start < chars and self.error is None:
            try:
                lines.extend(self._read())
            except StopIteration:
                break
            except ValueError as exc:  # a NUL or an overlong line further on: after these lines
                self.error = exc
        if not lines and self.error is not None:
            raise self.error
        self.consumed += len(lines)
        quoted, self.quoted = self.quoted, False
        return lines, quoted

    def put_back(self, lines):
        """Hand ``lines`` (the end of the last batch) out again, first in the next batch."""
        self.buffer = lines + self.buffer
        self.consumed -= len(lines)
        self.quoted = True  # the lines of a record a quote keeps open
