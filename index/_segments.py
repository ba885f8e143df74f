"""Immutable segments: the unit an update writes, and generations share by hard link.

A segment folder ``seg-<id>/`` holds a set of documents, their chunks and sentences::

    docs.json        each document's key, title, content hash, page spans and text's bytes
    texts.bin        the documents' plain texts, UTF-8, one after another (memory-mapped:
                     an answer decodes the few documents it quotes, not the corpus)
    chunks.npy       (document, start, end) per chunk, documents in key order
    sentences.npy    (chunk, start, end) per sentence, grouped by chunk
    + the store's own files: for FAISS, the vectors and the BM25 postings (``_faiss``)

A generation's manifest lists its segments, each with the keys of its documents that a
later update replaced or removed ("deleted"); those are masked, never rewritten, until a
merge folds small or mostly-deleted segments into one.
"""

from __future__ import annotations

import json
import mmap
import os
import secrets
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from ._build import DocBuild

DOCS_FILE = "docs.json"
TEXTS_FILE = "texts.bin"
CHUNKS_FILE = "chunks.npy"
SENTENCES_FILE = "sentences.npy"
SENTENCE_PTR_FILE = "sentence_ptr.npy"
# A generation keeps at most this many segments; beyond it the smallest are merged, so a
# query's per-segment work stays bounded while an update still writes only what changed.
MAX_SEGMENTS = 8
# A segment with more than this share of its chunks deleted is rewritten without them.
MAX_DELETED_SHARE = 0.5


def new_segment_name() -> str:
    return f"seg-{secrets.token_hex(4)}"


@dataclass
class SegmentEntry:
    """A generation's record of one segment: which of its documents are no longer live."""

    name: str
    n_documents: int
    n_chunks: int
    deleted: set[str] = field(default_factory=set)
    deleted_chunks: int = 0

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "documents": self.n_documents,
            "chunks": self.n_chunks,
            "deleted": sorted(self.deleted),
            "deleted_chunks": self.deleted_chunks,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SegmentEntry:
        return cls(
            data["name"],
            int(data["documents"]),
            int(data["chunks"]),
            set(data.get("deleted", [])),
            int(data.get("deleted_chunks", 0)),
        )

    @property
    def live_chunks(self) -> int:
        return self.n_chunks - self.deleted_chunks

    @property
    def live_documents(self) -> int:
        return self.n_documents - len(self.deleted)


class Segment:
    """A segment folder, its parts read when first asked for."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.name = folder.name

    @cached_property
    def docs(self) -> list[dict[str, Any]]:
        return json.loads((self.folder / DOCS_FILE).read_text(encoding="utf-8"))

    @cached_property
    def _texts(self) -> mmap.mmap | bytes:
        with open(self.folder / TEXTS_FILE, "rb") as fh:
            if not os.fstat(fh.fileno()).st_size:
                return b""
            return mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)

    def text(self, d: int) -> str:
        """Document ``d``'s plain text."""
        a, b = self.docs[d]["bytes"]
        return self._texts[a:b].decode("utf-8")

    @cached_property
    def chunks(self) -> np.ndarray:
        return np.load(self.folder / CHUNKS_FILE)

    @cached_property
    def sentences(self) -> np.ndarray:
        """Memory-mapped: 5M rows at 1M chunks, of which an answer reads a few."""
        return np.load(self.folder / SENTENCES_FILE, mmap_mode="r")

    @cached_property
    def doc_ptr(self) -> np.ndarray:
        """Chunk rows of document ``d``: ``doc_ptr[d]:doc_ptr[d + 1]``."""
        return np.searchsorted(self.chunks[:, 0], np.arange(len(self.docs) + 1))

    @cached_property
    def sent_ptr(self) -> np.ndarray:
        """Sentence rows of chunk ``c``: ``sent_ptr[c]:sent_ptr[c + 1]`` (stored, since
        finding it means reading every sentence row: 0.8 s at 1M chunks)."""
        if (self.folder / SENTENCE_PTR_FILE).is_file():
            return np.load(self.folder / SENTENCE_PTR_FILE, mmap_mode="r")
        return _sentence_ptr(self.sentences, len(self.chunks))

    def builds(self, keys: set[str], vectors: np.ndarray | None) -> list[tuple[DocBuild, int, int]]:
        """The documents named by ``keys`` back as builds, each with its chunk rows ``a:b``
        here (for a merge); ``vectors`` holds this segment's chunk vectors, or None for a
        store that keeps them elsewhere."""
        out = []
        for d, doc in enumerate(self.docs):
            if doc["key"] not in keys:
                continue
            a, b = int(self.doc_ptr[d]), int(self.doc_ptr[d + 1])
            sents = self.sentences[int(self.sent_ptr[a]) : int(self.sent_ptr[b])]
            build = DocBuild(
                doc["key"],
                doc["title"],
                self.text(d),
                doc["hash"],
                [tuple(p) for p in doc["pages"]],
                [(int(s), int(e)) for s, e in self.chunks[a:b, 1:3]],
                [(int(c) - a, int(s), int(e)) for c, s, e in sents],
                vectors[a:b] if vectors is not None else None,
            )
            out.append((build, a, b))
        return out


def write_segment(folder: Path, builds: list[DocBuild]) -> SegmentEntry:
    """The documents, chunks and sentences of ``builds`` (in key order) into ``folder``."""
    builds = sorted(builds, key=lambda b: b.key)
    folder.mkdir(parents=True)
    write_documents(
        folder,
        [{"key": b.key, "title": b.title, "text": b.text, "hash": b.hash, "pages": b.pages} for b in builds],
    )
    chunk_parts, sent_parts, first = [], [], 0
    for d, b in enumerate(builds):
        spans = np.asarray(b.chunks, dtype=np.int64).reshape(-1, 2)
        chunk_parts.append(np.column_stack([np.full(len(spans), d, dtype=np.int64), spans]))
        rows = np.asarray(b.sentences, dtype=np.int64).reshape(-1, 3).copy()
        rows[:, 0] += first
        sent_parts.append(rows[np.argsort(rows[:, 0], kind="stable")])
        first += len(spans)
    chunks = np.concatenate(chunk_parts) if chunk_parts else np.zeros((0, 3), np.int64)
    sentences = np.concatenate(sent_parts) if sent_parts else np.zeros((0, 3), np.int64)
    np.save(folder / CHUNKS_FILE, chunks)
    np.save(folder / SENTENCES_FILE, sentences)
    np.save(folder / SENTENCE_PTR_FILE, _sentence_ptr(sentences, len(chunks)))
    return SegmentEntry(folder.name, len(builds), len(chunks))


def _sentence_ptr(sentences: np.ndarray, n_chunks: int) -> np.ndarray:
    return np.searchsorted(sentences[:, 0], np.arange(n_chunks + 1)).astype(np.int64)


def write_documents(folder: Path, docs: list[dict[str, Any]]) -> None:
    """``docs.json`` (each document's fields, its text's byte range) and ``texts.bin``."""
    meta, offset = [], 0
    with open(folder / TEXTS_FILE, "wb") as fh:
        for doc in docs:
            data = doc["text"].encode("utf-8")
            fh.write(data)
            meta.append(
                {**{k: v for k, v in doc.items() if k != "text"}, "bytes": [offset, offset + len(data)]}
            )
            offset += len(data)
    (folder / DOCS_FILE).write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")


def to_merge(entries: list[SegmentEntry]) -> list[SegmentEntry]:
    """Segments to fold into one: those mostly deleted, and the smallest while too many remain."""
    chosen = [e for e in entries if e.n_chunks and e.deleted_chunks / e.n_chunks > MAX_DELETED_SHARE]
    rest = sorted((e for e in entries if e not in chosen), key=lambda e: e.live_chunks)
    while len(rest) + (1 if chosen else 0) > MAX_SEGMENTS and rest:
        chosen.append(rest.pop(0))
        if len(chosen) == 1 and rest:  # merging one segment alone would not reduce the count
            chosen.append(rest.pop(0))
    return chosen
