"""BM25 over segments equals bm25s' own index of the same tokens, however the corpus is split."""

from __future__ import annotations

import bm25s
import numpy as np

from index import tokens
from index._bm25 import SegmentedBM25, SegmentTerms

TEXTS = [
    "The 12th OTS Summit was held in Gabala, Azerbaijan, in 2025.",
    "Kazakh oil exported through the Baku-Tbilisi-Ceyhan pipeline since 2023.",
    "",  # a chunk with no tokens at all
    "Ferries cross the Caspian from Alat to Aktau; trucks and rail wagons ride them.",
    "Oil, oil and more oil: the pipeline carries oil.",
    "The summit in Gabala adopted a declaration.",
]
QUERIES = (
    "oil pipeline",
    "Gabala summit",
    "Caspian ferry trucks",
    "declaration 2025",
    "oil oil",
    "nothing matches",
)


def _one_segment(texts: list[str]) -> SegmentedBM25:
    return SegmentedBM25([SegmentTerms.from_texts(texts)], [np.arange(len(texts), dtype=np.int64)])


def test_scores_equal_a_bm25s_index_of_the_same_tokens():
    ours = _one_segment(TEXTS)
    ref = bm25s.BM25(k1=1.5, b=0.75)
    ref.index([tokens(t) or ["__empty__"] for t in TEXTS], show_progress=False)
    for query in QUERIES:
        q = [t for t in tokens(query) if t in ref.vocab_dict]
        ref_scores = ref.get_scores(q) if q else np.zeros(len(TEXTS))
        got = np.zeros(len(TEXTS))
        for row, score in ours.search(query, len(TEXTS)):
            got[row] = score
        np.testing.assert_allclose(got, ref_scores, rtol=1e-6, atol=1e-7)
    assert ours.n_docs == len(TEXTS)


def test_segments_with_deleted_chunks_score_like_one_index_of_the_live_chunks():
    """Statistics are corpus-wide: a chunk's score does not depend on how the corpus is split,
    and a deleted chunk neither scores nor counts in the document frequencies."""
    stale = ["Oil oil oil in an old version of the pipeline note.", "Gabala summit, an older draft."]
    first, second = TEXTS[:3] + stale[:1], stale[1:] + TEXTS[3:]
    to_global = [np.array([0, 1, 2, -1]), np.array([-1, 3, 4, 5])]
    split = SegmentedBM25([SegmentTerms.from_texts(first), SegmentTerms.from_texts(second)], to_global)
    whole = _one_segment(TEXTS)
    assert split.n_docs == whole.n_docs == len(TEXTS)
    for query in QUERIES:
        assert split.search(query, 10) == whole.search(query, 10), query
    for word in ("oil", "gabala", "draft", "ferri"):
        assert split.idf(word) == whole.idf(word), word
    assert split.search("older draft", 5) == []  # only the deleted chunk had these words
