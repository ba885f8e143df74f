"""Hybrid retrieval: dense (through llama-index's vector-store interface) + BM25, fused by RRF."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Protocol, TypeVar

import numpy as np

from index import CorpusIndex

K = TypeVar("K")


@dataclass
class Hit:
    """A retrieved passage: one of our chunks, or any span of a stored document.

    ``chunk`` is -1 for a passage another retriever cut (the llama-index baseline);
    ``doc``/``start``/``end`` always locate it in ``index.documents``.
    """

    chunk: int
    score: float  # fused score, higher is better
    dense: float  # cosine similarity, or 0.0 when dense retrieval missed it
    lexical: float  # BM25 score, or 0.0
    rank: int  # 0-based rank after fusion
    doc: int = -1
    start: int = 0
    end: int = 0


class Retriever(Protocol):
    """What the Assistant needs from retrieval; built per loaded index generation."""

    def retrieve(self, query: str, query_vec: np.ndarray, top_k: int) -> list[Hit]: ...


# Why not llama-index's QueryFusionRetriever (mode "reciprocal_rerank"): it keys passages by
# their text's hash, so two documents holding the same passage collapse into one and lose a
# citation; it overwrites each passage's score with the fused one, and the answerer's features
# need the dense cosine and the BM25 score beside it; it breaks ties arbitrarily, where ours
# prefer the closer passage; and it fuses BaseRetriever results, node objects built per hit,
# while our BM25 searches the segments directly and returns row numbers.
def _rrf(ranked: Iterable[Sequence[K]], rrf_k: int) -> dict[K, float]:
    """Reciprocal-rank fusion: each list adds 1 / (rrf_k + rank) for its 1-based ranks."""
    fused: dict[K, float] = {}
    for keys in ranked:
        for rank, key in enumerate(keys):
            fused[key] = fused.get(key, 0.0) + 1.0 / (rrf_k + rank + 1)
    return fused


def fuse(ranked: Sequence[Sequence[Hit]], top_k: int, rrf_k: int = 60) -> list[Hit]:
    """Reciprocal-rank fusion of several queries' results (a turn and its context), any retriever's.

    Equal weights: a passage found by the turn alone and by the turn in context outranks one
    found by either, and the turn's own list keeps a change of topic from being dragged back.
    """
    if len(ranked) == 1:
        return list(ranked[0][:top_k])
    closest: dict[tuple[int, int, int, int], Hit] = {}  # the closest any query came, for the features
    for hits in ranked:
        for hit in hits:
            key = (hit.chunk, hit.doc, hit.start, hit.end)
            if key not in closest or hit.dense > closest[key].dense:
                closest[key] = hit
    fused = _rrf(([(h.chunk, h.doc, h.start, h.end) for h in hits] for hits in ranked), rrf_k)
    order = sorted(fused, key=lambda key: (-fused[key], -closest[key].dense))[:top_k]
    return [replace(closest[key], score=fused[key], rank=r) for r, key in enumerate(order)]


class HybridRetriever:
    """Reciprocal-rank fusion of dense and BM25 results.

    RRF needs no score calibration between the two lists, and it keeps exact-term
    matches (names, figures) that a small embedder ranks poorly.
    """

    def __init__(self, index: CorpusIndex, rrf_k: int = 60, depth: int = 30) -> None:
        self.index = index
        self.rrf_k = rrf_k
        self.depth = depth

    def dense(self, query_vec: np.ndarray, k: int) -> list[tuple[int, float]]:
        """Through the index's llama-index vector store, whichever it is (FAISS, Milvus)."""
        if self.index.n_chunks == 0:
            return []
        return self.index.dense_search(query_vec, min(k, self.index.n_chunks))

    def retrieve(self, query: str, query_vec: np.ndarray, top_k: int) -> list[Hit]:
        depth = max(self.depth, top_k)
        dense = self.dense(query_vec, depth)
        lexical = self.index.lexical.search(query, depth)
        dense_score = dict(dense)
        lex_score = dict(lexical)
        fused = _rrf(([chunk for chunk, _ in ranked] for ranked in (dense, lexical)), self.rrf_k)
        order = sorted(fused, key=lambda c: (-fused[c], -dense_score.get(c, 0.0)))[:top_k]
        chunks = self.index.chunks
        return [
            Hit(
                c,
                fused[c],
                dense_score.get(c, 0.0),
                lex_score.get(c, 0.0),
                r,
                int(chunks[c, 0]),
                int(chunks[c, 1]),
                int(chunks[c, 2]),
            )
            for r, c in enumerate(order)
        ]
