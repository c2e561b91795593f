"""A time limit on code that is not ours (a plugin's import, an environment's constructor): code
that never returns becomes an exception the caller words, instead of a program that hangs."""
from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator


class TimeUp(BaseException):
    """The time ran out (raised from SIGALRM inside the code being limited)."""


@contextlib.contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Raise TimeUp in the main thread after `seconds` (elsewhere, or without timers: no limit;
    inside another limit, that one holds)."""
    if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "setitimer") \
            or signal.getitimer(signal.ITIMER_REAL)[0] > 0:
        yield
        return

    def on_alarm(signum, frame) -> None:  # noqa: ANN001
        raise TimeUp

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
