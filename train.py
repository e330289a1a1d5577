"""Train a network with hand-derived backprop: ``python train.py --help``.

A thin shell: the options are declared in ``app.train_options`` and carried out by ``app.train_cli``; all
math lives in the library. With no options it trains the handout's network,
``p = sigmoid(relu(X @ w1) @ w2 + b)``, on circles.
"""

import contextlib
import os
import signal
import sys


def interrupted_early(signum, frame):
    """Ctrl-C before the run's own handlers are in (while the modules load): one line and exit 130, as later."""
    signal.signal(signum, signal.SIG_IGN)  # a second Ctrl-C while this one ends the run changes nothing
    with contextlib.suppress(OSError):  # stderr closed: the status still says it
        os.write(2, b"train.py: error: interrupted\n")  # not sys.stderr: it may be mid-write when the signal comes
    raise SystemExit(128 + signum)


if __name__ == "__main__":
    signal.signal(signal.SIGINT, interrupted_early)

from app.cli import run_main  # noqa: E402 -- after the handler: Ctrl-C while these load ends in one line
from app.train_cli import PROG, USER_ERRORS, run_command  # noqa: E402
from app.train_options import build_parser  # noqa: E402

DESCRIPTION = "Train a network with hand-derived backprop; by default the handout's p = sigmoid(relu(X @ w1) @ w2 + b)."


def main(argv=None):
    return run_main(PROG, build_parser(PROG, DESCRIPTION), run_command, argv, USER_ERRORS)


if __name__ == "__main__":
    sys.exit(main())
