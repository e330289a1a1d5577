"""Shared plumbing for the command-line scripts: one-line errors, no tracebacks, quiet pipes, strict JSON,
and the library's parameter errors said in the words of the command line (``flag_error``).

Exit statuses shared by ``train.py`` and ``gradcheck.py``:

- ``EXIT_USAGE`` (2): a bad command line, or a request that cannot be met (not enough memory);
- ``EXIT_INTERRUPTED`` (130): Ctrl-C, as the shell reports a process ended by SIGINT (128 + 2); an
  interruption that carries a ``status`` of its own (``app.signals.Stopped``: 143 for SIGTERM) ends
  with that one;
- ``EXIT_BROKEN_PIPE`` (141): stdout was closed by its reader (``train.py | head -1``). Standard
  Unix tools are killed by SIGPIPE there, which the shell reports as 128 + 13 = 141; we end
  quietly with that same status instead of dying from a signal (which would also kill a test
  process calling ``main`` in-process).
"""

import argparse
import contextlib
import json
import math
import os
import sys
import traceback

from layers.validation import ParameterError

EXIT_USAGE = 2
EXIT_INTERRUPTED = 130
EXIT_BROKEN_PIPE = 141


class UsageError(Exception):
    """A bad command line; exit status 2."""


class OneLineParser(argparse.ArgumentParser):
    """``argparse`` that reports a bad option as a single line instead of usage + message.

    Options must be spelled out: no abbreviations (``allow_abbrev=False``), so that ``--sav`` is an
    unknown option rather than a ``--save`` that a check on the spelled-out flags would miss.
    """

    def __init__(self, *args, allow_abbrev=False, **kwargs):
        super().__init__(*args, allow_abbrev=allow_abbrev, **kwargs)

    def error(self, message):
        raise UsageError(message)

    def print_help(self, file=None):
        """Write the help; unlike ``argparse``'s, a write error is not hidden, so that ``run_main``
        ends quietly with status 141 when stdout is closed, as for any other output."""
        (file or sys.stdout).write(self.format_help())


def run_main(prog, parser, command, argv, user_errors, error_status=1):
    """Parse ``argv`` (``None``: ``sys.argv[1:]``) with ``parser``, return ``command(args)``, the exit status,
    and turn every way of failing into one line on stderr, ``"{prog}: error: ..."``, and a status.

    The ``user_errors`` (exception types) are the user's to fix: said in one line, status ``error_status``
    (``UsageError`` always gets 2); the other statuses are the module's, above. With ``--debug`` the line
    follows the traceback of what caused it. stdout is flushed before returning, so a closed pipe is noticed
    here and not by the interpreter at exit (then ``_silence_stdout``).
    """
    args = None
    try:
        try:
            args = parser.parse_args(argv)
        except UsageError as exc:
            _say(prog, f"{exc} (see {prog} --help)")
            return EXIT_USAGE
        except SystemExit:  # --help / --version: their text is still buffered
            sys.stdout.flush()
            raise
        status = _call(prog, command, args, user_errors, error_status)
        sys.stdout.flush()
        return status
    except BrokenPipeError:
        _silence_stdout()
        return EXIT_BROKEN_PIPE
    except KeyboardInterrupt as exc:
        status = getattr(exc, "status", EXIT_INTERRUPTED)
        name = "interrupted" if status == EXIT_INTERRUPTED else f"stopped by {getattr(exc, 'name', status)}"
        _fail(prog, args, exc, name)
        return status


def _call(prog, command, args, user_errors, error_status):
    try:
        if not getattr(args, "json", False):
            return command(args)
        args.json_out = sys.stdout  # the one JSON object goes here (print_json); anything else printed, to stderr
        with contextlib.redirect_stdout(sys.stderr):
            return command(args)
    except BrokenPipeError:  # before user_errors: an OSError, but not the user's to fix
        raise
    except MemoryError as exc:
        detail = "" if _one_line(exc) == "MemoryError" else f" ({_one_line(exc)})"
        _fail(prog, args, exc, f"not enough memory for this request{detail}; ask for smaller sizes")
        return EXIT_USAGE
    except user_errors as exc:
        if isinstance(exc, OSError) and exc.filename and exc.strerror:
            message = f"{exc.filename}: {exc.strerror}"
        else:
            message = _one_line(exc)
        _fail(prog, args, exc, message)
        return EXIT_USAGE if isinstance(exc, UsageError) else error_status


def _fail(prog, args, exc, message):
    """``message`` in one line on stderr; with ``--debug``, after the traceback of ``exc``, which it says."""
    if getattr(args, "debug", False):
        with contextlib.suppress(BrokenPipeError, ValueError):
            traceback.print_exception(exc)
    _say(prog, message)


def print_json(args, text):
    """Print the command's one JSON object on stdout, even while ``run_main`` sends every other print (a
    learner's debugging ``print`` in their layer, say) to stderr so that stdout stays one JSON object."""
    print(text, file=getattr(args, "json_out", None) or sys.stdout)


def _one_line(exc):
    return " ".join(str(exc).split()) or type(exc).__name__


def _say(prog, message):
    """One line on stderr; silent if stderr itself is closed (ValueError: stderr already closed)."""
    with contextlib.suppress(BrokenPipeError, ValueError):
        print(f"{prog}: error: {message}", file=sys.stderr, flush=True)


def _silence_stdout():
    """Point stdout's file descriptor at os.devnull so the interpreter's last flush succeeds (the Python
    documentation's recipe for SIGPIPE)."""
    try:
        fd = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):  # replaced by a test's capture object: nothing to do
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, fd)
    finally:
        os.close(devnull)


def strict_json(obj):
    """``(clean, notes)``: a copy of ``obj`` that strict JSON can hold, and what had to change.

    Containers are copied (tuples and arrays become lists), NumPy scalars become Python ones, and every
    non-finite float becomes ``None`` with a note naming where it was (``"rows[3].analytic was NaN, written
    as null"``; the top level is ``"value"``). Anything else is kept for ``json.dumps`` to judge.
    """
    notes = []
    return _clean(obj, "", notes), notes


def _clean(obj, where, notes):
    obj = _plain(obj)
    if isinstance(obj, dict):
        return {_plain(k): _clean(v, f"{where}.{k}" if where else str(k), notes) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_clean(v, f"{where}[{i}]", notes) for i, v in enumerate(obj)]
    if isinstance(obj, float) and not math.isfinite(obj):
        word = "NaN" if math.isnan(obj) else ("Infinity" if obj > 0 else "-Infinity")
        notes.append(f"{where or 'value'} was {word}, written as null")
        return None
    return obj


def _plain(x):
    """NumPy arrays and scalars as Python lists and numbers; anything else unchanged."""
    np = sys.modules.get("numpy")  # not imported: then there are no NumPy objects to convert
    return x.tolist() if np is not None and isinstance(x, (np.ndarray, np.generic)) else x


def dumps_strict(obj, **kwargs):
    """``json.dumps(obj, **kwargs)`` that never writes ``NaN`` or ``Infinity``: ``strict_json`` makes them ``null``,
    and its notes go under a top-level dict's ``"notes"`` (a list: an existing list is extended, a single value
    becomes its first item); at another top level they are dropped (``strict_json`` gives them). ``allow_nan=False``:
    a non-finite number that got through would raise, never be printed.
    """
    clean, notes = strict_json(obj)
    if notes and isinstance(clean, dict):
        old = clean.get("notes", [])
        clean["notes"] = (old if isinstance(old, list) else [old]) + notes
    return json.dumps(clean, allow_nan=False, **kwargs)


def flag_error(exc, flags):
    """A library ``ParameterError`` as the command line says it: ``UsageError(f"{flag} {reason}")``.

    ``flags`` maps the library's parameter names to the command line's flags (``{"p": "--dropout"}``), so
    ``Dropout: p must be in [0, 1), got 1.5`` becomes ``--dropout must be in [0, 1), got 1.5`` (exit 2
    through ``run_main``); a parameter without a flag keeps the library's own words.
    """
    flag = flags.get(exc.param)
    return UsageError(f"{flag} {exc.reason}" if flag else str(exc))


@contextlib.contextmanager
def flag_errors(flags):
    """Within the block, a ``ParameterError`` is re-raised as ``flag_error(exc, flags)``.

    For the steps whose arguments come from the command line (the model, the training settings, the
    data); not around loading a saved model, whose damaged contents are no flag's fault.
    """
    try:
        yield
    except ParameterError as exc:
        raise flag_error(exc, flags) from exc


def parse_widths(text, option="--hidden", like="positive widths like 16,16"):
    """``"16,16"`` -> (16, 16), as ``--hidden`` and ``--input-shape`` take sizes; otherwise a ``UsageError``: ``like``.

    Only the spelling is checked here: the range of a width is the library's rule
    (``model.builders.Architecture`` refuses widths below 1 or above its ``MAX_WIDTH``).
    """
    try:
        return tuple(int(s) for s in str(text).split(","))
    except ValueError:
        raise UsageError(f"{option} wants comma-separated {like}, got {text!r}") from None
