"""Where an index keeps its vectors: ``StoreConfig`` and the shared ``--store`` options.

Standard library only, so that every command line (``qa``, and ``eval``/``ui`` through
the ``qa.commands`` entry point) can add the options without loading numpy or torch;
their defaults come from a :class:`index.Settings` (``$QA_STORE``, ``$QA_MILVUS_*``).
"""

from __future__ import annotations

import argparse
import re
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from ._errors import IndexError_
from ._options import LazySettings, setting

if TYPE_CHECKING:
    from ._settings import Settings

STORES = ("faiss", "milvus")
MILVUS_INDEX_TYPES = ("FLAT", "HNSW", "IVF_FLAT", "AUTOINDEX")
TOKEN_ENV = "QA_MILVUS_TOKEN"
_COLLECTION = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,199}")


class StoreError(IndexError_):
    """A store that cannot be used: unknown kind, malformed URI, server unreachable..."""


@dataclass(frozen=True)
class StoreConfig:
    """The vector store asked for; ``None`` fields mean "as the index records it".

    ``kind=None`` keeps an existing index's store (FAISS for a new index). For Milvus,
    ``uri`` is a ``.db`` path (milvus-lite, in this process) or ``http(s)://host:port``
    (a Milvus server); ``None`` means the URI the index records, and for a new store the
    settings' ``milvus_uri`` (``$QA_MILVUS_URI``), else ``milvus.db`` inside the index
    folder. ``collection`` is the collection-name prefix; ``index_type`` the dense index of
    a new collection (FLAT, exact like FAISS, by default). The token is given here or by
    :meth:`with_settings` (``$QA_MILVUS_TOKEN``); it is never written to disk or printed.
    """

    kind: str | None = None
    uri: str | None = None
    collection: str | None = None
    index_type: str | None = None
    token: str | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.kind is not None and self.kind not in STORES:
            raise StoreError(f"unknown store {self.kind!r}; choose one of: {', '.join(STORES)}")
        if self.collection is not None and not _COLLECTION.fullmatch(self.collection):
            raise StoreError(
                f"Milvus collection name {self.collection!r} must start with a letter or _ and "
                "hold only letters, digits and _"
            )
        if self.index_type is not None and self.index_type.upper() not in MILVUS_INDEX_TYPES:
            raise StoreError(
                f"unknown Milvus index type {self.index_type!r}; choose one of: {', '.join(MILVUS_INDEX_TYPES)}"
            )
        if self.uri is not None:
            check_milvus_uri(self.uri)

    @classmethod
    def coerce(cls, value: StoreConfig | str | None) -> StoreConfig:
        """Accept ``"faiss"``/``"milvus"`` or ``None`` wherever a StoreConfig is taken."""
        if value is None:
            return cls()
        if isinstance(value, str):
            return cls(kind=value)
        return value

    def with_settings(self, settings: Settings | None) -> StoreConfig:
        """This config with the settings' token where none was given (``$QA_MILVUS_TOKEN``)."""
        if settings is None or self.token is not None or settings.milvus_token is None:
            return self
        return replace(self, token=settings.secret("milvus_token"))

    def resolved_token(self) -> str:
        return self.token or ""


def is_server_uri(uri: str) -> bool:
    return uri.startswith(("http://", "https://", "tcp://", "grpc://"))


def check_milvus_uri(uri: str) -> None:
    if is_server_uri(uri):
        return
    if "://" in uri or not uri.endswith(".db"):
        raise StoreError(
            f"--milvus-uri {uri!r} is neither a milvus-lite file (a path ending in .db) "
            "nor a server address (http://host:19530)"
        )


def add_store_arguments(
    parser: argparse.ArgumentParser, settings: Settings | LazySettings | None = None
) -> None:
    """``--store``, ``--milvus-uri``, ``--milvus-collection``, ``--milvus-index``, their defaults
    from ``settings`` (``$QA_STORE``, ``$QA_MILVUS_*``; filled in when an ``index.SettingsParser``
    parses for :class:`LazySettings`, the environment now when None)."""
    group = parser.add_argument_group("vector store")
    group.add_argument(
        "--store",
        choices=STORES,
        default=setting(settings, lambda s: s.store),
        help="where vectors live: faiss (default for a new index) or milvus; an existing index "
        "keeps the store it was built with (default: $QA_STORE)",
    )
    group.add_argument(
        "--milvus-uri",
        default=setting(settings, lambda s: s.milvus_uri),
        metavar="URI",
        help="a .db path runs milvus-lite in-process; http://host:19530 talks to a Milvus server "
        "(default: $QA_MILVUS_URI, else milvus.db in the index folder); the token, if any, "
        f"comes from ${TOKEN_ENV}",
    )
    group.add_argument(
        "--milvus-collection",
        default=setting(settings, lambda s: s.milvus_collection),
        metavar="NAME",
        help="collection name prefix for a new Milvus index (default: derived from the index folder)",
    )
    group.add_argument(
        "--milvus-index",
        choices=MILVUS_INDEX_TYPES,
        default=None,
        type=str.upper,
        help="dense index of a new Milvus collection (default FLAT: exact, same results as FAISS)",
    )


def store_from_args(args: argparse.Namespace, settings: Settings | None = None) -> StoreConfig:
    """The StoreConfig the options ask for, with the token of ``settings`` (else the settings the
    command line loaded, else the environment now); raises StoreError (one line) on a bad value."""
    from ._settings import Settings

    kind = getattr(args, "store", None)
    if kind is not None and kind not in STORES:  # a default set by hand skips argparse's check
        raise StoreError(f"store {kind!r} is not a store; choose one of: {', '.join(STORES)}")
    config = StoreConfig(
        kind=kind,
        uri=getattr(args, "milvus_uri", None),
        collection=getattr(args, "milvus_collection", None),
        index_type=getattr(args, "milvus_index", None),
    )
    return config.with_settings(settings if settings is not None else Settings.from_args(args))
