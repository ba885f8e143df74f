"""The persisted index: generations on disk, a manifest, and incremental, atomic updates.

Layout of an index folder::

    CURRENT                 name of the live generation (replaced atomically)
    gen-000003-ab12cd/      one complete, immutable generation
        manifest.json       format, model, chunking, root and per-document content hashes
        docs.json           each document's plain text, title and page spans
        chunks.npy          (doc, start, end) per chunk; row i is FAISS id i
        sentences.npy       (chunk, start, end) per sentence, grouped by chunk
        sentence_vecs.npy   float16 sentence vectors (same rows)
        default__vector_store.json   the FAISS index (FaissVectorStore.persist)  } FAISS
        bm25/               the lexical index                                   } store
        lexicon.json        document frequencies per token                      } Milvus store
    milvus.db/              milvus-lite's data, when it is the Milvus store and no URI was given
    milvus-pending.json     Milvus nodes of an update in flight (see ``_milvus.recover``)

A new generation is assembled in a ``.staging-*`` folder and only becomes live when
``CURRENT`` is swapped, so a crash or Ctrl-C at any point leaves the previous index loadable.
With the Milvus store the vectors and BM25 index live in a Milvus collection named in the
manifest; the generation folder holds the rest.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import secrets
import shutil
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ._chunking import chunk_document
from ._config import StoreConfig
from ._embed import Embedder
from ._errors import IndexBusy, IndexError_, IndexMismatch, IndexNotFound, IndexNotWritable
from ._lexical import LexicalIndex, _ranges
from ._readers import (
    EXTRACTION_VERSION,
    BadDocument,
    ParsedDocument,
    content_hash,
    page_at,
    parse_document,
    read_bytes,
)
from ._report import IndexConfig, IndexReport
from ._walk import FAILED, INVALID, UNREADABLE, UNREADABLE_FOLDER, UNSUPPORTED, walk

if TYPE_CHECKING:
    from ._settings import Settings

FORMAT_VERSION = 2  # 2: chunks are embedded and BM25-indexed with their document's title
VECTOR_FILE = "default__vector_store.json"


def default_index_dir(settings: Settings | None = None) -> Path:
    """The settings' ``index_dir`` (``$QA_INDEX_DIR``), else ``.qa/index`` under the current directory."""
    if settings is not None and settings.index_dir:
        return Path(settings.index_dir).expanduser()
    return Path.cwd() / ".qa" / "index"


# ---------------------------------------------------------------- on-disk generations


def _fsync_file(path: Path) -> None:
    with open(path, "rb") as fh:
        os.fsync(fh.fileno())


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _current_generation(index_dir: Path) -> Path | None:
    pointer = index_dir / "CURRENT"
    if not pointer.is_file():
        return None
    name = pointer.read_text(encoding="utf-8").strip()
    gen = index_dir / name
    return gen if name and gen.is_dir() else None


@contextlib.contextmanager
def _write_lock(index_dir: Path) -> Iterator[None]:
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


def _commit(index_dir: Path, staging: Path) -> Path:
    """Make ``staging`` the live generation; keep the previous one for readers mid-load."""
    previous = _current_generation(index_dir)
    number = 1
    if previous is not None:
        with contextlib.suppress(ValueError, IndexError):
            number = int(previous.name.split("-")[1]) + 1
    final = index_dir / f"gen-{number:06d}-{secrets.token_hex(3)}"
    os.rename(staging, final)
    _fsync_dir(index_dir)
    tmp = index_dir / "CURRENT.tmp"
    tmp.write_text(final.name + "\n", encoding="utf-8")
    _fsync_file(tmp)
    os.replace(tmp, index_dir / "CURRENT")
    _fsync_dir(index_dir)
    keep = {final.name, previous.name if previous else ""}
    for child in index_dir.iterdir():
        if (
            child.is_dir()
            and child.name not in keep
            and (child.name.startswith("gen-") or child.name.startswith(".staging-"))
        ):
            shutil.rmtree(child, ignore_errors=True)
    return final


# ---------------------------------------------------------------- loaded index


@dataclass
class DocumentRecord:
    key: str
    title: str
    text: str
    hash: str
    pages: list[tuple[int, int, int]]

    def page_at(self, offset: int) -> int | None:
        return page_at(self.pages, offset)


class CorpusIndex:
    """A loaded generation: everything retrieval and answering need, in memory.

    >>> idx = CorpusIndex.open(".qa/index")          # doctest: +SKIP
    >>> idx.n_chunks, idx.documents[0].title          # doctest: +SKIP
    """

    def __init__(
        self,
        path: Path,
        manifest: dict[str, Any],
        documents: list[DocumentRecord],
        chunks: np.ndarray,
        sentences: np.ndarray,
        sentence_vecs: np.ndarray,
        backend: Any,
    ) -> None:
        self.path = path
        self.manifest = manifest
        self.documents = documents
        self.chunks = chunks
        self.sentences = sentences
        self.sentence_vecs = sentence_vecs
        self.backend = backend
        counts = np.bincount(sentences[:, 0], minlength=len(chunks)) if len(sentences) else None
        self._sent_ptr = (
            np.concatenate([[0], np.cumsum(counts)])
            if counts is not None
            else np.zeros(len(chunks) + 1, dtype=np.int64)
        )

    @property
    def vector_store(self) -> Any:
        """The llama-index vector store (``FaissVectorStore`` or ``MilvusVectorStore``)."""
        return self.backend.vector_store

    @property
    def lexical(self) -> Any:
        """BM25 ``search(query, k)`` and ``idf(token)``; in Milvus' BM25 for the Milvus store."""
        return self.backend.lexical

    @property
    def store(self) -> dict[str, Any]:
        """The manifest's record of where the vectors live (``kind``, and Milvus' uri/collection)."""
        return dict(self.manifest.get("store") or {"kind": "faiss"})

    @property
    def n_chunks(self) -> int:
        return int(len(self.chunks))

    @property
    def embed_model(self) -> str:
        return str(self.manifest["embed_model"])

    @property
    def root(self) -> str:
        return str(self.manifest.get("root", ""))

    def chunk_doc(self, i: int) -> DocumentRecord:
        return self.documents[int(self.chunks[i, 0])]

    def chunk_span(self, i: int) -> tuple[int, int]:
        return int(self.chunks[i, 1]), int(self.chunks[i, 2])

    def chunk_text(self, i: int) -> str:
        s, e = self.chunk_span(i)
        return self.chunk_doc(i).text[s:e]

    def chunk_sentences(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        """Rows of ``(chunk, start, end)`` and their vectors for chunk ``i``."""
        a, b = int(self._sent_ptr[i]), int(self._sent_ptr[i + 1])
        return self.sentences[a:b], self.sentence_vecs[a:b]

    def span_sentences(self, doc: int, start: int, end: int) -> tuple[np.ndarray, np.ndarray]:
        """Stored sentences of document ``doc`` lying inside ``[start, end)``, each once.

        For passages cut by someone else's chunker (the llama-index baseline in eval).
        """
        if not len(self.sentences):
            return self.sentences, self.sentence_vecs
        rows = self.sentences
        mask = (self.chunks[rows[:, 0], 0] == doc) & (rows[:, 1] >= start) & (rows[:, 2] <= end)
        idx = np.flatnonzero(mask)
        _, first = np.unique(rows[idx, 1], return_index=True)
        idx = idx[np.sort(first)]
        return rows[idx], self.sentence_vecs[idx]

    def dense_search(self, query_vec: np.ndarray, k: int) -> list[tuple[int, float]]:
        """The ``k`` chunks nearest ``query_vec`` as ``(row, cosine)``, through the vector store."""
        return self.backend.dense_search(query_vec, k)

    def chunk_vector(self, i: int) -> np.ndarray:
        """The stored vector of chunk ``i`` (what FAISS' ``reconstruct`` gave, for any store)."""
        return self.backend.chunk_vectors([int(i)])[0]

    def chunk_vectors(self, rows: list[int] | None = None) -> np.ndarray:
        """Stored vectors of ``rows`` (all chunks when None), one round trip for a remote store."""
        return self.backend.chunk_vectors(rows)

    def close(self) -> None:
        """Release the store's connection (nothing to do for FAISS)."""
        close = getattr(self.backend, "close", None)
        if close is not None:
            close()

    @classmethod
    def open(
        cls,
        index_dir: str | Path | None = None,
        store: StoreConfig | str | None = None,
        settings: Settings | None = None,
    ) -> CorpusIndex:
        """Load the live generation; ``store`` may name the expected kind or a moved Milvus URI.
        ``settings`` supply the default folder and the Milvus token when these are not given."""
        index_dir = Path(index_dir) if index_dir else default_index_dir(settings)
        gen = _current_generation(index_dir)
        if gen is None:
            raise IndexNotFound(
                f"no index at {index_dir}; build one first with: qa index DOCS_DIR"
                + (f" --index-dir {index_dir}" if index_dir != default_index_dir(settings) else "")
            )
        return cls._load(gen, StoreConfig.coerce(store).with_settings(settings))

    @classmethod
    def _load(cls, gen: Path, store: StoreConfig | None = None) -> CorpusIndex:
        manifest = json.loads((gen / "manifest.json").read_text(encoding="utf-8"))
        if manifest.get("format_version") != FORMAT_VERSION:
            raise IndexMismatch(
                f"index at {gen.parent} has format {manifest.get('format_version')}, this "
                f"version reads {FORMAT_VERSION}; re-index with --rebuild"
            )
        recorded = manifest.get("store") or {"kind": "faiss"}
        store = store or StoreConfig()
        if store.kind and store.kind != recorded["kind"]:
            raise IndexMismatch(
                f"index at {gen.parent} keeps its vectors in {recorded['kind']}, not {store.kind}; "
                f"drop --store (or $QA_STORE), or re-index with --store {store.kind} --rebuild"
            )
        docs_raw = json.loads((gen / "docs.json").read_text(encoding="utf-8"))
        documents = [
            DocumentRecord(d["key"], d["title"], d["text"], d["hash"], [tuple(p) for p in d["pages"]])
            for d in docs_raw
        ]
        chunks = np.load(gen / "chunks.npy")
        if recorded["kind"] == "milvus":
            from . import _milvus

            uri = store.uri or _milvus.recorded_uri_to_connect(recorded["uri"], gen.parent)
            vector_store = _milvus.connect(
                uri,
                store.resolved_token(),
                recorded["collection"],
                int(manifest["dim"]),
                index_type=recorded.get("index_type", "FLAT"),
            )
            ids = _milvus.node_ids_for([(d.key, d.hash) for d in documents], chunks)
            backend: Any = _milvus.MilvusBackend(
                vector_store, ids, _milvus.Lexicon.load(gen / _milvus.LEXICON_FILE), uri
            )
        else:
            backend = FaissBackend.load(gen)
        return cls(
            gen,
            manifest,
            documents,
            chunks,
            np.load(gen / "sentences.npy"),
            _map_npy(gen / "sentence_vecs.npy"),
            backend,
        )


def _map_npy(path: Path) -> np.ndarray:
    """A read-only, memory-mapped ``.npy`` for rows read a few at a time (sentence vectors:
    650 MB at 100k chunks, of which an answer reads a few KB). The pages live in the page
    cache, shared and reclaimable, not in the process's private memory; random-access
    advice keeps a cold read from pulling in megabytes around each row."""
    import mmap

    with open(path, "rb") as fh:
        fmt = np.lib.format
        version = fmt.read_magic(fh)
        read_header = fmt.read_array_header_1_0 if version == (1, 0) else fmt.read_array_header_2_0
        shape, fortran, dtype = read_header(fh)
        offset = fh.tell()
        if fortran or dtype.hasobject or not int(np.prod(shape)):
            return np.load(path)
        mapped = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
    with contextlib.suppress(AttributeError, OSError):
        mapped.madvise(mmap.MADV_RANDOM)
    return np.frombuffer(mapped, dtype=dtype, count=int(np.prod(shape)), offset=offset).reshape(shape)


@contextlib.contextmanager
def _one_faiss_thread() -> Iterator[None]:
    """One OpenMP thread for a FAISS search, restored after: for one query a second thread
    only adds start-up and contention (a 100k-chunk flat search took 12 ms with one thread
    against 18 ms with two on an idle 2-core machine; BENCHMARKS.md, fix 4). It must be
    restored because torch shares the OpenMP runtime: left at one, the same thread's next
    embedding ran at half speed (3.6 s against 1.9 s for 64 passages)."""
    import faiss

    before = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1)
    try:
        yield
    finally:
        faiss.omp_set_num_threads(before)


class FaissBackend:
    """Vectors in a FAISS IndexFlatIP (row i = FAISS id i) beside a bm25s index, all in memory."""

    kind = "faiss"

    def __init__(self, vector_store: Any, lexical: LexicalIndex) -> None:
        self.vector_store = vector_store
        self.lexical = lexical

    @classmethod
    def load(cls, gen: Path) -> FaissBackend:
        from llama_index.vector_stores.faiss import FaissVectorStore

        return cls(
            FaissVectorStore.from_persist_path(str(gen / VECTOR_FILE)), LexicalIndex.load(gen / "bm25")
        )

    def dense_search(self, query_vec: np.ndarray, k: int) -> list[tuple[int, float]]:
        from llama_index.core.vector_stores.types import VectorStoreQuery

        n = int(self.vector_store.client.ntotal)
        if n == 0:
            return []
        with _one_faiss_thread():
            result = self.vector_store.query(
                VectorStoreQuery(query_embedding=query_vec.tolist(), similarity_top_k=min(k, n))
            )
        return [(int(i), float(s)) for i, s in zip(result.ids or [], result.similarities or [], strict=False)]

    def chunk_vectors(self, rows: list[int] | None = None) -> np.ndarray:
        client = self.vector_store.client
        if rows is None:
            return (
                client.reconstruct_n(0, client.ntotal)
                if client.ntotal
                else np.zeros((0, client.d), np.float32)
            )
        if not len(rows):
            return np.zeros((0, client.d), np.float32)
        return np.stack([client.reconstruct(int(r)) for r in rows])


# ---------------------------------------------------------------- building


@dataclass
class _DocBuild:
    key: str
    title: str
    text: str
    hash: str
    pages: list[tuple[int, int, int]]
    chunks: list[tuple[int, int]]  # (start, end)
    sentences: list[tuple[int, int, int]]  # (local chunk idx, start, end)
    chunk_vecs: np.ndarray | None = None
    sentence_vecs: np.ndarray | None = None


def _warn(message: str) -> None:
    print(f"warning: {message}", file=sys.stderr, flush=True)


def chunk_context(title: str, text: str, start: int) -> str:
    """What a chunk is embedded and BM25-indexed with: its document's title, unless already in it.

    A passage's subject is often named only in the title ("Cast" under "Doctor Who (series
    11)"); without it a chunk cannot match questions that name the subject.
    """
    title = title.strip()
    if not re.search(r"[^\W\d_]{3,}", title):  # "000_5c57..." names a file, not a subject
        return ""
    if title in text[max(0, start - 1) : start + len(title) + 3]:
        return ""
    return title + "\n"


def _check_compatible(manifest: dict[str, Any], config: IndexConfig, root: Path, index_dir: Path) -> None:
    if manifest.get("format_version") != FORMAT_VERSION:
        raise IndexMismatch(
            f"index at {index_dir} has format {manifest.get('format_version')}, this version writes "
            f"{FORMAT_VERSION}; re-run with --rebuild to re-embed everything"
        )
    wanted = {
        "embed_model": config.embed_model,
        "chunk_size": config.chunk_size,
        "chunk_overlap": config.chunk_overlap,
    }
    for key, value in wanted.items():
        if manifest.get(key) != value:
            raise IndexMismatch(
                f"index at {index_dir} was built with {key}={manifest.get(key)!r}, not {value!r}; "
                "re-run with --rebuild to re-embed everything"
            )
    if manifest.get("root") and manifest["root"] != str(root):
        raise IndexMismatch(
            f"index at {index_dir} holds documents from {manifest['root']}, not {root}; "
            "use --rebuild to replace them, or another --index-dir"
        )


def update_index(
    docs: str | Path,
    index_dir: str | Path | None = None,
    config: IndexConfig | None = None,
    *,
    rebuild: bool = False,
    embedder: Embedder | None = None,
    show_progress: bool = True,
    progress: Callable[[int, int], None] | None = None,
    warn: Callable[[str], None] = _warn,
    store: StoreConfig | str | None = None,
    settings: Settings | None = None,
) -> IndexReport:
    """Bring the index in line with the files under ``docs``, embedding only what changed.

    ``store`` picks where vectors live for a new index or a ``rebuild`` (``"faiss"``, the
    default, or ``"milvus"`` / a :class:`StoreConfig`); an existing index keeps its own.
    ``settings`` (an :class:`index.Settings`) supply what is not given: the index folder, a
    new Milvus store's URI and the Milvus token, the embedder's query backend.

    >>> report = update_index("seeds/", ".qa/index")   # doctest: +SKIP
    >>> print(report.summary())                        # doctest: +SKIP
    """
    started = time.perf_counter()
    config = config or IndexConfig()
    config.validate()
    requested = StoreConfig.coerce(store).with_settings(settings)
    root = Path(docs).expanduser().resolve()
    index_dir = Path(index_dir).expanduser() if index_dir else default_index_dir(settings)
    if not root.exists():
        raise IndexNotFound(f"{docs}: no such file or folder")
    report = IndexReport(index_dir=str(index_dir))

    with _write_lock(index_dir):
        gen = _current_generation(index_dir)
        _recover_milvus(index_dir, gen, requested)
        recorded = _recorded_store(gen)
        previous: CorpusIndex | None = None
        if gen is not None and not rebuild:
            if requested.kind and requested.kind != recorded["kind"]:
                raise IndexMismatch(
                    f"index at {index_dir} keeps its vectors in {recorded['kind']}, not {requested.kind}; "
                    f"re-run with --rebuild to re-embed everything into {requested.kind}"
                )
            previous = CorpusIndex._load(gen, requested)
            _check_compatible(previous.manifest, config, root, index_dir)
            extraction = previous.manifest.get("extraction", 1)
            if extraction != EXTRACTION_VERSION:  # same bytes, other text: every file is read again
                warn(
                    f"index at {index_dir} holds text from extraction version {extraction}, this version "
                    f"extracts with {EXTRACTION_VERSION}; re-reading and re-embedding every document"
                )
                previous.close()
                previous = None
        default_uri = settings.milvus_uri if settings is not None else None
        target = _target_store(requested, recorded, previous, index_dir, default_uri)
        if target["kind"] == "milvus" and previous is None:
            from . import _milvus

            _milvus.check_reachable(target["connect"], target["token"])

        prev_docs = {d.key: i for i, d in enumerate(previous.documents)} if previous else {}
        base = root if root.is_dir() else root.parent
        plan: list[tuple[str, str, ParsedDocument | None]] = []  # key, hash, parsed (None = reuse)
        paths: dict[str, Path] = {}

        def skip(path: Path, key: str | None, kind: str, reason: str, quiet: bool = False) -> None:
            if not quiet:
                warn(f"skipped {path}: {reason}")
            report.skip(str(path), kind, reason)
            if key in prev_docs:  # keep the last good version rather than lose it
                plan.append((key, previous.documents[prev_docs[key]].hash, None))

        walked = walk(root)
        for left_out in walked.skipped:  # unsupported types are only counted: a folder may hold many
            where = Path(left_out.path)
            skip(where, None, left_out.kind, left_out.reason, quiet=left_out.kind == UNSUPPORTED)
            if left_out.kind in (UNREADABLE, UNREADABLE_FOLDER):  # still there, only unreadable now
                rel = where.relative_to(base).as_posix() if where != base else ""
                for key in prev_docs:
                    if key == rel or not rel or key.startswith(rel + "/"):
                        plan.append((key, previous.documents[prev_docs[key]].hash, None))
        report.found = len(walked.files)
        for path in walked.files:
            key = path.relative_to(base).as_posix()
            paths[key] = path
            try:
                data = read_bytes(path)
            except BadDocument as exc:
                skip(path, key, UNREADABLE, str(exc))
                continue
            digest = content_hash(data)
            if key in prev_docs and previous.documents[prev_docs[key]].hash == digest:
                plan.append((key, digest, None))
                report.unchanged.append(key)
                continue
            try:
                parsed = parse_document(path, data)
                report.ocr_pages += parsed.ocr_pages
                report.ocr_seconds += parsed.ocr_seconds
                for note in parsed.warnings:
                    warn(f"{path}: {note}")
            except BadDocument as exc:
                skip(path, key, INVALID, str(exc))
                continue
            except Exception as exc:  # noqa: BLE001 - one file must never stop the others
                skip(path, key, FAILED, f"failed while reading it ({_cause(exc)})")
                continue
            plan.append((key, digest, parsed))
            (report.updated if key in prev_docs else report.added).append(key)
        planned = {k for k, _, _ in plan}
        report.removed = sorted(k for k in prev_docs if k not in planned)

        moved = previous is not None and target.get("uri") != previous.store.get("uri")
        if previous is not None and not (report.added or report.updated or report.removed or moved):
            return _unchanged(report, previous, started)
        backend = settings.query_backend if settings is not None else None
        # before staging: see the kill test
        embedder = embedder or Embedder.shared(config.embed_model, backend)

        # the staging folder exists while the update works (chunking, embedding, writing), so an
        # update killed at any point leaves a folder the next run sweeps, never a half-live index
        staging = index_dir / f".staging-{secrets.token_hex(4)}"
        made = writing = False
        try:
            staging.mkdir(parents=True)
            made = True
            failed: dict[str, str] = {}
            builds = _chunk_new(plan, config, embedder, failed)
            _embed_new(builds, embedder, config, show_progress, progress, failed)
            if failed:  # those files are skipped like unreadable ones; the rest goes in
                plan = [p for p in plan if p[0] not in failed]
                for key, reason in failed.items():
                    builds.pop(key, None)
                    for done in (report.added, report.updated):
                        if key in done:
                            done.remove(key)
                    skip(paths[key], key, FAILED, reason)
                if previous is not None and not (report.added or report.updated or report.removed or moved):
                    shutil.rmtree(staging, ignore_errors=True)
                    return _unchanged(report, previous, started, close=False)  # closed below
            writing = True
            dim = _vector_dim(builds, previous) or embedder.dim
            milvus_work = _write_generation(staging, plan, builds, previous, config, root, dim, target)
            if milvus_work is not None:
                milvus_work.apply(index_dir, gen)
            _commit(index_dir, staging)
        except BaseException as exc:
            for _ in range(3):  # a file still being closed can make one pass miss it
                shutil.rmtree(staging, ignore_errors=True)
                if not staging.exists():
                    break
                time.sleep(0.05)
            if writing and target["kind"] == "milvus":  # undo the inserts now if Milvus still answers
                with contextlib.suppress(Exception):
                    _recover_milvus(index_dir, gen, requested)
            # the previous generation is untouched and stays live
            if isinstance(exc, OSError) and (writing or not made):
                raise IndexNotWritable.wrap(index_dir, exc) from exc
            raise
        finally:
            if previous is not None:
                previous.close()
        if milvus_work is not None:
            try:
                milvus_work.finish(index_dir)
            except IndexError_ as exc:
                warn(f"{exc}; the replaced chunks stay hidden and the next `qa index` removes them")
        if recorded["kind"] == "milvus" and target["kind"] == "faiss":  # rebuilt out of Milvus
            from . import _milvus

            old_uri = _milvus.recorded_uri_to_connect(recorded["uri"], index_dir)
            try:
                _milvus.drop_collection(old_uri, requested.resolved_token(), recorded["collection"])
            except IndexError_ as exc:
                warn(f"{exc}; collection {recorded['collection']} is no longer used and may be dropped")
        report.embedded_chunks = sum(len(b.chunks) for b in builds.values())
        loaded = json.loads((_current_generation(index_dir) / "manifest.json").read_text())
        report.n_documents = len(loaded["documents"])
        report.n_chunks = sum(d["n_chunks"] for d in loaded["documents"].values())
        report.seconds = time.perf_counter() - started
        return report


def _unchanged(report: IndexReport, previous: CorpusIndex, started: float, close: bool = True) -> IndexReport:
    """The report of an update that changes nothing: the live generation's counts."""
    report.n_documents = len(previous.documents)
    report.n_chunks = previous.n_chunks
    report.seconds = time.perf_counter() - started
    if close:
        previous.close()
    return report


def _recorded_store(gen: Path | None) -> dict[str, Any]:
    if gen is None:
        return {"kind": "faiss"}
    with contextlib.suppress(OSError, ValueError):
        manifest = json.loads((gen / "manifest.json").read_text(encoding="utf-8"))
        return dict(manifest.get("store") or {"kind": "faiss"})
    return {"kind": "faiss"}


def _recover_milvus(index_dir: Path, gen: Path | None, requested: StoreConfig) -> None:
    from . import _milvus

    if (index_dir / _milvus.PENDING_FILE).exists():
        _milvus.recover(index_dir, gen.name if gen else "", requested.resolved_token())


def _target_store(
    requested: StoreConfig,
    recorded: dict[str, Any],
    previous: CorpusIndex | None,
    index_dir: Path,
    default_uri: str | None = None,
) -> dict[str, Any]:
    """The manifest's ``store`` record for the generation being written (plus how to reach it);
    a new Milvus store without a requested URI goes to ``default_uri`` (``$QA_MILVUS_URI``)."""
    kind = requested.kind or recorded["kind"]
    if kind == "faiss":
        return {"kind": "faiss"}
    from . import _milvus

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
    if previous is not None:  # incremental: the same collection
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


def _cause(exc: BaseException) -> str:
    """An unexpected failure as one line: its type and the first line of its message."""
    lines = str(exc).strip().splitlines()
    first = lines[0][:200] if lines else ""
    return f"{type(exc).__name__}: {first}" if first else type(exc).__name__


def _chunk_new(plan, config: IndexConfig, embedder: Embedder, failed: dict[str, str]) -> dict[str, _DocBuild]:
    """Chunk each new or changed document; one that fails goes into ``failed`` with why."""
    builds: dict[str, _DocBuild] = {}
    counter = None
    for key, digest, parsed in plan:
        if parsed is None:
            continue
        counter = counter or embedder.token_counter()  # outside the try: a missing model is no file's fault
        try:
            spans = chunk_document(parsed.text, config.chunk_size, config.chunk_overlap, counter)
        except Exception as exc:  # noqa: BLE001 - one file must never stop the others
            failed[key] = f"failed while chunking it ({_cause(exc)})"
            continue
        if not spans:
            failed[key] = "no text to index after chunking"
            continue
        sentences = [(ci, s, e) for ci, c in enumerate(spans) for s, e in c.sentences]
        builds[key] = _DocBuild(
            key,
            parsed.title,
            parsed.text,
            digest,
            parsed.pages,
            [(c.start, c.end) for c in spans],
            sentences,
        )
    return builds


def _embed_new(
    builds: dict[str, _DocBuild],
    embedder: Embedder,
    config: IndexConfig,
    show_progress: bool,
    progress: Callable[[int, int], None] | None,
    failed: dict[str, str],
) -> None:
    """Embed the chunks of ``builds`` in length-sorted batches across documents.

    A batch that fails is embedded again one document at a time, so that only the
    document at fault lands in ``failed`` (with why) and the others still go in.
    """
    jobs = [(b, ci) for b in builds.values() for ci in range(len(b.chunks))]
    total = len(jobs)
    if total == 0:
        return
    embedder.warm_up()  # outside the per-file handling: a model that will not load is no file's fault
    bar = None
    if show_progress:
        from tqdm import tqdm

        bar = tqdm(total=total, unit="chunk", desc="embedding", file=sys.stderr)
    chunk_out: dict[str, list] = {k: [None] * len(b.chunks) for k, b in builds.items()}
    sent_out: dict[str, dict[int, np.ndarray]] = {k: {} for k in builds}
    step = max(config.batch_size * 2, 16)
    # Similar lengths per batch waste less padding.
    jobs.sort(key=lambda j: j[0].chunks[j[1]][1] - j[0].chunks[j[1]][0])
    done = 0
    try:
        for i in range(0, total, step):
            batch = [j for j in jobs[i : i + step] if j[0].key not in failed]
            try:
                groups = [(batch, _embed_batch(embedder, batch))]
            except Exception:  # noqa: BLE001 - find the document at fault, keep the others
                groups = []
                for key in dict.fromkeys(b.key for b, _ in batch):
                    mine = [j for j in batch if j[0].key == key]
                    try:
                        groups.append((mine, _embed_batch(embedder, mine)))
                    except Exception as exc:  # noqa: BLE001 - one file must never stop the others
                        failed[key] = f"failed while embedding it ({_cause(exc)})"
            for group, vecs in groups:
                for (b, ci), cv, sv in zip(group, vecs.chunk, vecs.sentences, strict=True):
                    chunk_out[b.key][ci] = cv
                    sent_out[b.key][ci] = sv
            done += len(jobs[i : i + step])
            if bar is not None:
                bar.update(len(jobs[i : i + step]))
            if progress is not None:
                progress(done, total)
    finally:
        if bar is not None:
            bar.close()
    for key, b in builds.items():
        if key in failed or not b.chunks:
            continue
        b.chunk_vecs = np.stack(chunk_out[key]).astype(np.float32)
        parts = [sent_out[key][ci] for ci in range(len(b.chunks))]
        b.sentence_vecs = np.concatenate(parts) if parts else np.zeros((0, b.chunk_vecs.shape[1]))


def _embed_batch(embedder: Embedder, batch: list[tuple[_DocBuild, int]]) -> Any:
    """One forward pass over chunks (each with its title context) and their sentence spans."""
    texts, spans = [], []
    for b, ci in batch:
        s, e = b.chunks[ci]
        prefix = chunk_context(b.title, b.text, s)
        texts.append(prefix + b.text[s:e])
        off = len(prefix) - s
        spans.append([(ss + off, se + off) for c, ss, se in b.sentences if c == ci])
    return embedder.embed_passages(texts, spans)


def _vector_dim(builds: dict[str, _DocBuild], previous: CorpusIndex | None) -> int | None:
    """The vector width from what is at hand, so removing files never loads the model for it."""
    for b in builds.values():
        if b.chunk_vecs is not None and b.chunk_vecs.ndim == 2 and b.chunk_vecs.shape[1]:
            return int(b.chunk_vecs.shape[1])
    return int(previous.manifest["dim"]) if previous is not None and previous.manifest.get("dim") else None


PrebuiltDocument = _DocBuild


def write_prebuilt_generation(
    index_dir: str | Path,
    root: str | Path,
    documents: list[PrebuiltDocument],
    config: IndexConfig | None = None,
) -> Path:
    """Write a real, loadable FAISS generation from documents chunked and embedded elsewhere.

    For benchmarks and tests at sizes we cannot afford to embed (100k chunks is hours
    on a laptop CPU): everything after embedding is the same code ``update_index`` runs.
    ``documents[i].hash`` must be the file's content hash if ``update_index`` is to treat
    the file as unchanged later.
    """
    config = config or IndexConfig()
    index_dir = Path(index_dir)
    if not documents:
        raise ValueError("write_prebuilt_generation needs at least one document")
    if len({d.key for d in documents}) != len(documents):
        raise ValueError("write_prebuilt_generation: two documents have the same key")
    dim = None
    for d in documents:  # the writer scatters sentences by chunk: they must come in chunk order
        if d.chunk_vecs is None or d.sentence_vecs is None:
            raise ValueError(f"{d.key}: chunk and sentence vectors are required")
        if len(d.chunk_vecs) != len(d.chunks) or len(d.sentence_vecs) != len(d.sentences):
            raise ValueError(f"{d.key}: one vector per chunk and per sentence is required")
        owners = [c for c, _, _ in d.sentences]
        if owners != sorted(owners) or (owners and not 0 <= owners[0] <= owners[-1] < len(d.chunks)):
            raise ValueError(f"{d.key}: sentences must be in chunk order and name chunks of the document")
        dim = dim or int(d.chunk_vecs.shape[1])
        if d.chunk_vecs.shape[1] != dim or d.sentence_vecs.shape[1] != dim:
            raise ValueError(f"{d.key}: vectors are not {dim} wide like the first document's")
    plan = [(d.key, d.hash, True) for d in documents]
    builds = {d.key: d for d in documents}
    with _write_lock(index_dir):
        staging = index_dir / f".staging-{secrets.token_hex(4)}"
        staging.mkdir(parents=True)
        try:
            _write_generation(
                staging, plan, builds, None, config, Path(root).resolve(), dim, {"kind": "faiss"}
            )
            return _commit(index_dir, staging)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise


def _write_generation(
    staging: Path,
    plan,
    builds: dict[str, _DocBuild],
    previous: CorpusIndex | None,
    config: IndexConfig,
    root: Path,
    dim: int,
    target: dict[str, Any],
) -> _MilvusWork | None:
    """Write everything but the CURRENT pointer; for Milvus, return the inserts to make."""
    milvus = target["kind"] == "milvus"
    prev_by_key = {d.key: i for i, d in enumerate(previous.documents)} if previous else {}
    reuse_vectors = previous is not None and not milvus and any(p is None for _, _, p in plan)
    prev_vecs = previous.chunk_vectors() if reuse_vectors else None
    prev_chunk_rows: dict[int, np.ndarray] = {}
    if previous is not None:
        order = np.argsort(previous.chunks[:, 0], kind="stable")
        bounds = np.searchsorted(previous.chunks[order, 0], np.arange(len(previous.documents) + 1))
        for d in range(len(previous.documents)):
            prev_chunk_rows[d] = order[bounds[d] : bounds[d + 1]]

    # Unchanged documents are copied over as whole arrays: an update costs numpy copies of
    # the corpus plus the work for the changed documents, not Python loops over every chunk.
    docs_json, manifest_docs = [], {}
    doc_col, span_parts, source_parts = [], [], []  # source: old chunk row, or -1 for a new chunk
    new_builds: list[tuple[int, _DocBuild]] = []  # (first row, build)
    n_chunks = 0
    for doc_idx, (key, digest, parsed) in enumerate(sorted(plan, key=lambda p: p[0])):
        if parsed is None:
            old = previous.documents[prev_by_key[key]]
            rows = prev_chunk_rows[prev_by_key[key]]
            title, text, pages = old.title, old.text, old.pages
            span_parts.append(previous.chunks[rows, 1:3])
            source_parts.append(rows.astype(np.int64))
            count = len(rows)
        else:
            b = builds[key]
            title, text, pages = b.title, b.text, b.pages
            count = len(b.chunks)
            span_parts.append(np.asarray(b.chunks, dtype=np.int64).reshape(-1, 2))
            source_parts.append(np.full(count, -1, dtype=np.int64))
            new_builds.append((n_chunks, b))
        doc_col.append(np.full(count, doc_idx, dtype=np.int64))
        n_chunks += count
        docs_json.append({"key": key, "title": title, "text": text, "hash": digest, "pages": pages})
        manifest_docs[key] = {"hash": digest, "title": title, "n_chunks": count, "chars": len(text)}

    def cat(parts: list[np.ndarray], shape: tuple[int, ...], dtype) -> np.ndarray:
        return np.concatenate(parts).astype(dtype, copy=False) if parts else np.zeros(shape, dtype)

    source = cat(source_parts, (0,), np.int64)
    chunks_arr = np.column_stack([cat(doc_col, (0,), np.int64), cat(span_parts, (0, 2), np.int64)])
    reused = np.flatnonzero(source >= 0)
    # sentences, grouped by chunk in chunk order: scatter the old rows and the new ones into place
    n_sent = np.zeros(n_chunks, dtype=np.int64)
    if len(reused):
        old_rows = source[reused]
        old_ptr = previous._sent_ptr
        n_sent[reused] = old_ptr[old_rows + 1] - old_ptr[old_rows]
    for first, b in new_builds:
        n_sent[first : first + len(b.chunks)] = np.bincount(
            np.asarray([c for c, _, _ in b.sentences], dtype=np.int64), minlength=len(b.chunks)
        )
    ptr = np.concatenate([[0], np.cumsum(n_sent)])
    sents_arr = np.zeros((int(ptr[-1]), 3), np.int64)
    svecs = np.zeros((int(ptr[-1]), dim), np.float16)
    if len(reused):
        src = _ranges(old_ptr[old_rows], n_sent[reused])
        dst = _ranges(ptr[reused], n_sent[reused])
        sents_arr[dst] = previous.sentences[src]
        sents_arr[dst, 0] = np.repeat(reused, n_sent[reused])
        svecs[dst] = previous.sentence_vecs[src]
    for first, b in new_builds:
        rows = np.asarray(b.sentences, dtype=np.int64).reshape(-1, 3)
        a, z = int(ptr[first]), int(ptr[first + len(b.chunks)])
        sents_arr[a:z] = rows
        sents_arr[a:z, 0] += first
        svecs[a:z] = b.sentence_vecs
    np.save(staging / "chunks.npy", chunks_arr)
    np.save(staging / "sentences.npy", sents_arr)
    np.save(staging / "sentence_vecs.npy", svecs)
    work = None
    if milvus:
        work = _MilvusWork(target, dim)
        work.plan(previous, prev_chunk_rows, builds, {k for k, _, p in plan if p is None})
        work.lexicon.save(staging / "lexicon.json")
    else:
        vecs = np.zeros((n_chunks, dim), np.float32)
        if len(reused):
            vecs[reused] = prev_vecs[source[reused]]
        for first, b in new_builds:
            vecs[first : first + len(b.chunks)] = b.chunk_vecs
        _write_faiss(staging, vecs, _lexical_index(previous, source, new_builds, docs_json, chunks_arr))
    (staging / "docs.json").write_text(json.dumps(docs_json, ensure_ascii=False), encoding="utf-8")
    store_record = {k: v for k, v in target.items() if k not in ("connect", "token", "new_collection", "old")}
    manifest = {
        "format_version": FORMAT_VERSION,
        "embed_model": config.embed_model,
        "dim": dim,
        "chunk_size": config.chunk_size,
        "chunk_overlap": config.chunk_overlap,
        "splitter": "llama_index SentenceSplitter",
        "extraction": EXTRACTION_VERSION,
        "reader": config.reader,
        "root": str(root),
        "store": store_record,
        "updated_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "documents": manifest_docs,
    }
    (staging / "manifest.json").write_text(json.dumps(manifest, indent=1), encoding="utf-8")
    for path in staging.rglob("*"):
        if path.is_file():
            _fsync_file(path)
    _fsync_dir(staging)
    return work


def _chunk_texts(docs_json: list[dict[str, Any]], chunks_arr: np.ndarray) -> list[str]:
    return [
        chunk_context(docs_json[int(d)]["title"], docs_json[int(d)]["text"], int(s))
        + docs_json[int(d)]["text"][int(s) : int(e)]
        for d, s, e in chunks_arr
    ]


def _lexical_index(
    previous: CorpusIndex | None,
    source: np.ndarray,
    new_builds: list[tuple[int, _DocBuild]],
    docs_json: list[dict[str, Any]],
    chunks_arr: np.ndarray,
) -> LexicalIndex:
    """BM25 for the new generation; unchanged chunks keep their stored term counts."""
    reused = source >= 0
    if previous is None or not reused.any():
        return LexicalIndex.build(_chunk_texts(docs_json, chunks_arr))

    def previous_texts() -> list[str]:  # only for an index written before term counts were kept
        docs = [{"title": d.title, "text": d.text} for d in previous.documents]
        return _chunk_texts(docs, previous.chunks)

    terms = previous.lexical.chunk_terms(previous_texts)
    new_texts = [chunk_context(b.title, b.text, s) + b.text[s:e] for _, b in new_builds for s, e in b.chunks]
    rows = source.copy()
    rows[~reused] = len(terms) + np.arange(int((~reused).sum()))
    return LexicalIndex.from_terms(terms.extend(new_texts).take(rows))


def _write_faiss(staging: Path, vecs: np.ndarray, lexical: LexicalIndex) -> None:
    import faiss
    from llama_index.vector_stores.faiss import FaissVectorStore

    faiss_index = faiss.IndexFlatIP(vecs.shape[1])  # inner product over L2-normalised vectors = cosine
    if len(vecs):
        faiss_index.add(np.ascontiguousarray(vecs, dtype=np.float32))
    FaissVectorStore(faiss_index=faiss_index).persist(str(staging / VECTOR_FILE))
    lexical.save(staging / "bm25")


class _MilvusWork:
    """What an update does in Milvus: insert new versions' nodes, later delete replaced ones.

    Order: record both sets in ``milvus-pending.json``, insert, commit the generation
    (the caller), delete, forget the record. See ``_milvus.recover`` for a crash between.
    """

    def __init__(self, target: dict[str, Any], dim: int) -> None:
        self.target = target
        self.dim = dim
        self.builds: list[_DocBuild] = []
        self.stale: list[str] = []
        self.lexicon: Any = None

    def plan(self, previous, prev_chunk_rows, builds: dict[str, _DocBuild], kept: set[str]) -> None:
        from . import _milvus

        self.builds = [builds[k] for k in sorted(builds)]
        removed_texts: list[str] = []
        if previous is not None:
            ids = previous.backend.node_ids
            for d, doc in enumerate(previous.documents):
                if doc.key in kept:
                    continue
                for row in prev_chunk_rows[d]:
                    self.stale.append(ids[int(row)])
                    s, e = previous.chunk_span(int(row))
                    removed_texts.append(chunk_context(doc.title, doc.text, s) + doc.text[s:e])
        added_texts = [
            chunk_context(b.title, b.text, s) + b.text[s:e] for b in self.builds for s, e in b.chunks
        ]
        base = previous.backend.lexical.lexicon if previous is not None else _milvus.Lexicon(0, {})
        self.lexicon = base.updated(removed_texts, added_texts)

    def _inserted_ids(self) -> list[str]:
        from . import _milvus

        return [_milvus.node_id(b.key, b.hash, ci) for b in self.builds for ci in range(len(b.chunks))]

    def apply(self, index_dir: Path, base_gen: Path | None) -> None:
        from . import _milvus

        t = self.target
        pending = {
            "base": base_gen.name if base_gen else "",
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
                    text = chunk_context(b.title, b.text, s) + b.text[s:e]
                    nid = _milvus.node_id(b.key, b.hash, ci)
                    batch.append(_milvus.make_node(nid, b.key, b.hash, ci, s, e, text, b.chunk_vecs[ci]))
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

    def finish(self, index_dir: Path) -> None:
        """After the commit: the replaced versions (or the replaced collection) go."""
        from . import _milvus

        t = self.target
        try:
            if self.stale and not t["new_collection"]:
                _milvus.delete_nodes(self._store, t["connect"], self.stale)
            old = t.get("old")
            if t["new_collection"] and old:
                _milvus.drop_collection(old["uri"], t["token"], old["collection"])
            _milvus.clear_pending(index_dir)
        finally:
            with contextlib.suppress(Exception):
                self._store.client.close()
