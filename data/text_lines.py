"""A text file's physical lines, read in blocks: refused early when it is not text, never held whole.

``line_blocks`` reads a file a block of characters at a time and yields its lines (each with its line end),
checking every block for a NUL or a byte that is not UTF-8 before reading the next, and refusing a line longer
than ``MAX_LINE_CHARS``; ``Lines`` hands them out a batch at a time.
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
    done, carry = 0, []  # lines yielded so far; pieces of the unfinished line
    while block := fh.read(BLOCK):
        bad = _NOT_TEXT.search(block) if "\x00" in block or not block.isascii() else None
        if bad is None and "\n" not in block and "\r" not in block:
            carry.append(block)
        else:
            lines = io.StringIO("".join(carry) + block[:bad.start() if bad else None], newline="").readlines()
            if bad is not None:
                if lines and not lines[-1].endswith(("\n", "\r")):
                    lines.pop()  # the start of the bad line
                yield lines
                refuse_binary(path, done + len(lines) + 1, bad.group())
            carry = [lines.pop()] if not lines[-1].endswith("\n") else []  # unfinished, or a CR before an LF
            done += len(lines)
            yield lines
        if sum(map(len, carry)) > MAX_LINE_CHARS:
            raise ValueError(f"{path}: line {done + 1}: longer than {MAX_LINE_CHARS} characters; "
                             f"not a CSV file of numbers")
    if carry:
        yield ["".join(carry)]


def refuse_binary(path, lineno, char):
    what = "a NUL byte" if char == "\x00" else f"byte 0x{ord(char) - 0xDC00:02x}, which is not UTF-8"
    raise ValueError(f"{path}: line {lineno}: not a text CSV file ({what})")


class Lines:
    """The file's physical lines, a batch at a time.

    An error met while reading ahead for a batch is held back until the lines before it are parsed,
    so that errors come in line order.
    """

    def __init__(self, blocks):
        self.blocks, self.buffer, self.pos, self.error = blocks, [], 0, None
        self.consumed = 0  # lines handed out so far
        self.chars_seen, self.lines_seen = 0, 0

    def _read(self):
        if self.error is not None:
            raise self.error
        block = next(self.blocks)  # a ValueError is the file's fault
        self.chars_seen += sum(map(len, block))
        self.lines_seen += len(block)
        return block

    def first_nonblank(self):
        """The first line that is not blank, without consuming anything; None for a blank file."""
        self.buffer, self.pos = self.buffer[self.pos:], 0
        scanned = 0  # the lines before it are blank: each line is looked at once, however many blank ones lead
        while True:
            line = next((line for line in self.buffer[scanned:] if line.strip()), None)
            if line is not None:
                return line
            scanned = len(self.buffer)
            try:
                self.buffer.extend(self._read())
            except StopIteration:
                return None

    def batch(self, chars):
        """The next lines, about ``chars`` characters of them ([] at the end of the file), and whether any
        of them holds a quote."""
        lines, self.buffer, self.pos = self.buffer[self.pos:], [], 0
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
        return lines, '"' in "".join(lines)

    def put_back(self, lines):
        """Hand ``lines`` (the end of the last batch) out again, first in the next batch."""
        self.buffer, self.pos = lines + self.buffer[self.pos:], 0
        self.consumed -= len(lines)
