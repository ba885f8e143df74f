"""Upload bookkeeping: Gradio's temp copies are deleted once used, and names never collide.

Gradio writes each upload to ``<upload folder>/<sha256>/<name>`` and never removes it; the
chat copies what it accepts into the docs folder, so the temp copy is dead weight (and a
rejected upload must leave nothing behind).
"""

from __future__ import annotations

import contextlib
import os
import re
from pathlib import Path

# Gradio's delete_cache (every, older than; seconds): uploads that no event ever used,
# e.g. a client posting to the upload endpoint alone, are removed after half an hour.
UPLOAD_EXPIRY = (600, 1800)


def upload_folder() -> Path:
    """Where Gradio stores uploads ($GRADIO_TEMP_DIR, else <tmp>/gradio), as Gradio computes it."""
    from gradio.utils import get_upload_folder

    return Path(get_upload_folder()).resolve()


def discard_upload(path: str | os.PathLike[str]) -> None:
    """Delete one of Gradio's temp uploads (and its now empty folder); anything else is left alone."""
    root = upload_folder()
    target = Path(path).resolve()
    if root not in target.parents:
        return
    with contextlib.suppress(FileNotFoundError, IsADirectoryError, PermissionError):
        target.unlink()
    parent = target.parent
    if parent != root:
        with contextlib.suppress(OSError):  # not empty: another upload of the same content
            parent.rmdir()


def free_name(docs_dir: Path, name: str, taken: set[str]) -> str:
    """``name``, or ``stem (2).ext``, ``stem (3).ext``, …: the first not in the folder or ``taken``.

    >>> free_name(Path("/nonexistent"), "report.pdf", {"report.pdf", "report (2).pdf"})
    'report (3).pdf'
    """

    def free(candidate: str) -> bool:
        return candidate not in taken and not (docs_dir / candidate).exists()

    if free(name):
        return name
    path = Path(name)
    stem = re.sub(r" \(\d+\)$", "", path.stem)  # "report (2)" again becomes "report (3)"
    n = 2
    while not free(f"{stem} ({n}){path.suffix}"):
        n += 1
    return f"{stem} ({n}){path.suffix}"
