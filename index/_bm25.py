"""BM25 over an index of several segments, scored as one corpus.

Each segment keeps its postings (term -> chunk rows and term counts) and chunk lengths;
a query combines them with corpus-wide statistics — live chunks, document frequencies and
the average length over every segment, deleted chunks left out — so a chunk's score is the
one a full rebuild would give it, however the corpus was split into segments. (bm25s,
which wrote the single-segment indexes of format 2, scores one fixed corpus: its document
frequencies cannot leave out another segment's deleted chunks.) Same formula as bm25s'
default "lucene" variant: ``idf = ln(1 + (N - df + 0.5) / (df + 0.5))`` and
``tf / (k1 * (1 - b + b * len / avg_len) + tf)``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ._lexical import K1, TOKENS_VERSION, B, ChunkTerms, tokens

TERMS_DIR = "bm25"
VOCAB_FILE = "vocab.json"
_ARRAYS = ("ptr", "rows", "tfs", "lengths")


@dataclass
class SegmentTerms:
    """One segment's postings: for term ``t``, rows ``rows[ptr[t]:ptr[t+1]]`` with counts."""

    vocab: list[str]
    ptr: np.ndarray  # (n_terms + 1,) int64
    rows: np.ndarray  # int32, ascending within a term
    tfs: np.ndarray  # int32
    lengths: np.ndarray  # (n_chunks,) float32: tokens per chunk

    def __post_init__(self) -> None:
        self.lookup = {t: i for i, t in enumerate(self.vocab)}

    @property
    def n_chunks(self) -> int:
        return len(self.lengths)

    @classmethod
    def from_chunk_terms(cls, terms: ChunkTerms) -> SegmentTerms:
        n = len(terms)
        owner = np.repeat(np.arange(n, dtype=np.int64), np.diff(terms.ptr))
        order = np.argsort(terms.ids, kind="stable")  # by term, rows ascending within one
        counts = np.bincount(terms.ids, minlength=len(terms.vocab)) if len(terms.ids) else np.zeros(0)
        used = np.flatnonzero(counts)
        remap = np.full(len(terms.vocab), -1, dtype=np.int64)
        remap[used] = np.arange(len(used))
        lengths = np.bincount(owner, weights=terms.tfs, minlength=n) if n else np.zeros(0)
        return cls(
            [terms.vocab[i] for i in used],
            np.concatenate([[0], np.cumsum(counts[used])]).astype(np.int64),
            owner[order].astype(np.int32),
            terms.tfs[order].astype(np.int32),
            lengths.astype(np.float32),
        )

    @classmethod
    def from_texts(cls, texts: list[str]) -> SegmentTerms:
        return cls.from_chunk_terms(ChunkTerms.from_texts(texts))

    def chunk_terms(self) -> ChunkTerms:
        """Back to per-chunk rows (CSR), for merging segments."""
        term = np.repeat(np.arange(len(self.vocab), dtype=np.int64), np.diff(self.ptr))
        order = np.lexsort((term, self.rows))
        counts = (
            np.bincount(self.rows, minlength=self.n_chunks) if len(self.rows) else np.zeros(self.n_chunks)
        )
        ptr = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        return ChunkTerms(list(self.vocab), ptr, term[order], self.tfs[order])

    def save(self, folder: Path) -> None:
        """Plain ``.npy`` arrays, so that loading memory-maps them (771 MB at 1M chunks)."""
        target = folder / TERMS_DIR
        target.mkdir()
        for name in _ARRAYS:
            np.save(target / f"{name}.npy", getattr(self, name))
        meta = {"version": TOKENS_VERSION, "vocab": self.vocab}
        (target / VOCAB_FILE).write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")

    @classmethod
    def load(cls, folder: Path) -> SegmentTerms | None:
        """The stored postings, or None when missing or made by another version of ``tokens()``."""
        target = folder / TERMS_DIR
        if not all((target / f).is_file() for f in [VOCAB_FILE, *(f"{n}.npy" for n in _ARRAYS)]):
            return None
        meta = json.loads((target / VOCAB_FILE).read_text(encoding="utf-8"))
        if meta.get("version") != TOKENS_VERSION:
            return None
        arrays = [np.load(target / f"{name}.npy", mmap_mode="r") for name in _ARRAYS]
        return cls(meta["vocab"], *arrays)


class SegmentedBM25:
    """``search(query, k)`` and ``idf(token)`` over segments, rows numbered corpus-wide.

    ``to_global[s][r]`` is the corpus row of segment ``s``'s chunk ``r``, or -1 for a
    chunk of a deleted document, which neither scores nor counts in the statistics.
    """

    def __init__(self, segments: list[SegmentTerms], to_global: list[np.ndarray]) -> None:
        self.segments = segments
        self.to_global = to_global
        self.live = [m >= 0 for m in to_global]
        self.n_docs = int(sum(int(m.sum()) for m in self.live))
        total = sum(float(s.lengths[m].sum()) for s, m in zip(segments, self.live, strict=True))
        self.avg_len = total / self.n_docs if self.n_docs else 0.0

    def _postings(self, token: str) -> list[tuple[int, np.ndarray, np.ndarray]]:
        """Per segment holding ``token``: (segment, live local rows, their counts)."""
        out = []
        for s, seg in enumerate(self.segments):
            tid = seg.lookup.get(token)
            if tid is None:
                continue
            a, b = int(seg.ptr[tid]), int(seg.ptr[tid + 1])
            rows, tfs = seg.rows[a:b], seg.tfs[a:b]
            keep = self.live[s][rows]
            if not keep.all():
                rows, tfs = rows[keep], tfs[keep]
            if len(rows):
                out.append((s, rows, tfs))
        return out

    def _idf(self, df: int) -> float:
        return float(np.log(1 + (self.n_docs - df + 0.5) / (df + 0.5)))

    def idf(self, token: str) -> float:
        """Inverse document frequency over live chunks; unseen tokens get the maximum."""
        return self._idf(sum(len(rows) for _, rows, _ in self._postings(token)))

    def search(self, query: str, k: int) -> list[tuple[int, float]]:
        if self.n_docs == 0:
            return []
        rows_out, weights = [], []
        for token in tokens(query):  # a repeated query word counts again, as in bm25s
            postings = self._postings(token)
            if not postings:
                continue
            idf = np.float32(self._idf(sum(len(rows) for _, rows, _ in postings)))
            for s, rows, tfs in postings:
                tf = tfs.astype(np.float32)
                norm = K1 * ((1 - B) + B * self.segments[s].lengths[rows] / np.float32(self.avg_len))
                weights.append((idf * tf / (norm + tf)).astype(np.float32))
                rows_out.append(self.to_global[s][rows])
        if not rows_out:
            return []
        scores = np.bincount(np.concatenate(rows_out), weights=np.concatenate(weights), minlength=self.n_docs)
        scores = scores.astype(np.float32)
        k = min(k, len(scores))
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.lexsort((top, -scores[top]))]
        return [(int(i), float(scores[i])) for i in top if scores[i] > 0]
