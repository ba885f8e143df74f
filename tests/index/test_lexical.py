"""BM25 scores computed from stored term counts equal bm25s' own index."""

from __future__ import annotations

import bm25s
import numpy as np

from index import LexicalIndex, tokens

TEXTS = [
    "The 12th OTS Summit was held in Gabala, Azerbaijan, in 2025.",
    "Kazakh oil exported through the Baku-Tbilisi-Ceyhan pipeline since 2023.",
    "",  # a chunk with no tokens at all
    "Ferries cross the Caspian from Alat to Aktau; trucks and rail wagons ride them.",
    "Oil, oil and more oil: the pipeline carries oil.",
    "The summit in Gabala adopted a declaration.",
]


def test_scores_equal_a_bm25s_index_of_the_same_tokens():
    ours = LexicalIndex.build(TEXTS)
    ref = bm25s.BM25(k1=1.5, b=0.75)
    ref.index([tokens(t) or ["__empty__"] for t in TEXTS], show_progress=False)
    for query in (
        "oil pipeline",
        "Gabala summit",
        "Caspian ferry trucks",
        "declaration 2025",
        "nothing matches",
    ):
        q = tokens(query)
        ours_scores = ours._bm25.get_scores(q)
        ref_scores = ref.get_scores(q)
        np.testing.assert_allclose(ours_scores, ref_scores, rtol=1e-6, atol=0)
    assert ours.n_docs == len(TEXTS)
