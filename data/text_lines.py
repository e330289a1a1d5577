"""A text file's physical lines, read in blocks: refused early when it is not text, never held whole.

``line_blocks`` reads a file a block of characters at a time and yields its lines (each with its line end),
checking every block for a NUL or a byte that is not UTF-8 before reading the next, and refusing a line longer
than ``MAX_LINE_CHARS``; ``Lines`` hands them out one at a time (to the ``csv`` module) or a batch at a time.
"""

import io
import re

#: Longest physical line accepted, in characters (a guard against binary files without line ends).
MAX_LINE_CHARS = 1 << 24
#: Characters read at a time; each block is checked before the next one is read, so a file of NUL
#: bytes is refused after one block, however large it is.
BLOCK = 1 << 16
#: A NUL, or a byte that is not UTF-8 (decoded with ``surrogateescape`` to U+DC80..U+DCFF).
_NOT_TEXT = re.compile("[\x00\udc80-\udcff]")


def line_blocks(fh, path):
    """Yield lists of the file's physical lines (each with its line end), one list per block read.

    Lines split as ``open(newline="")`` splits them (at CR, LF and CRLF) and as the csv module counts
    them. Each block is checked for a NUL or an undecodable byte before the next is read; the lines
    before a bad one are yielded first, so errors come in line order.
    """
    done, carry, carry_len = 0, [], 0  # lines yielded so far; pieces of the unfinished line
    while True:
        block = fh.read(BLOCK)
        if not block:
            if carry_len:
                yield ["".join(carry)]
            return
        if "\x00" in block or (not block.isascii() and _NOT_TEXT.search(block)):
            bad = _NOT_TEXT.search(block)
            lines = split_lines("".join(carry) + block[: bad.start()])
            if lines and not lines[-1].endswith(("\n", "\r")):  # the start of the bad line
                lines.pop()
            yield lines
            refuse_binary(path, done + len(lines) + 1, bad.group())
        if "\n" not in block and "\r" not in block:
            carry.append(block)
            carry_len += len(block)
        else:
            lines = split_lines("".join(carry) + block if carry_len else block)
            tail = lines.pop() if not lines[-1].endswith("\n") else ""  # unfinished, or a CR before an LF
            carry, carry_len = [tail], len(tail)
            done += len(lines)
            yield lines
        if carry_len > MAX_LINE_CHARS:
            raise ValueError(f"{path}: line {done + 1}: longer than {MAX_LINE_CHARS} characters; "
                             f"not a CSV file of numbers")


def split_lines(text):
    lines = LineList(io.StringIO(text, newline="").readlines())
    lines.quoted = '"' in text
    return lines


class LineList(list):
    """Physical lines, and whether the text they came from holds a quote (``quoted``)."""

    quoted = False


def refuse_binary(path, lineno, char):
    what = "a NUL byte" if char == "\x00" else f"byte 0x{ord(char) - 0xDC00:02x}, which is not UTF-8"
    raise ValueError(f"{path}: line {lineno}: not a text CSV file ({what})")


class Lines:
    """The file's physical lines, one at a time (for the csv module) or a batch at a time.

    An error met while reading ahead for a batch is held back until the lines before it are parsed,
    so that errors come in line order.
    """

    def __init__(self, blocks):
        self.blocks, self.buffer, self.pos, self.error, self.quoted = blocks, [], 0, None, False
        self.consumed = 0  # lines handed out so far
        self.chars_seen, self.lines_seen = 0, 0

    def __iter__(self):
        return self

    def __next__(self):
        while self.pos >= len(self.buffer):
            self._fill()
        line = self.buffer[self.pos]
        self.pos += 1
        self.consumed += 1
        return line

    def _fill(self):
        if self.error is not None:
            raise self.error
        block = next(self.blocks)  # StopIteration ends the lines; a ValueError is the file's fault
        self.buffer, self.pos = block, 0
        self.chars_seen += sum(map(len, block))
        self.lines_seen += len(block)

    def first_nonblank(self):
        """The first line that is not blank, without consuming anything; None for a blank file."""
        i = self.pos
        while True:
            while i < len(self.buffer):
                if self.buffer[i].strip():
                    return self.buffer[i]
                i += 1
            try:
                block = next(self.blocks)
            except StopIteration:
                return None
            self.buffer = self.buffer[self.pos:] + block
            i -= self.pos
            self.pos = 0
            self.chars_seen += sum(map(len, block))
            self.lines_seen += len(block)

    def mean_chars(self):
        return self.chars_seen / max(self.lines_seen, 1)

    def batch(self, chars):
        """The next lines, about ``chars`` characters of them; [] at the end of the file.

        ``quoted`` then says whether any of them may hold a quote.
        """
        lines = self.buffer[self.pos:]
        self.quoted = any('"' in line for line in lines)
        self.buffer, self.pos = [], 0
        size = sum(map(len, lines))
        while size < chars and self.error is None:
            try:
                block = next(self.blocks)
            except StopIteration:
                break
            except ValueError as exc:  # a NUL or an overlong line further on: after these lines
                self.error = exc
                break
            block_chars = sum(map(len, block))
            self.quoted = self.quoted or getattr(block, "quoted", True)
            lines.extend(block)
            size += block_chars
            self.chars_seen += block_chars
            self.lines_seen += len(block)
        if not lines and self.error is not None:
            raise self.error
        self.consumed += len(lines)
        return lines
