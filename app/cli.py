"""Shared plumbing for the command-line scripts: one-line errors, no tracebacks for user mistakes."""

import argparse
import sys


class UsageError(Exception):
    """A bad command line; exit status 2."""


class OneLineParser(argparse.ArgumentParser):
    """``argparse`` that reports a bad option as a single line instead of usage + message."""

    def error(self, message):
        raise UsageError(message)


def run_main(prog, parser, run, argv, user_errors, error_status=1):
    """Parse ``argv``, call ``run(args)`` and turn user errors into one stderr line and an exit code.

    Returns ``run``'s exit code, 2 for a bad command line, ``error_status`` for any of
    ``user_errors``. With ``--debug`` on the command line the traceback is shown instead.
    """
    try:
        args = parser.parse_args(argv)
    except UsageError as exc:
        print(f"{prog}: error: {exc} (see {prog} --help)", file=sys.stderr)
        return 2
    try:
        return run(args)
    except user_errors as exc:
        if getattr(args, "debug", False):
            raise
        if isinstance(exc, OSError) and exc.filename and exc.strerror:
            message = f"{exc.filename}: {exc.strerror}"
        else:
            message = " ".join(str(exc).split()) or type(exc).__name__
        print(f"{prog}: error: {message}", file=sys.stderr)
        return 2 if isinstance(exc, UsageError) else error_status
