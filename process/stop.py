"""Stopping a run politely on Ctrl-C (SIGINT), SIGTERM, SIGHUP, SIGXCPU, SIGUSR1 or SIGUSR2, so its
outputs are saved and whole.

While a StopRequest is installed (main thread only), the first of these signals only sets
`requested`: the frame loop finishes the current frame and stops, and the caller saves a
checkpoint that holds a whole frame, the profile and the summary, then exits 0. A second signal
raises KeyboardInterrupt (stop at once, mid-frame; the last periodic checkpoint is kept). Inside
`shield()` (while any output is written, periodic or final) every signal is only noted, so
saving is never cut short. SIGHUP (the terminal closed) counts like SIGTERM, unless it was ignored
when the run started (`nohup`): then it stays ignored; so do SIGXCPU, SIGUSR1 and SIGUSR2.
"""
from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator

#: signals that ask a run to end: Ctrl-C, kill's default, a closed terminal, the CPU-time limit's first
#: warning (ulimit -t: SIGKILL follows at the hard limit) and the two user signals, whose default would
#: end the run without saving (SIGQUIT, Ctrl-\, keeps its meaning: quit at once)
SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGXCPU, signal.SIGUSR1, signal.SIGUSR2)


class StopRequest:
    def __init__(self) -> None:
        self.requested = False
        self.signal_name: str | None = None  # the first signal received, e.g. "SIGTERM"
        self._shielded = False
        self._depth = 0
        self._previous: dict[int, object] = {}

    def handle(self, signum, frame) -> None:  # noqa: ANN001
        """The signal handler (also lent to Panda3D's task manager, see runtime.rendered)."""
        if self.signal_name is None:
            self.signal_name = signal.Signals(signum).name
        if self.requested and not self._shielded:
            raise KeyboardInterrupt
        self.requested = True

    def request(self, reason: str = "request") -> None:
        """Ask for a stop without a signal (tests, embedding code)."""
        self.signal_name = self.signal_name or reason
        self.requested = True

    @contextlib.contextmanager
    def shield(self) -> Iterator[None]:
        """Signals inside only set `requested`; nothing interrupts the block (blocks may nest)."""
        self._depth += 1
        self._shielded = True
        try:
            yield
        finally:
            self._depth -= 1
            self._shielded = self._depth > 0

    def __enter__(self) -> "StopRequest":
        if threading.current_thread() is threading.main_thread():
            for sig in SIGNALS:
                if sig not in (signal.SIGINT, signal.SIGTERM) and signal.getsignal(sig) == signal.SIG_IGN:
                    continue  # started under nohup (or told to ignore it): the user asked for that
                self._previous[sig] = signal.signal(sig, self.handle)
        return self

    def __exit__(self, *exc: object) -> None:
        for sig, previous in self._previous.items():
            signal.signal(sig, previous)
        self._previous.clear()
