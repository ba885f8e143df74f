"""The Milvus store: chunk vectors and the BM25 index live in one Milvus collection.

Everything goes through llama-index's ``MilvusVectorStore`` (add, delete, dense query)
and its public pymilvus client (full-text query with Milvus' built-in BM25 function). The generation folder keeps
what answering reads per sentence (documents, spans) plus the document frequencies
the answer scorer weighs terms with, a table the size of the vocabulary, not of the
corpus. This module talks to Milvus; ``_milvus_backend`` is a loaded generation's view
of the collection, ``_milvus_store`` an update's side.

Nodes are keyed by document path, content hash and chunk number, so a node belongs
to exactly one version of one document: an update inserts the nodes of new and
changed documents, commits the generation, then deletes the nodes of the versions it
replaced. A reader maps node ids to its own generation's rows and skips any other, so
nodes in flight are never answered from. ``milvus-pending.json`` in the index folder
names them until the update finishes; the next update removes the leftovers of a
crash (see ``recover``).

BM25 equality with the FAISS store: Milvus is given our own tokens (lower-cased,
stemmed, stop words removed; the same ``tokens()`` the answer scorer uses), spelled so
its standard analyzer keeps each one whole, and BM25's k1/b are set to bm25s' values.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import logging
import os
import re
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from ._config import StoreConfig, StoreError, is_server_uri
from ._lexical import tokens

# gRPC's C core prints keepalive chatter ("too_many_pings") straight to stderr otherwise
os.environ.setdefault("GRPC_VERBOSITY", "NONE")

PENDING_FILE = "milvus-pending.json"
DEFAULT_LITE_FILE = "milvus.db"
CONNECT_TIMEOUT = 10.0
BATCH = 512
BM25_PARAMS = {"bm25_k1": 1.5, "bm25_b": 0.75}  # bm25s' defaults, so scores match the FAISS store's
TEXT_FIELD = "text"
SPARSE_FIELD = "sparse_embedding"
_SAFE_TOKEN = re.compile(r"[a-z0-9]+")


# ---------------------------------------------------------------- naming


def node_id(key: str, digest: str, chunk: int) -> str:
    """Stable across generations for an unchanged document, new for a changed one."""
    version = hashlib.sha1(f"{key}\n{digest}".encode()).hexdigest()[:24]
    return f"{version}-{chunk}"


def lex_token(tok: str) -> str:
    """A token Milvus' standard analyzer keeps whole ("3.4" would split, "zx332e34" does not)."""
    return tok if _SAFE_TOKEN.fullmatch(tok) else "zx" + tok.encode("utf-8").hex()


def lex_text(text: str) -> str:
    return " ".join(lex_token(t) for t in tokens(text))


def default_collection_base(index_dir: Path) -> str:
    where = f"{socket.gethostname()}:{Path(index_dir).expanduser().resolve()}"
    return "qa_" + hashlib.sha1(where.encode()).hexdigest()[:10]


def resolve_uri(uri: str | None, index_dir: Path) -> tuple[str, str]:
    """(uri to connect to, uri to record): a lite file inside the index folder is recorded relative;
    None is ``milvus.db`` in the index folder."""
    uri = uri or DEFAULT_LITE_FILE
    if is_server_uri(uri):
        return uri, uri
    path = Path(uri).expanduser()
    if not path.is_absolute():
        path = (index_dir / path) if uri == DEFAULT_LITE_FILE else path.resolve()
    path = path.resolve() if path.parent.exists() else path
    try:
        recorded = str(path.relative_to(Path(index_dir).expanduser().resolve()))
    except ValueError:
        recorded = str(path)
    return str(path), recorded


def recorded_uri_to_connect(recorded: str, index_dir: Path) -> str:
    if is_server_uri(recorded) or Path(recorded).is_absolute():
        return recorded
    return str(Path(index_dir).expanduser().resolve() / recorded)


# ---------------------------------------------------------------- errors


def _quiet_logs() -> None:
    """pymilvus and milvus-lite log whole tracebacks on any failed call; ours is one line.

    (``grpc._server``: milvus-lite's in-process server logs pymilvus' probe of an RPC it
    does not implement, AllocTimestamp, when an index is created.)
    """
    import pymilvus  # noqa: F401  (configures its loggers on import: quiet them after)

    for name in (
        "pymilvus",
        "pymilvus.milvus_client",
        "pymilvus.decorators",
        "milvus_lite",
        "llama_index.vector_stores.milvus",
        "grpc._server",
    ):
        logging.getLogger(name).setLevel(logging.CRITICAL)


def _reason(exc: BaseException) -> str:
    msg = getattr(exc, "message", None) or str(exc) or type(exc).__name__
    return " ".join(str(msg).split())[:200]


def _lite_locked(path: str) -> bool:
    lock = Path(path) / "LOCK"
    if not lock.exists():
        return False
    with open(lock, "a+") as fh:
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
    return False


def unreachable(uri: str, exc: BaseException) -> StoreError:
    if not is_server_uri(uri) and _lite_locked(uri):
        return StoreError(
            f"milvus-lite database {uri} is open in another process (milvus-lite serves one "
            "process at a time; use a Milvus server to share it); nothing was changed"
        )
    where = "Milvus server" if is_server_uri(uri) else "milvus-lite database"
    return StoreError(f"cannot reach {where} at {uri} ({_reason(exc)}); nothing was changed")


@contextlib.contextmanager
def guard(uri: str, doing: str) -> Iterator[None]:
    """Any client error becomes one StoreError line naming the URI."""
    try:
        yield
    except StoreError:
        raise
    except Exception as exc:
        if type(exc).__module__.startswith(("pymilvus", "grpc", "milvus_lite")):
            raise StoreError(f"Milvus at {uri} failed while {doing}: {_reason(exc)}") from exc
        raise


# ---------------------------------------------------------------- the llama-index store


def _store_class():
    from llama_index.vector_stores.milvus import MilvusVectorStore

    class QAMilvusVectorStore(MilvusVectorStore):
        """MilvusVectorStore with an exact full-text search that works on milvus-lite too.

        The stock full-text query (``query`` in ``TEXT_SEARCH`` mode) asks for
        ``drop_ratio_search=0.2`` (drop the smallest fifth of the query's terms), which
        milvus-lite rejects and which would make BM25 results differ from the FAISS store's;
        llama-index-vector-stores-milvus 1.2 has no parameter for it. ``text_search`` runs the
        same search through the store's public pymilvus client with the ratio at 0.
        """

        def text_search(self, text: str, limit: int) -> Any:
            """The ``limit`` best rows by Milvus' BM25 of ``text``, as a ``VectorStoreQueryResult``."""
            from llama_index.core.vector_stores.types import VectorStoreQueryResult

            res = self.client.search(
                collection_name=self.collection_name,
                data=[text],
                anns_field=self.sparse_embedding_field,
                limit=limit,
                output_fields=["id"],
                search_params={"metric_type": "BM25", "params": {"drop_ratio_search": 0.0}},
            )
            hits = res[0] if res else []
            return VectorStoreQueryResult(
                ids=[hit["id"] for hit in hits], similarities=[hit["distance"] for hit in hits]
            )

        def vectors(self, ids: list[str]) -> dict[str, list[float]]:
            """Stored dense vectors by node id (missing ids are left out)."""
            out: dict[str, list[float]] = {}
            for start in range(0, len(ids), BATCH):
                rows = self.client.query(
                    collection_name=self.collection_name,
                    ids=ids[start : start + BATCH],
                    output_fields=[self.embedding_field],
                )
                out.update({r["id"]: r[self.embedding_field] for r in rows})
            return out

    return QAMilvusVectorStore


def _ensure_loaded(store: Any, collection: str) -> None:
    """A collection must be loaded to be searched; a restarted server or process starts released."""
    from pymilvus.client.types import LoadState

    if store.client.get_load_state(collection).get("state") != LoadState.Loaded:
        store.client.load_collection(collection)


def connect(
    uri: str,
    token: str,
    collection: str,
    dim: int,
    *,
    create: bool = False,
    index_type: str = "FLAT",
):
    """Open (or with ``create``, make) a collection; errors are one StoreError line."""
    try:
        from pymilvus import MilvusClient
    except ImportError as exc:  # the optional extra is not installed
        raise StoreError("--store milvus needs the Milvus client: pip install 'qa-docs[milvus]'") from exc
    _quiet_logs()
    try:
        probe = MilvusClient(uri=uri, token=token, timeout=CONNECT_TIMEOUT)
        exists = probe.has_collection(collection)
    except Exception as exc:
        raise unreachable(uri, exc) from exc
    if not exists and not create:
        raise StoreError(
            f"Milvus collection {collection} is missing at {uri}; re-index with --rebuild "
            "(or pass the --milvus-uri that holds it)"
        )
    from llama_index.vector_stores.milvus.utils import BM25BuiltInFunction

    index_config: dict[str, Any] = {"index_type": index_type, "metric_type": "IP"}
    if index_type == "HNSW":
        index_config.update(M=16, efConstruction=200)
    elif index_type == "IVF_FLAT":
        index_config.update(nlist=1024)
    search_config: dict[str, Any] = {}
    if index_type == "HNSW":
        search_config = {"params": {"ef": 128}}
    elif index_type == "IVF_FLAT":
        search_config = {"params": {"nprobe": 32}}
    with guard(uri, "opening collection " + collection):
        store = _store_class()(
            uri=uri,
            token=token,
            collection_name=collection,
            dim=dim,
            similarity_metric="IP",
            index_config=index_config,
            search_config=search_config,
            enable_sparse=True,
            sparse_embedding_function=BM25BuiltInFunction(
                input_field_names=TEXT_FIELD, output_field_names=SPARSE_FIELD, function_name="qa_bm25"
            ),
            sparse_embedding_field=SPARSE_FIELD,
            sparse_index_config=dict(BM25_PARAMS),
            text_key=TEXT_FIELD,
            consistency_level="Strong",  # `qa ask` right after `qa index`, from another process
            upsert_mode=True,  # re-inserting a node a crashed update left behind must not duplicate it
            batch_size=BATCH,
            use_async_client=False,
            timeout=CONNECT_TIMEOUT,
        )
        _ensure_loaded(store, collection)
        return store


def check_reachable(uri: str, token: str) -> None:
    """Fail before minutes of embedding, not after, when the server is down."""
    try:
        from pymilvus import MilvusClient
    except ImportError as exc:
        raise StoreError("--store milvus needs the Milvus client: pip install 'qa-docs[milvus]'") from exc
    _quiet_logs()
    try:
        MilvusClient(uri=uri, token=token, timeout=CONNECT_TIMEOUT).list_collections()
    except Exception as exc:
        raise unreachable(uri, exc) from exc


def drop_collection(uri: str, token: str, collection: str) -> None:
    _quiet_logs()
    from pymilvus import MilvusClient

    try:
        client = MilvusClient(uri=uri, token=token, timeout=CONNECT_TIMEOUT)
    except Exception as exc:
        raise unreachable(uri, exc) from exc
    with guard(uri, "dropping collection " + collection):
        if client.has_collection(collection):
            client.drop_collection(collection)


def write_pending(index_dir: Path, pending: dict[str, Any]) -> None:
    tmp = index_dir / (PENDING_FILE + ".tmp")
    tmp.write_text(json.dumps(pending), encoding="utf-8")
    with open(tmp, "rb") as fh:
        os.fsync(fh.fileno())
    os.replace(tmp, index_dir / PENDING_FILE)


def clear_pending(index_dir: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        (index_dir / PENDING_FILE).unlink()


def recover(index_dir: Path, live_generation: str, token: str) -> None:
    """Finish or undo what a crashed update left in Milvus; called under the write lock.

    The update committed iff CURRENT moved off the generation it started from: then the
    replaced versions' nodes (or the replaced collection) go; otherwise the nodes (or the
    new collection) it inserted go. Either way the live generation is exactly what remains.
    """
    path = index_dir / PENDING_FILE
    if not path.exists():
        return
    pending = json.loads(path.read_text(encoding="utf-8"))
    committed = live_generation != pending.get("base", "")
    uri = pending["uri"]
    if pending.get("new_collection"):
        if committed:
            old = pending.get("old")
            if old:
                drop_collection(old["uri"], token, old["collection"])
        else:
            drop_collection(uri, token, pending["collection"])
    else:
        ids = pending["stale"] if committed else pending["inserted"]
        if ids:
            store = connect(uri, token, pending["collection"], int(pending["dim"]), create=False)
            delete_nodes(store, uri, ids)
    clear_pending(index_dir)


def delete_nodes(store: Any, uri: str, ids: list[str]) -> None:
    with guard(uri, "deleting replaced chunks"):
        for start in range(0, len(ids), BATCH):
            store.delete_nodes(node_ids=ids[start : start + BATCH])


def insert_nodes(store: Any, uri: str, nodes: list) -> None:
    with guard(uri, "inserting chunks"):
        store.add(nodes)


def flush(store: Any, uri: str) -> None:
    """Seal what was inserted: durable before the generation that needs it is committed, and
    on milvus-lite, searched from a built index rather than a memtable rebuilt per query."""
    with guard(uri, "flushing inserted chunks"):
        store.client.flush(store.collection_name)


def make_node(nid: str, key: str, digest: str, chunk: int, start: int, end: int, text: str, vec: np.ndarray):
    from llama_index.core.schema import NodeRelationship, RelatedNodeInfo, TextNode

    node = TextNode(
        id_=nid,
        text=lex_text(text),
        embedding=np.asarray(vec, dtype=np.float32).tolist(),
        metadata={"doc": key, "chunk": chunk, "start": start, "end": end},
    )
    node.relationships[NodeRelationship.SOURCE] = RelatedNodeInfo(node_id=f"{key}@{digest[:16]}")
    return node


def physical_collection(config: StoreConfig, index_dir: Path) -> str:
    import secrets

    return f"{config.collection or default_collection_base(index_dir)}_{secrets.token_hex(3)}"
