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
from typing import NamedTuple

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


class Found(NamedTuple):
    """A supported file, with the size and modification time the walk's ``stat`` saw, so an
    update's quick check needs no second system call per file (a tuple: 100k are made)."""

    path: str
    size: int
    mtime_ns: int


@dataclass
class Walk:
    files: list[Found] = field(default_factory=list)
    skipped: list[Skip] = field(default_factory=list)


def _supported(name: str) -> bool:
    # what Path.suffix gives for the membership test, at a fraction of the cost
    return name[name.rfind(".") :].lower() in SUPPORTED_SUFFIXES


def _unsupported(path: str) -> Skip:
    return Skip(path, UNSUPPORTED, unsupported_reason(Path(path)))


def _bad_name(path: str) -> Skip | None:
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:
        return Skip(path, BAD_NAME, "the file name is not valid UTF-8; rename it")
    return None


def _oserror(exc: OSError) -> str:
    return exc.strerror or str(exc).splitlines()[0]


def walk(root: Path) -> Walk:
    """Supported files below ``root`` (sorted), and every other entry with why it was skipped.

    Symlinks are followed, to files and to folders; a folder reached again through a link
    on its own path is a loop and is skipped once, not walked forever. Paths stay strings
    and each entry is stat'ed once: a folder of 100k files is walked in well under a second.
    """
    result = Walk()
    root = Path(root)
    if not root.is_dir():
        _visit_file(str(root), None, result)
        return result
    stack: list[tuple[str, _Ancestors]] = [(str(root), frozenset())]
    files, supported, is_regular = result.files, SUPPORTED_SUFFIXES, stat.S_ISREG  # locals: 100k lookups
    while stack:  # a loop, not recursion: a deep tree must not hit the recursion limit
        folder, ancestors = stack.pop()
        entries, inner = _list(folder, ancestors, result)
        for entry in entries:  # the common case inline: a large folder has 100k of them
            try:
                is_dir = entry.is_dir()  # follows symlinks
                st = None if is_dir else entry.stat()
            except OSError:
                is_dir, st = False, None
            if is_dir:
                stack.append((entry.path, inner))
                continue
            name = entry.name
            if (
                st is not None
                and is_regular(st.st_mode)
                and name[name.rfind(".") :].lower() in supported  # _supported, inline
                and ((path := entry.path).isascii() or _bad_name(path) is None)  # valid UTF-8
            ):
                files.append(Found(path, st.st_size, st.st_mtime_ns))
            else:  # the walk says why it is left out, or takes it after a closer look
                _visit_file(entry.path, entry, result)
    # the order sorting Paths gives (part by part): the separator sorts before any character
    result.files.sort(key=lambda f: f.path.replace(os.sep, "\0"))
    result.skipped.sort(key=lambda skip: skip.path)
    return result


_Ancestors = frozenset[tuple[int, int]]


def _list(folder: str, ancestors: _Ancestors, result: Walk) -> tuple[list[os.DirEntry[str]], _Ancestors]:
    """The visible entries of ``folder`` and the ancestors of its subfolders; a loop or a
    folder that cannot be listed is recorded and yields nothing."""
    try:
        st = os.stat(folder)
        ident = (st.st_dev, st.st_ino)
        if ident in ancestors:
            result.skipped.append(
                Skip(folder, LINK_LOOP, "symlink loop (the link leads back into a folder above it)")
            )
            return [], ancestors
        with os.scandir(folder) as it:
            entries = [e for e in it if not e.name.startswith(".")]
    except OSError as exc:
        result.skipped.append(Skip(folder, UNREADABLE_FOLDER, f"cannot list the folder ({_oserror(exc)})"))
        return [], ancestors
    return entries, ancestors | {ident}


def _visit_file(path: str, entry: os.DirEntry[str] | None, result: Walk) -> None:
    """Record ``path`` as found or skipped; ``entry`` (from the listing) caches its stat."""
    try:
        st = entry.stat() if entry is not None else os.stat(path)  # both follow symlinks
    except OSError as exc:
        is_link = entry.is_symlink() if entry is not None else os.path.islink(path)
        if is_link and exc.errno == errno.ENOENT:
            result.skipped.append(Skip(path, BROKEN_LINK, "broken symlink (its target does not exist)"))
        elif is_link and exc.errno == errno.ELOOP:
            result.skipped.append(Skip(path, LINK_LOOP, "symlink loop (the link leads back to itself)"))
        elif exc.errno != errno.ENOENT:  # a file gone since the listing is simply not there
            result.skipped.append(Skip(path, UNREADABLE, f"cannot read the file ({_oserror(exc)})"))
        return
    if not _supported(entry.name if entry is not None else os.path.basename(path)):
        result.skipped.append(_unsupported(path))
    elif not stat.S_ISREG(st.st_mode):
        result.skipped.append(Skip(path, NOT_A_FILE, "not a regular file (a pipe, socket or device)"))
    elif (bad := _bad_name(path)) is not None:
        result.skipped.append(bad)
    else:
        result.files.append(Found(path, st.st_size, st.st_mtime_ns))


def iter_files(root: Path) -> list[Path]:
    """Supported files below ``root``, sorted, skipping hidden files and folders."""
    return [Path(f.path) for f in walk(root).files]
