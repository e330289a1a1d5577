"""Ctrl-C and SIGTERM as exceptions (``stoppable``), so that a run can stop where it is, keep what it has and
clean up: ``model.training.train`` turns either into ``TrainingInterrupted`` with the best weights kept, every
``finally`` and temporary-file cleanup runs as for any other failure, and a file being saved
(``StopState.deferred``) is finished (atomically) rather than abandoned half-way.
"""

import contextlib
import os
import signal
import threading

#: the signals a run stops on, and their names in messages
SIGNALS = {signal.SIGINT: "SIGINT", signal.SIGTERM: "SIGTERM"}


@contextlib.contextmanager
def quiet_early_interrupts(prog, main=True):
    """Around a program's imports (when ``main``, i.e. run as a script): Ctrl-C while its modules load ends in one
    line and status 130, as later, never a ``KeyboardInterrupt`` traceback from inside an import. Afterwards a
    Ctrl-C is a ``KeyboardInterrupt`` the program says in its own words, and the ones after it are ignored.
    This module imports only the standard library: it is in place before anything heavy loads."""

    fired = []

    def interrupted(signum, frame):
        signal.signal(signum, signal.SIG_IGN)  # a second Ctrl-C while this one ends the run changes nothing
        fired.append(signum)
        with contextlib.suppress(OSError):  # stderr closed: the status still says it
            os.write(2, f"{prog}: error: interrupted\n".encode())  # not sys.stderr: it may be mid-write
        raise SystemExit(128 + signum)

    def interrupt_once(signum, frame):
        signal.signal(signum, signal.SIG_IGN)  # a second Ctrl-C while the first is said changes nothing
        raise KeyboardInterrupt

    if main:
        signal.signal(signal.SIGINT, interrupted)
    try:
        yield
    finally:
        if fired:  # whatever an import made of the interruption (NumPy's C import turns it into an ImportError)
            raise SystemExit(128 + fired[0]) from None
    if main:
        signal.signal(signal.SIGINT, interrupt_once)


class Stopped(KeyboardInterrupt):
    """SIGINT or SIGTERM arrived; ``status`` is the exit status a shell reports for it (128 + number)."""

    def __init__(self, signum):
        super().__init__(SIGNALS.get(signum, str(signum)))
        self.name = SIGNALS.get(signum, f"signal {signum}")
        self.status = 128 + int(signum)


class StopState:
    """The last signal received, as its ``Stopped`` (``last``: SIGINT's until one is; its ``name`` and ``status``
    say it), and the switch that defers it."""

    def __init__(self):
        self.last = Stopped(signal.SIGINT)
        self._deferring = 0
        self._pending = None

    def handle(self, signum, frame):
        self.last = Stopped(signum)
        if self._deferring:
            self._pending = signum
            return
        raise self.last

    @contextlib.contextmanager
    def deferred(self):
        """Within the block a signal is noted, not raised; it is raised (``Stopped``) when the block ends."""
        self._deferring += 1
        try:
            yield
        finally:
            self._deferring -= 1
        if not self._deferring and self._pending is not None:
            signum, self._pending = self._pending, None
            raise Stopped(signum)


@contextlib.contextmanager
def stoppable():
    """Within the block, SIGINT and SIGTERM raise ``Stopped``; yields the ``StopState``.

    The previous handlers come back when the block ends. Outside the main thread (where Python cannot set
    handlers) nothing is installed and Ctrl-C stays Python's ``KeyboardInterrupt``.
    """
    state = StopState()
    if threading.current_thread() is not threading.main_thread():
        yield state
        return
    previous = {signum: signal.signal(signum, state.handle) for signum in SIGNALS}
    try:
        yield state
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, signal.SIG_DFL if handler is None else handler)  # None: set outside Python
