"""What the command line prints: one-line errors and warnings, and text made safe for a terminal.

Standard library only, so ``qa --help`` stays instant.
"""

from __future__ import annotations

import sys

EXIT_USER_ERROR = 2
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE: what a shell reports for a tool whose reader went away


def printable(text: str) -> str:
    """``text`` with every control or other non-printable character escaped (``\\n``, ``\\x1b``).

    A file name may hold a newline or a terminal escape code; printed raw it would split a
    one-line message or recolour (or retitle) the user's terminal. Bytes of a name that is
    not UTF-8 (Python's surrogate escapes) come out as ``\\xff``. Like ``repr`` without the
    quotes; backslashes are left as they are.
    """
    if text.isprintable():
        return text
    out = []
    for ch in text:
        if ch.isprintable():
            out.append(ch)
        elif "\udc80" <= ch <= "\udcff":
            out.append(f"\\x{ord(ch) - 0xDC00:02x}")
        else:
            out.append(repr(ch)[1:-1])
    return "".join(out)


def fail(message: str) -> int:
    """Print a user mistake as one line (no traceback) and give the exit code for it;
    every ``qa`` subcommand, including the ones ``eval`` and ``ui`` plug in, reports this way."""
    print(f"qa: error: {printable(message)}", file=sys.stderr)
    return EXIT_USER_ERROR


def warn(message: str) -> None:
    """A problem that does not stop the command, as one line on stderr."""
    print(f"qa: warning: {printable(message)}", file=sys.stderr, flush=True)
