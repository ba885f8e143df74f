"""The index's one-line errors, beneath every other module of the package."""

from __future__ import annotations

from pathlib import Path


class IndexError_(Exception):
    """Base for index errors whose message is meant for the user, on one line."""


class IndexNotFound(IndexError_):
    pass


class IndexMismatch(IndexError_):
    pass


class IndexBusy(IndexError_):
    pass


class IndexNotWritable(IndexError_):
    """The index folder cannot be created or written (permissions, a file in the way, a full disk)."""

    @classmethod
    def wrap(cls, index_dir: Path, exc: OSError) -> IndexNotWritable:
        why = exc.strerror or str(exc).splitlines()[0]
        return cls(f"cannot write the index folder {index_dir}: {why}")
