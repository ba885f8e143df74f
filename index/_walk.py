"""The folder walk: which files under a folder get indexed, and why each other one does not.

A walk never raises for what it finds: an unsupported file, a broken or looping symlink,
a folder it may not list, a pipe or device, a name that is not UTF-8 each become a
:class:`Skip` with a one-line reason, so a user is told what was left out instead of
finding out later that a document is missing. Hidden files and folders (``.git``,
``.DS_Store``...) are passed over without a word: they are never documents and a ``.git``
folder alone would drown the report.
"""

from __future__ import annotations

import errno
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

from ._readers import SUPPORTED_SUFFIXES, unsupported_reason

# The reasons a skipped file is counted under in a summary ("3 skipped (2 unsupported type, ...)").
UNSUPPORTED = "unsupported type"
BROKEN_LINK = "broken symlink"
LINK_LOOP = "symlink loop"
UNREADABLE_FOLDER = "unreadable folder"
UNREADABLE = "unreadable"
NOT_A_FILE = "not a regular file"
BAD_NAME = "bad file name"
INVALID = "invalid content"  # the reader refused it: binary, not UTF-8, empty, corrupt PDF...
FAILED = "failed"  # an unexpected error while reading, chunking or embedding that one file


@dataclass(frozen=True)
class Skip:
    """A path the walk (or indexing after it) left out: ``kind`` for counting, ``reason`` to show."""

    path: str
    kind: str
    reason: str


@dataclass
class Walk:
    files: list[Path] = field(default_factory=list)
    skipped: list[Skip] = field(default_factory=list)


def _supported(path: Path) -> bool:
    return path.suffix.lower() in SUPPORTED_SUFFIXES


def _unsupported(path: Path) -> Skip:
    return Skip(
        str(path),
        UNSUPPORTED,
        unsupported_reason(path),
    )


def _bad_name(path: Path) -> Skip | None:
    try:
        str(path).encode("utf-8")
    except UnicodeEncodeError:
        return Skip(str(path), BAD_NAME, "the file name is not valid UTF-8; rename it")
    return None


def _oserror(exc: OSError) -> str:
    return exc.strerror or str(exc).splitlines()[0]


def walk(root: Path) -> Walk:
    """Supported files below ``root`` (sorted), and every other entry with why it was skipped.

    Symlinks are followed, to files and to folders; a folder reached again through a link
    on its own path is a loop and is skipped once, not walked forever.
    """
    result = Walk()
    root = Path(root)
    if not root.is_dir():
        _visit_file(root, result)
        return result
    stack: list[tuple[Path, _Ancestors]] = [(root, frozenset())]
    while stack:  # a loop, not recursion: a deep tree must not hit the recursion limit
        folder, ancestors = stack.pop()
        entries, inner = _list(folder, ancestors, result)
        for path, is_dir in entries:
            if is_dir:
                stack.append((path, inner))
            else:
                _visit_file(path, result)
    result.files.sort()
    result.skipped.sort(key=lambda skip: skip.path)
    return result


_Ancestors = frozenset[tuple[int, int]]


def _list(folder: Path, ancestors: _Ancestors, result: Walk) -> tuple[list[tuple[Path, bool]], _Ancestors]:
    """The visible entries of ``folder`` as ``(path, is_dir)``, and the ancestors of its
    subfolders; a loop or a folder that cannot be listed is recorded and yields nothing."""
    try:
        st = folder.stat()
        ident = (st.st_dev, st.st_ino)
        if ident in ancestors:
            result.skipped.append(
                Skip(str(folder), LINK_LOOP, "symlink loop (the link leads back into a folder above it)")
            )
            return [], ancestors
        with os.scandir(folder) as it:
            entries = [e for e in it if not e.name.startswith(".")]
    except OSError as exc:
        result.skipped.append(
            Skip(str(folder), UNREADABLE_FOLDER, f"cannot list the folder ({_oserror(exc)})")
        )
        return [], ancestors
    listed = []
    for entry in entries:
        try:
            is_dir = entry.is_dir()  # follows symlinks
        except OSError:
            is_dir = False
        listed.append((folder / entry.name, is_dir))
    return listed, ancestors | {ident}


def _visit_file(path: Path, result: Walk) -> None:
    try:
        st = path.stat()
    except OSError as exc:
        if path.is_symlink() and exc.errno == errno.ENOENT:
            result.skipped.append(Skip(str(path), BROKEN_LINK, "broken symlink (its target does not exist)"))
        elif path.is_symlink() and exc.errno == errno.ELOOP:
            result.skipped.append(Skip(str(path), LINK_LOOP, "symlink loop (the link leads back to itself)"))
        elif exc.errno != errno.ENOENT:  # a file gone since the listing is simply not there
            result.skipped.append(Skip(str(path), UNREADABLE, f"cannot read the file ({_oserror(exc)})"))
        return
    if not _supported(path):
        result.skipped.append(_unsupported(path))
    elif not stat.S_ISREG(st.st_mode):
        result.skipped.append(Skip(str(path), NOT_A_FILE, "not a regular file (a pipe, socket or device)"))
    elif (bad := _bad_name(path)) is not None:
        result.skipped.append(bad)
    else:
        result.files.append(path)


def iter_files(root: Path) -> list[Path]:
    """Supported files below ``root``, sorted, skipping hidden files and folders."""
    return walk(root).files
