"""The FAISS store: per segment, the chunk vectors in a FAISS index (through llama-index's
``FaissVectorStore``) and the BM25 postings; searched together, rows numbered corpus-wide."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from ._bm25 import SegmentedBM25, SegmentTerms
from ._build import DocBuild
from ._lexical import ChunkTerms
from ._segments import Segment

VECTOR_FILE = "default__vector_store.json"
# An inverted-file index (IVF-Flat: vectors bucketed by k-means, a query scans the
# buckets nearest it) for segments of at least ANN_MIN_CHUNKS when asked for, and with
# "auto" from AUTO_ANN_CHUNKS: below it one exact scan stays well inside the retrieval
# budget (a flat scan of 1M chunks took 69 ms on one thread, BENCHMARKS.md). IVF, not
# HNSW: on the bench corpora HNSW (M 32) reached recall@10 0.79 at 100k and 0.63 at 1M
# even at efSearch 256, IVF 0.999 at 100k scanning 3% of the buckets (BENCHMARKS.md).
ANN_MIN_CHUNKS = 10_000
AUTO_ANN_CHUNKS = 400_000
IVF_LISTS_PER_SQRT = 4  # buckets = 4 * sqrt(chunks), FAISS' rule of thumb
IVF_PROBE_SHARE = 32  # a query scans buckets / 32 of them ...
IVF_MIN_PROBES = 32  # ... and never fewer than 32
IVF_TRAIN_PER_LIST = 40  # k-means trains on 40 vectors per bucket (a seeded sample)


@contextlib.contextmanager
def one_faiss_thread() -> Iterator[None]:
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


def dense_kind(requested: str, n: int) -> str:
    """The dense index a segment of ``n`` chunks gets when ``requested`` (auto/flat/ivf)."""
    if requested == "ivf" and n >= ANN_MIN_CHUNKS:
        return "ivf"
    if requested == "auto" and n >= AUTO_ANN_CHUNKS:
        return "ivf"
    return "flat"


def _ivf(vecs: np.ndarray):
    import faiss

    n, dim = vecs.shape
    # FAISS' k-means wants 39+ training points per bucket
    lists = max(1, min(n // 39, int(IVF_LISTS_PER_SQRT * np.sqrt(n))))
    index = faiss.IndexIVFFlat(faiss.IndexFlatIP(dim), dim, lists, faiss.METRIC_INNER_PRODUCT)
    sample = np.random.default_rng(0).choice(n, min(n, lists * IVF_TRAIN_PER_LIST), replace=False)
    index.train(np.ascontiguousarray(vecs[np.sort(sample)]))
    index.nprobe = min(lists, max(IVF_MIN_PROBES, lists // IVF_PROBE_SHARE))
    return index


def write_vectors(folder: Path, vecs: np.ndarray, kind: str = "flat") -> None:
    """The vectors as the file ``FaissVectorStore.from_persist_path`` reads.

    Written through Python rather than ``FaissVectorStore.persist`` (``faiss.write_index``):
    FAISS only prints a failed close ("File too large", a full disk) and returns, leaving
    a truncated file behind; Python raises, so the update fails and nothing goes live.
    """
    import faiss

    vecs = np.ascontiguousarray(vecs, dtype=np.float32)
    if kind == "ivf":
        faiss_index = _ivf(vecs)
    else:  # inner product over L2-normalised vectors = cosine
        faiss_index = faiss.IndexFlatIP(vecs.shape[1])
    if len(vecs):
        faiss_index.add(vecs)
    if kind == "ivf":
        faiss_index.make_direct_map()  # row -> vector, for reconstruct (merges, chunk_vectors)
    with open(folder / VECTOR_FILE, "wb") as fh:
        fh.write(faiss.serialize_index(faiss_index).tobytes())


def read_store(folder: Path):
    """A segment's vectors as llama-index's ``FaissVectorStore``, the index memory-mapped
    (what ``FaissVectorStore.from_persist_path`` does, without reading the file into
    memory: 1.6 GB at 1M chunks; the pages are the page cache's, shared and reclaimable)."""
    import faiss
    from llama_index.vector_stores.faiss import FaissVectorStore

    flags = faiss.IO_FLAG_MMAP | faiss.IO_FLAG_READ_ONLY
    return FaissVectorStore(faiss_index=faiss.read_index(str(folder / VECTOR_FILE), flags))


class FaissSegmentWriter:
    """What the FAISS store adds to a segment folder: vectors and BM25 postings."""

    kind = "faiss"

    def __init__(self, dim: int, dense_index: str = "auto") -> None:
        self.dim = dim
        self.dense_index = dense_index

    def segment_vectors(self, folder: Path) -> np.ndarray:
        return _all_vectors(read_store(folder))

    def segment_terms(self, segment: Segment) -> ChunkTerms:
        loaded = SegmentTerms.load(segment.folder)
        return loaded.chunk_terms() if loaded is not None else ChunkTerms.from_texts(_segment_texts(segment))

    def write(self, folder: Path, builds: list[DocBuild], terms: ChunkTerms | None = None) -> None:
        builds = sorted(builds, key=lambda b: b.key)
        parts = [b.chunk_vecs for b in builds if b.chunks]
        vecs = np.concatenate(parts).astype(np.float32) if parts else np.zeros((0, self.dim), np.float32)
        write_vectors(folder, vecs, dense_kind(self.dense_index, len(vecs)))
        if terms is None:
            terms = ChunkTerms.from_texts([b.chunk_text(ci) for b in builds for ci in range(len(b.chunks))])
        self.write_terms(folder, terms)

    def write_terms(self, folder: Path, terms: ChunkTerms) -> None:
        SegmentTerms.from_chunk_terms(terms).save(folder)

    def add(self, builds: list[DocBuild]) -> None:
        """Nothing: new documents' vectors go into their segment (``write``)."""

    def before_commit(self, index_dir: Path, staging: Path) -> None:
        """Nothing: the segment folders are the whole FAISS store."""

    def after_commit(self, index_dir: Path, warn: Any) -> None:
        """Nothing: the previous generation's files go with it."""


class FaissBackend:
    """Vectors in one FAISS IndexFlatIP per segment, beside segment BM25; all in memory.

    ``to_global[s][r]`` numbers segment ``s``'s chunk ``r`` corpus-wide (-1: deleted).
    A search asks each segment for ``k`` plus its deleted chunks, so masking the deleted
    never leaves fewer than ``k`` live results where there are that many.
    """

    kind = "faiss"

    def __init__(self, stores: list, lexical: SegmentedBM25, to_global: list[np.ndarray]) -> None:
        self.stores = stores
        self.lexical = lexical
        self.to_global = to_global
        self.n_dead = [int((m < 0).sum()) for m in to_global]
        n = sum(len(m) - d for m, d in zip(to_global, self.n_dead, strict=True))
        self.row_segment = np.zeros(n, dtype=np.int64)
        self.row_local = np.zeros(n, dtype=np.int64)
        for s, m in enumerate(to_global):
            live = np.flatnonzero(m >= 0)
            self.row_segment[m[live]] = s
            self.row_local[m[live]] = live

    def close(self) -> None:
        """Nothing to release: the indexes are in memory."""

    @property
    def vector_store(self):
        """The llama-index vector store of the first segment (most callers want one)."""
        return self.stores[0] if self.stores else None

    @classmethod
    def load(cls, segments: list[Segment], to_global: list[np.ndarray]) -> FaissBackend:

        stores = [read_store(s.folder) for s in segments]
        terms = []
        for s in segments:
            loaded = SegmentTerms.load(s.folder)
            if loaded is None:  # another version of tokens(): count this segment's terms again
                loaded = SegmentTerms.from_texts(_segment_texts(s))
            terms.append(loaded)
        return cls(stores, SegmentedBM25(terms, to_global), to_global)

    def dense_search(self, query_vec: np.ndarray, k: int) -> list[tuple[int, float]]:
        from llama_index.core.vector_stores.types import VectorStoreQuery

        hits: list[tuple[int, float]] = []
        embedding = query_vec.tolist()
        with one_faiss_thread():
            for store, rows, dead in zip(self.stores, self.to_global, self.n_dead, strict=True):
                n = int(store.client.ntotal)
                if n - dead <= 0:
                    continue
                result = store.query(
                    VectorStoreQuery(query_embedding=embedding, similarity_top_k=min(k + dead, n))
                )
                for i, score in zip(result.ids or [], result.similarities or [], strict=False):
                    row = int(rows[int(i)])
                    if row >= 0:
                        hits.append((row, float(score)))
        hits.sort(key=lambda h: (-h[1], h[0]))
        return hits[:k]

    def chunk_vectors(self, rows: list[int] | None = None) -> np.ndarray:
        dim = self.stores[0].client.d if self.stores else 0
        if rows is None:
            out = np.zeros((len(self.row_segment), dim), np.float32)
            for s, m in enumerate(self.to_global):
                live = m >= 0
                if live.any():
                    out[m[live]] = self.segment_vectors(s)[live]
            return out
        if not len(rows):
            return np.zeros((0, dim), np.float32)
        return np.stack(
            [self.stores[int(self.row_segment[r])].client.reconstruct(int(self.row_local[r])) for r in rows]
        )

    def segment_vectors(self, s: int) -> np.ndarray:
        return _all_vectors(self.stores[s])


def _all_vectors(store) -> np.ndarray:
    client = store.client
    return client.reconstruct_n(0, client.ntotal) if client.ntotal else np.zeros((0, client.d), np.float32)


def _segment_texts(segment: Segment) -> list[str]:
    from ._build import chunk_context

    texts = [segment.text(d) for d in range(len(segment.docs))]
    titles = [d["title"] for d in segment.docs]
    return [
        chunk_context(titles[int(d)], texts[int(d)], int(s)) + texts[int(d)][int(s) : int(e)]
        for d, s, e in segment.chunks
    ]
