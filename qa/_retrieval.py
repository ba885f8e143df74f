"""Hybrid retrieval: dense (through llama-index's vector-store interface) + BM25, fused by RRF."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Protocol

import numpy as np

from index import CorpusIndex


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


def fuse(ranked: Sequence[Sequence[Hit]], top_k: int, rrf_k: int = 60) -> list[Hit]:
    """Reciprocal-rank fusion of several queries' results (a turn and its context), any retriever's.

    Equal weights: a passage found by the turn alone and by the turn in context outranks one
    found by either, and the turn's own list keeps a change of topic from being dragged back.
    """
    if len(ranked) == 1:
        return list(ranked[0][:top_k])
    fused: dict[tuple[int, int, int, int], list] = {}
    for hits in ranked:
        for rank, hit in enumerate(hits):
            key = (hit.chunk, hit.doc, hit.start, hit.end)
            entry = fused.setdefault(key, [0.0, hit])
            entry[0] += 1.0 / (rrf_k + rank + 1)
            if hit.dense > entry[1].dense:  # the closest any query came, for the decision features
                entry[1] = hit
    order = sorted(fused.values(), key=lambda e: (-e[0], -e[1].dense))[:top_k]
    return [replace(hit, score=score, rank=r) for r, (score, hit) in enumerate(order)]


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
        fused: dict[int, float] = {}
        dense_score = dict(dense)
        lex_score = dict(lexical)
        for ranked in (dense, lexical):
            for rank, (chunk, _) in enumerate(ranked):
                fused[chunk] = fused.get(chunk, 0.0) + 1.0 / (self.rrf_k + rank + 1)
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
