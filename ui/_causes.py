"""What an indexing run says in one line: its outcome, and its real cause when it fails as a whole.

A file that fails on its own is the index's business: it skips it and names it in the
report. What is left to fail here is the run itself (a full disk, a broken model), and the
chat shows it in one short line instead of a traceback.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

_MAX_CAUSE = 240


class IndexingFailed(Exception):
    """Indexing failed for a reason no single file explains; ``str()`` is one line."""


def cause(exc: BaseException) -> str:
    """The real cause in one short line: the exception's kind (unless it is ours) and first line."""
    from qa import BadDocument, IndexError_, QAError

    lines = str(exc).strip().splitlines()
    text = lines[0].strip() if lines else ""
    if not isinstance(exc, (IndexError_, QAError, BadDocument, IndexingFailed)) or not text:
        text = f"{type(exc).__name__}: {text}" if text else type(exc).__name__
    if len(text) > _MAX_CAUSE:
        text = text[: _MAX_CAUSE - 1].rstrip() + "…"
    return text


def run_indexing(run: Callable[[], Any]) -> Any:
    """``run()``; the index's own errors pass as they are, anything else as :class:`IndexingFailed`."""
    from qa import IndexError_

    try:
        return run()
    except IndexError_:
        raise
    except Exception as exc:  # noqa: BLE001 - reported in one line, the index stays as it was
        raise IndexingFailed(cause(exc)) from exc


def note(warning: str) -> str:
    """An index warning ("/srv/docs/cafe.txt: not UTF-8; read as cp1252") as the chat says it:
    the file's name, not the server's path."""
    path, sep, rest = warning.partition(": ")
    return f"{Path(path).name}: {rest}." if sep else warning


def report_line(report: Any, notes: list[str], problems: list[str]) -> str:
    parts = []
    for label, keys in (("added", report.added), ("updated", report.updated), ("removed", report.removed)):
        if keys:
            parts.append(f"{label} {', '.join(keys)}")
    line = ("Done: " + "; ".join(parts) + ".") if parts else "Done: nothing changed."
    line += f" The index holds {report.n_documents} document(s), {report.n_chunks} passages."
    for path, why in report.skipped:
        line += f" Skipped {Path(path).name}: {why}."
    for note in notes:
        line += f" {note}"
    if problems:
        line += " Not added: " + " ".join(problems)
    return line
