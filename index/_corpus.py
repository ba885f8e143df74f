"""A loaded generation: its live documents, chunks and sentences numbered corpus-wide over
the segments, and the store's search behind the :class:`~index._backend.StoreBackend` interface."""

from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property, partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import orjson

from ._config import StoreConfig
from ._errors import IndexMismatch, IndexNotFound
from ._generations import current_generation
from ._lexical import _ranges
from ._readers import page_at
from ._segments import Segment, SegmentEntry

if TYPE_CHECKING:
    from ._backend import StoreBackend
    from ._settings import Settings

# 3: immutable segments shared between generations (2: one set of arrays per generation)
FORMAT_VERSION = 3
LEGACY_FORMAT = 2  # migrated by the next update, without re-embedding
_SENTENCE_CACHE = 256  # chunks whose sentence vectors are kept after computing them


def default_index_dir(settings: Settings | None = None) -> Path:
    """The settings' ``index_dir`` (``$QA_INDEX_DIR``), else ``.qa/index`` under the current directory."""
    if settings is not None and settings.index_dir:
        return Path(settings.index_dir).expanduser()
    return Path.cwd() / ".qa" / "index"


class DocumentRecord:
    """A live document; its text is read from the segment when first asked for."""

    __slots__ = ("_load", "_text", "hash", "key", "pages", "title")

    def __init__(
        self,
        key: str,
        title: str,
        text: str | Callable[[], str],
        hash: str,
        pages: list[tuple[int, int, int]],
    ) -> None:
        self.key, self.title, self.hash, self.pages = key, title, hash, pages
        self._text = text if isinstance(text, str) else None
        self._load = None if isinstance(text, str) else text

    @property
    def text(self) -> str:
        if self._text is None:
            self._text = self._load()  # type: ignore[misc]
        return self._text

    def page_at(self, offset: int) -> int | None:
        return page_at(self.pages, offset)

    def __repr__(self) -> str:
        return f"DocumentRecord({self.key!r}, {self.title!r})"


@dataclass
class Numbering:
    """Corpus-wide numbering of the live rows of a generation's segments (key order)."""

    documents: list[DocumentRecord]
    chunks: np.ndarray  # (doc, start, end) per live chunk
    row_segment: np.ndarray  # per live chunk: its segment ...
    row_local: np.ndarray  # ... and its row there
    to_global: list[np.ndarray]  # per segment: its chunk rows' corpus rows, -1 if deleted

    @classmethod
    def of(cls, segments: list[Segment], entries: list[SegmentEntry]) -> Numbering:
        live = []  # (key, segment, local doc)
        for s, (seg, entry) in enumerate(zip(segments, entries, strict=True)):
            live.extend((d["key"], s, i) for i, d in enumerate(seg.docs) if d["key"] not in entry.deleted)
        live.sort()
        documents = []
        doc_of = [np.full(len(seg.docs), -1, dtype=np.int64) for seg in segments]
        for g, (_, s, i) in enumerate(live):
            d = segments[s].docs[i]
            text = partial(segments[s].text, i)
            documents.append(
                DocumentRecord(d["key"], d["title"], text, d["hash"], [tuple(p) for p in d["pages"]])
            )
            doc_of[s][i] = g
        gdoc = [
            doc_of[s][seg.chunks[:, 0]] if len(seg.chunks) else np.zeros(0, np.int64)
            for s, seg in enumerate(segments)
        ]
        seg_col = np.concatenate(
            [np.full(len(g), s, dtype=np.int64) for s, g in enumerate(gdoc)] or [np.zeros(0, np.int64)]
        )
        local = np.concatenate([np.arange(len(g), dtype=np.int64) for g in gdoc] or [np.zeros(0, np.int64)])
        gdoc_all = np.concatenate(gdoc or [np.zeros(0, np.int64)])
        keep = np.flatnonzero(gdoc_all >= 0)
        keep = keep[np.lexsort((local[keep], gdoc_all[keep]))]  # documents in key order, chunks in order
        to_global = [np.full(len(g), -1, dtype=np.int64) for g in gdoc]
        for s in range(len(segments)):
            mine = keep[seg_col[keep] == s]
            to_global[s][local[mine]] = np.flatnonzero(seg_col[keep] == s)
        spans = [seg.chunks[:, 1:3] for seg in segments]
        chunks = np.zeros((len(keep), 3), np.int32)  # int32: 12 bytes a row, 12 MB at 1M chunks
        chunks[:, 0] = gdoc_all[keep]
        if len(keep):
            chunks[:, 1:3] = np.concatenate(spans)[keep]
        return cls(documents, chunks, seg_col[keep], local[keep], to_global)


def _sentences_in_order(segments: list[Segment], seg_of: np.ndarray, local: np.ndarray) -> np.ndarray:
    """Every live chunk's sentences as (corpus row, start, end), rows ascending: each corpus
    row's sentences are a contiguous block of its segment's, copied in one vectorised pass."""
    counts = np.zeros(len(seg_of), np.int64)
    starts = np.zeros(len(seg_of), np.int64)
    offsets = np.cumsum([0] + [len(seg.sentences) for seg in segments])
    for s, seg in enumerate(segments):
        mine = np.flatnonzero(seg_of == s)
        ptr = seg.sent_ptr
        counts[mine] = ptr[local[mine] + 1] - ptr[local[mine]]
        starts[mine] = ptr[local[mine]] + offsets[s]
    parts = [seg.sentences for seg in segments if len(seg.sentences)]
    every = np.concatenate(parts) if parts else np.zeros((0, 3), np.int64)
    out = every[_ranges(starts, counts)].astype(np.int32)
    out[:, 0] = np.repeat(np.arange(len(seg_of), dtype=np.int32), counts)
    return out


class CorpusIndex:
    """A loaded generation: everything retrieval and answering need, in memory.

    >>> idx = CorpusIndex.open(".qa/index")          # doctest: +SKIP
    >>> idx.n_chunks, idx.documents[0].title          # doctest: +SKIP
    """

    def __init__(
        self,
        path: Path,
        manifest: dict[str, Any],
        numbering: Numbering,
        backend: StoreBackend,
        segments: list[Segment],
    ) -> None:
        self.path = path
        self.manifest = manifest
        self.documents = numbering.documents
        self.chunks = numbering.chunks
        self.backend = backend
        self._segments = segments
        self._row_segment = numbering.row_segment
        self._row_local = numbering.row_local
        self._sentence_vecs: OrderedDict[int, np.ndarray] = OrderedDict()

    @property
    def vector_store(self) -> Any:
        """The llama-index vector store (a segment's ``FaissVectorStore``, or the ``MilvusVectorStore``)."""
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

    def chunk_sentences(self, i: int) -> np.ndarray:
        """Rows of ``(chunk, start, end)`` for chunk ``i``, read from its segment."""
        seg = self._segments[int(self._row_segment[i])]
        r = int(self._row_local[i])
        rows = np.array(seg.sentences[int(seg.sent_ptr[r]) : int(seg.sent_ptr[r + 1])])
        rows[:, 0] = i
        return rows

    @cached_property
    def sentences(self) -> np.ndarray:
        """Every live chunk's sentence rows ``(chunk, start, end)``, grouped by chunk (built
        when first asked for: answering reads a chunk's through :meth:`chunk_sentences`)."""
        return _sentences_in_order(self._segments, self._row_segment, self._row_local)

    def sentence_vectors(self, i: int) -> np.ndarray:
        """Chunk ``i``'s sentence vectors (rows as :meth:`chunk_sentences`), embedded when asked.

        Only the LLM path's sentence check reads them, a few chunks per answer; storing them
        took 650 MB of 1.1 GB at 100k chunks (BENCHMARKS.md), so they are pooled on demand
        from one forward pass over the chunk, as indexing pooled them, and kept for a while.
        """
        cached = self._sentence_vecs.get(i)
        if cached is not None:
            self._sentence_vecs.move_to_end(i)
            return cached
        from ._build import chunk_context
        from ._embed import Embedder

        doc = self.chunk_doc(i)
        s, e = self.chunk_span(i)
        prefix = chunk_context(doc.title, doc.text, s)
        off = len(prefix) - s
        spans = [(int(a) + off, int(b) + off) for _, a, b in self.chunk_sentences(i)]
        vecs = (
            Embedder.shared(self.embed_model).embed_passages([prefix + doc.text[s:e]], [spans]).sentences[0]
        )
        self._sentence_vecs[i] = vecs
        if len(self._sentence_vecs) > _SENTENCE_CACHE:
            self._sentence_vecs.popitem(last=False)
        return vecs

    def span_sentences(self, doc: int, start: int, end: int) -> np.ndarray:
        """Stored sentences of document ``doc`` lying inside ``[start, end)``, each once.

        For passages cut by someone else's chunker (the llama-index baseline in eval).
        """
        if not len(self.sentences):
            return self.sentences
        rows = self.sentences
        mask = (self.chunks[rows[:, 0], 0] == doc) & (rows[:, 1] >= start) & (rows[:, 2] <= end)
        idx = np.flatnonzero(mask)
        _, first = np.unique(rows[idx, 1], return_index=True)
        return rows[idx[np.sort(first)]]

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
        self.backend.close()

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
        gen = current_generation(index_dir)
        if gen is None:
            raise IndexNotFound(
                f"no index at {index_dir}; build one first with: qa index DOCS_DIR"
                + (f" --index-dir {index_dir}" if index_dir != default_index_dir(settings) else "")
            )
        return cls.load(gen, StoreConfig.coerce(store).with_settings(settings))

    @classmethod
    def load(cls, gen: Path, store: StoreConfig | None = None) -> CorpusIndex:
        manifest = read_manifest(gen)
        version = manifest.get("format_version")
        if version == LEGACY_FORMAT:
            raise IndexMismatch(
                f"index at {gen.parent} was written in format {version}; run `qa index` on its documents "
                f"once to migrate it to format {FORMAT_VERSION} (nothing is embedded again)"
            )
        if version != FORMAT_VERSION:
            raise IndexMismatch(
                f"index at {gen.parent} has format {version}, this version reads {FORMAT_VERSION}; "
                "re-index with --rebuild"
            )
        recorded = manifest.get("store") or {"kind": "faiss"}
        store = store or StoreConfig()
        if store.kind and store.kind != recorded["kind"]:
            raise IndexMismatch(
                f"index at {gen.parent} keeps its vectors in {recorded['kind']}, not {store.kind}; "
                f"drop --store (or $QA_STORE), or re-index with --store {store.kind} --rebuild"
            )
        entries = [SegmentEntry.from_json(e) for e in manifest["segments"]]
        segments = [Segment(gen / e.name) for e in entries]
        numbering = Numbering.of(segments, entries)
        if recorded["kind"] == "milvus":
            from ._milvus_store import load_backend

            keys_hashes = [(d.key, d.hash) for d in numbering.documents]
            backend: StoreBackend = load_backend(gen, manifest, keys_hashes, numbering.chunks, store)
        else:
            from ._faiss import FaissBackend

            backend = FaissBackend.load(segments, numbering.to_global)
        return cls(gen, manifest, numbering, backend, segments)


def read_manifest(gen: Path) -> dict[str, Any]:
    data = (gen / "manifest.json").read_bytes()
    try:
        return orjson.loads(data)  # fast: 100k documents at 1M chunks
    except orjson.JSONDecodeError:  # json reads the escaped surrogates of a non-UTF-8 folder name
        return json.loads(data.decode("utf-8"))
