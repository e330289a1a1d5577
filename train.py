"""Train a network with hand-derived backprop: ``python train.py --help``.

A thin shell: the options are declared in ``app.train_options`` and carried out by ``app.train_cli``; all
math lives in the library. With no options it trains the handout's network,
``p = sigmoid(relu(X @ w1) @ w2 + b)``, on circles.
"""

import sys

from app.signals import quiet_early_interrupts

with quiet_early_interrupts("train.py", __name__ == "__main__"):  # first: Ctrl-C while these load is one line
    from app.cli import run_main
    from app.train_cli import PROG, USER_ERRORS, run_command
    from app.train_options import build_parser

DESCRIPTION = "Train a network with hand-derived backprop; by default the handout's p = sigmoid(relu(X @ w1) @ w2 + b)."


def main(argv=None):
    return run_main(PROG, build_parser(PROG, DESCRIPTION), run_command, argv, USER_ERRORS)


if __name__ == "__main__":
    sys.exit(main())
