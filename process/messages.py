"""The program's own lines on stderr: `app.py: error: ...` and `app.py: warning: ...` (`calf-ecs: ...`
when started as the installed script), always one line.

Messages quote what the user gave (file names, config keys, plugin options), and that text may
hold a newline, a carriage return or a terminal escape sequence. Every message goes through
`one_line`, which writes such characters as escapes (`\\n`, `\\x1b`), so an error is one line
whatever it quotes, and a name cannot rewrite the terminal.
"""
from __future__ import annotations

import sys
import unicodedata

from process.program import prog

#: a message longer than this is cut (a megabyte-long key name must not flood the terminal)
MAX_CHARS = 2000

_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape(ch: str) -> str:
    if ch in _ESCAPES:
        return _ESCAPES[ch]
    if unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp", "Cs"):  # controls, bidi and other format marks,
        # line / paragraph separators, lone surrogates (a file name that is not UTF-8)
        code = ord(ch)
        return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"
    return ch


def one_line(text: object) -> str:
    """`text` as one printable line: control characters escaped, at most MAX_CHARS characters."""
    s = str(text)
    if s.isprintable():  # the common case: nothing to escape (str.isprintable is False for all of the above)
        out = s
    else:
        out = "".join(ch if ch.isprintable() or ch == " " else _escape(ch) for ch in s)
    if len(out) > MAX_CHARS:
        out = out[: MAX_CHARS - 30] + f"... ({len(out)} characters)"
    return out


def _emit(kind: str, message: object) -> None:
    stream = sys.stderr
    if stream is None:  # started with stderr closed: nowhere to say it
        return
    try:
        print(f"{prog()}: {kind}: {one_line(message)}", file=stream, flush=True)
    except (OSError, ValueError):  # a closed or broken stderr must not turn a message into a crash
        pass


def error(message: object) -> None:
    """One `app.py: error:` line."""
    _emit("error", message)


def warning(message: object) -> None:
    """One `app.py: warning:` line."""
    _emit("warning", message)


def note(message: object) -> None:
    """One `app.py:` line that is neither an error nor a warning (e.g. what `--resume auto` chose)."""
    stream = sys.stderr
    if stream is None:
        return
    try:
        print(f"{prog()}: {one_line(message)}", file=stream, flush=True)
    except (OSError, ValueError):
        pass


def describe(exc: BaseException) -> str:
    """`Type: message` as one line of at most ~300 characters, safe for any exception (even one
    whose str() raises)."""
    if isinstance(exc, SystemExit):
        return one_line(f"SystemExit: it called sys.exit({exc.code!r})")
    try:
        text = one_line(str(exc).strip())
    except Exception:  # noqa: BLE001 - an exception whose message cannot even be made
        text = "(its message cannot be shown)"
    if len(text) > 300:
        text = text[:300] + "..."
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
