"""Upload bookkeeping: plain, safe file names; Gradio's temp copies deleted once used; names never collide.

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
_MAX_NAME = 120


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


def safe_filename(name: str) -> str:
    """A plain file name inside the docs folder: no directories, no hidden or odd characters.

    >>> safe_filename("../../etc/passwd.txt"), safe_filename("C:\\\\x\\\\My report.PDF")
    ('passwd.txt', 'My report.PDF')
    """
    base = re.split(r"[\\/]", name.replace("\x00", ""))[-1]
    base = re.sub(r"_+", "_", re.sub(r"[^\w.\- ()]+", "_", base)).strip()
    stem, dot, suffix = base.rpartition(".")
    if not dot:
        stem, suffix = base, ""
    if len(suffix) > 16:  # not a file type: keep it in the name
        stem, suffix = f"{stem}_{suffix}", ""
    stem = stem.strip(" .")  # a leading dot would hide the file from the indexer
    if not stem.strip("_ "):
        stem = "document"
    stem = stem[: _MAX_NAME - len(suffix) - 1]
    return f"{stem}.{suffix}" if suffix else stem


def human_size(n_bytes: int) -> str:
    return f"{n_bytes / 1e6:.1f} MB" if n_bytes >= 100_000 else f"{n_bytes / 1e3:.0f} KB"
