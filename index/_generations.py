"""Generations on disk: the write lock, staging folders, hard-linked segments and the commit.

An index folder holds ``CURRENT`` (the live generation's name) and ``gen-*`` folders. A new
generation is assembled in a ``.staging-*`` folder: the segments it keeps from the previous
generation are hard links to the same files (nothing is copied), new segments are written
there, and only the swap of ``CURRENT`` makes it live. A crash or Ctrl-C at any point
leaves the previous generation loadable; the next update sweeps what was left half-made.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import secrets
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

from ._errors import IndexBusy, IndexNotWritable


def fsync_file(path: Path) -> None:
    with open(path, "rb") as fh:
        os.fsync(fh.fileno())


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_tree(folder: Path) -> None:
    """Every new file under ``folder`` and the folders themselves on disk, before a commit.

    A file with more than one link is a kept segment's, synced when it was first written.
    """
    for path in folder.rglob("*"):
        if path.is_file():
            if path.stat().st_nlink == 1:
                fsync_file(path)
        elif path.is_dir():
            fsync_dir(path)
    fsync_dir(folder)


def current_generation(index_dir: Path) -> Path | None:
    pointer = index_dir / "CURRENT"
    if not pointer.is_file():
        return None
    name = pointer.read_text(encoding="utf-8").strip()
    gen = index_dir / name
    return gen if name and gen.is_dir() else None


@contextlib.contextmanager
def write_lock(index_dir: Path) -> Iterator[None]:
    """One writer per index folder; a second gets :class:`IndexBusy` at once, not a wait."""
    try:
        index_dir.mkdir(parents=True, exist_ok=True)
        fh = open(index_dir / ".lock", "a+")  # noqa: SIM115 - closed by the with below
    except OSError as exc:
        raise IndexNotWritable.wrap(index_dir, exc) from exc
    with fh:
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            raise IndexBusy(f"{index_dir} is being written by another process; try again") from exc
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def new_staging(index_dir: Path) -> Path:
    staging = index_dir / f".staging-{secrets.token_hex(4)}"
    staging.mkdir(parents=True)
    return staging


def discard(staging: Path) -> None:
    for _ in range(3):  # a file still being closed can make one pass miss it
        shutil.rmtree(staging, ignore_errors=True)
        if not staging.exists():
            return
        time.sleep(0.05)


def link_segment(source: Path, staging: Path) -> None:
    """Put segment folder ``source`` into ``staging`` by hard links (a copy where the
    filesystem has none): a kept segment costs a few directory entries, not its size."""
    target = staging / source.name
    for path in source.rglob("*"):
        dest = target / path.relative_to(source)
        if path.is_dir():
            dest.mkdir(parents=True, exist_ok=True)
            continue
        dest.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(path, dest)
        except OSError:
            shutil.copy2(path, dest)


def commit(index_dir: Path, staging: Path) -> Path:
    """Make ``staging`` the live generation; keep the previous one for readers mid-load."""
    previous = current_generation(index_dir)
    number = 1
    if previous is not None:
        with contextlib.suppress(ValueError, IndexError):
            number = int(previous.name.split("-")[1]) + 1
    fsync_tree(staging)
    final = index_dir / f"gen-{number:06d}-{secrets.token_hex(3)}"
    os.rename(staging, final)
    fsync_dir(index_dir)
    tmp = index_dir / "CURRENT.tmp"
    tmp.write_text(final.name + "\n", encoding="utf-8")
    fsync_file(tmp)
    os.replace(tmp, index_dir / "CURRENT")
    fsync_dir(index_dir)
    keep = {final.name, previous.name if previous else ""}
    for child in index_dir.iterdir():
        if (
            child.is_dir()
            and child.name not in keep
            and (child.name.startswith("gen-") or child.name.startswith(".staging-"))
        ):
            shutil.rmtree(child, ignore_errors=True)
    return final
