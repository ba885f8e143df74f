"""When indexing the docs folder fails, find the file that makes it fail and take it out.

The index skips files it cannot *read* (``BadDocument``), but a file that reads and then
breaks chunking or embedding fails the whole run, and because it stays in the folder,
every later run too. Here each file the index does not hold yet is indexed alone into a
throwaway index; the ones that fail there are the culprits. Only used after a failure.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

FAILED_DIR = ".qa-failed"  # hidden, so the indexer never reads it; the user can look inside
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


def _folder_files(docs_dir: Path) -> list[Path]:
    """Supported, visible files under ``docs_dir``: what the indexer reads."""
    from qa import SUPPORTED_SUFFIXES

    out = []
    for path in docs_dir.rglob("*"):
        rel = path.relative_to(docs_dir)
        if any(part.startswith(".") for part in rel.parts):
            continue
        if path.suffix.lower() in SUPPORTED_SUFFIXES and path.is_file():
            out.append(path)
    return sorted(out)


def _digest(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


def changed_files(docs_dir: Path, index: Any | None) -> list[Path]:
    """Files whose current content the index does not hold: the only ones a failure can come from."""
    known = {d.key: d.hash for d in index.documents} if index is not None else {}
    return [p for p in _folder_files(docs_dir) if known.get(p.relative_to(docs_dir).as_posix()) != _digest(p)]


def culprits(candidates: list[Path], options: dict[str, Any]) -> list[tuple[Path, str]]:
    """The candidates that fail when indexed alone, with the cause of each.

    A failure that is about the machine (``OSError``: disk full) or the index
    (``IndexError_``) is not the file's fault, so it blames nobody.
    """
    from qa import IndexError_, index_documents

    trial = {k: v for k, v in options.items() if k not in {"store", "progress", "warn"}}
    trial["show_progress"] = False
    found = []
    for path in candidates:
        with tempfile.TemporaryDirectory(prefix="qa-trial-") as tmp:
            try:
                index_documents(path, Path(tmp) / "index", warn=lambda _msg: None, **trial)
            except (OSError, IndexError_):
                continue
            except Exception as exc:  # noqa: BLE001 - any failure of this one file is its own
                found.append((path, cause(exc)))
    return found


def quarantine(docs_dir: Path, path: Path) -> Path:
    """Move a failing file into the hidden ``.qa-failed/`` folder (never indexed, nothing lost)."""
    rel = path.relative_to(docs_dir)
    target = docs_dir / FAILED_DIR / rel
    target.parent.mkdir(parents=True, exist_ok=True)
    os.replace(path, target)
    return target


def index_isolating(
    run: Callable[[], Any],
    docs_dir: Path,
    index: Any | None,
    options: dict[str, Any],
    *,
    uploaded: set[str],
    notes: list[str],
) -> Any:
    """``run()`` (an indexing run over ``docs_dir``); if it fails, take out the failing files, retry.

    Uploads (keys in ``uploaded``) that fail are deleted (the user still has them); any
    other failing file is moved to ``.qa-failed/``. One line per file goes into ``notes``.
    Raises the index's own errors as they are, anything else as :class:`IndexingFailed`.
    """
    from qa import IndexError_

    try:
        return run()
    except IndexError_:
        raise
    except Exception as first:  # noqa: BLE001 - find out whose fault it is
        found = culprits(changed_files(docs_dir, index), options)
        if not found:
            raise IndexingFailed(cause(first)) from first
    for path, why in found:
        key = path.relative_to(docs_dir).as_posix()
        if key in uploaded:
            path.unlink(missing_ok=True)
            notes.append(f"{key} could not be indexed ({why}); it was not added.")
        else:
            quarantine(docs_dir, path)
            notes.append(
                f"{key} could not be indexed ({why}); moved to {FAILED_DIR}/ in the documents folder."
            )
    try:
        return run()
    except IndexError_:
        raise
    except Exception as exc:  # noqa: BLE001 - reported in one line, the index stays as it was
        raise IndexingFailed(cause(exc)) from exc
