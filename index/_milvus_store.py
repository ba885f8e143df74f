"""The Milvus store's side of an update and of loading: the collection holds the vectors and
BM25 (see ``_milvus``); a generation's segments hold the texts, and its ``lexicon.json``
the document frequencies the answer scorer weighs words by."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

import numpy as np

from . import _milvus, _milvus_backend
from ._build import DocBuild
from ._config import StoreConfig
from ._errors import IndexError_
from ._lexical import ChunkTerms
from ._segments import Segment


def load_backend(
    gen: Path,
    manifest: dict[str, Any],
    keys_hashes: list[tuple[str, str]],
    chunks: np.ndarray,
    store: StoreConfig,
) -> _milvus_backend.MilvusBackend:
    """The loaded generation's view of its collection: the node ids of its live rows."""
    recorded = manifest["store"]
    uri = store.uri or _milvus.recorded_uri_to_connect(recorded["uri"], gen.parent)
    vector_store = _milvus.connect(
        uri,
        store.resolved_token(),
        recorded["collection"],
        int(manifest["dim"]),
        index_type=recorded.get("index_type", "FLAT"),
    )
    ids = _milvus_backend.node_ids_for(keys_hashes, chunks)
    return _milvus_backend.MilvusBackend(
        vector_store, ids, _milvus_backend.Lexicon.load(gen / _milvus_backend.LEXICON_FILE), uri
    )


def recover(index_dir: Path, gen: Path | None, requested: StoreConfig) -> None:
    if (index_dir / _milvus.PENDING_FILE).exists():
        _milvus.recover(index_dir, gen.name if gen else "", requested.resolved_token())


def target_store(
    requested: StoreConfig,
    recorded: dict[str, Any],
    incremental: bool,
    index_dir: Path,
    default_uri: str | None = None,
) -> dict[str, Any]:
    """The manifest's ``store`` record for the generation being written (plus how to reach it);
    a new Milvus store without a requested URI goes to ``default_uri`` (``$QA_MILVUS_URI``)."""
    kind = requested.kind or recorded["kind"]
    if kind == "faiss":
        return {"kind": "faiss"}
    same_store = recorded["kind"] == "milvus"
    old_uri = _milvus.recorded_uri_to_connect(recorded["uri"], index_dir) if same_store else None
    if requested.uri:
        uri, record = _milvus.resolve_uri(requested.uri, index_dir)
    elif same_store:
        uri, record = old_uri, recorded["uri"]
    else:
        uri, record = _milvus.resolve_uri(default_uri, index_dir)
    target: dict[str, Any] = {
        "kind": "milvus",
        "uri": record,
        "connect": uri,
        "token": requested.resolved_token(),
        "metric": "IP",
        "lexical": "Milvus BM25 function (k1=1.5, b=0.75) over qa's tokens",
    }
    if incremental:  # the same collection
        target.update(collection=recorded["collection"], index_type=recorded.get("index_type", "FLAT"))
        target["new_collection"] = False
    else:
        prefix = requested.collection
        if prefix is None and same_store:
            prefix = recorded["collection"].rsplit("_", 1)[0]
        target.update(
            collection=_milvus.physical_collection(StoreConfig(collection=prefix), index_dir),
            index_type=(
                requested.index_type or (recorded.get("index_type") if same_store else None) or "FLAT"
            ),
            new_collection=True,
            old={"uri": old_uri, "collection": recorded["collection"]} if same_store else None,
        )
    return target


class MilvusWriter:
    """What an update does in Milvus: insert new versions' nodes, later delete replaced ones.

    Order: record both sets in ``milvus-pending.json``, insert, commit the generation
    (the caller), delete, forget the record. See ``_milvus.recover`` for a crash between.
    """

    kind = "milvus"

    def __init__(
        self,
        target: dict[str, Any],
        dim: int,
        base: str,
        lexicon: _milvus_backend.Lexicon | None = None,
        replaced: list[tuple[str, str]] | None = None,
    ) -> None:
        """``base``: the generation live when the update began; ``lexicon`` its document
        frequencies; ``replaced``: (node id, text) of its chunks this update removes or replaces."""
        self.target = target
        self.dim = dim
        self.base = base
        self.lexicon = lexicon or _milvus_backend.Lexicon(0, {})
        self.stale = [nid for nid, _ in replaced or []]
        self.removed_texts = [text for _, text in replaced or []]
        self.builds: list[DocBuild] = []
        self._store: Any = None

    def add(self, builds: list[DocBuild]) -> None:
        """Newly embedded documents: their nodes go into the collection before the commit."""
        self.builds.extend(sorted(builds, key=lambda b: b.key))

    def write(self, folder: Path, builds: list[DocBuild], terms: ChunkTerms | None = None) -> None:
        """Nothing in the segment: the vectors and BM25 live in the collection."""

    def segment_vectors(self, folder: Path) -> np.ndarray | None:
        return None

    def segment_terms(self, segment: Segment) -> ChunkTerms | None:
        return None

    def _inserted_ids(self) -> list[str]:
        return [_milvus.node_id(b.key, b.hash, ci) for b in self.builds for ci in range(len(b.chunks))]

    def before_commit(self, index_dir: Path, staging: Path) -> None:
        added = [b.chunk_text(ci) for b in self.builds for ci in range(len(b.chunks))]
        self.lexicon.updated(self.removed_texts, added).save(staging / _milvus_backend.LEXICON_FILE)
        t = self.target
        pending = {
            "base": self.base,
            "uri": t["connect"],
            "collection": t["collection"],
            "dim": self.dim,
            "new_collection": t["new_collection"],
            "old": t.get("old"),
            "inserted": [] if t["new_collection"] else self._inserted_ids(),
            "stale": self.stale,
        }
        _milvus.write_pending(index_dir, pending)
        store = _milvus.connect(
            t["connect"],
            t["token"],
            t["collection"],
            self.dim,
            create=t["new_collection"],
            index_type=t["index_type"],
        )
        try:
            batch: list = []
            for b in self.builds:
                for ci, (s, e) in enumerate(b.chunks):
                    nid = _milvus.node_id(b.key, b.hash, ci)
                    batch.append(
                        _milvus.make_node(nid, b.key, b.hash, ci, s, e, b.chunk_text(ci), b.chunk_vecs[ci])
                    )
                    if len(batch) >= _milvus.BATCH:
                        _milvus.insert_nodes(store, t["connect"], batch)
                        batch = []
            if batch:
                _milvus.insert_nodes(store, t["connect"], batch)
            _milvus.flush(store, t["connect"])
            self._store = store
        except BaseException:
            with contextlib.suppress(Exception):
                store.client.close()
            raise

    def after_commit(self, index_dir: Path, warn: Any) -> None:
        """After the commit: the replaced versions (or the replaced collection) go."""
        t = self.target
        try:
            if self.stale and not t["new_collection"]:
                _milvus.delete_nodes(self._store, t["connect"], self.stale)
            old = t.get("old")
            if t["new_collection"] and old:
                _milvus.drop_collection(old["uri"], t["token"], old["collection"])
            _milvus.clear_pending(index_dir)
        except IndexError_ as exc:
            warn(f"{exc}; the replaced chunks stay hidden and the next `qa index` removes them")
        finally:
            with contextlib.suppress(Exception):
                self._store.client.close()
