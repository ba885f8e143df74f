"""An indexing run that fails as a whole, told in one line with its real cause.

A file that fails on its own is the index's business: it skips it and names it in the
report. What is left to fail here is the run itself (a full disk, a broken model), and the
chat shows it in one short line instead of a traceback.
"""

from __future__ import annotations

from collections.abc import Callable
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
