"""The stock llama-index pipeline, for side-by-side reports.

``VectorStoreIndex.from_documents`` with llama-index's default chunking (its
``SentenceSplitter``, 1024 tokens, overlap 200) and ``similarity_top_k=2``, embedding with
the same packaged model. Answers come from the same generator as ours, so the difference
the report shows is retrieval and chunking, nothing else.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from qa import Assistant, CorpusIndex, Embedder, Hit

STOCK_TOP_K = 2


class LlamaIndexRetriever:
    """Retrieves with a stock ``VectorStoreIndex`` built over the stored document texts."""

    def __init__(self, index: CorpusIndex, embedder: Embedder, top_k: int = STOCK_TOP_K) -> None:
        from llama_index.core import Document, VectorStoreIndex

        self._rows = {d.key: i for i, d in enumerate(index.documents)}
        documents = [Document(text=d.text, id_=d.key, metadata={"file_name": d.key}) for d in index.documents]
        self.vector_index = VectorStoreIndex.from_documents(
            documents, embed_model=embedder.llama_embedding, show_progress=False
        )
        self.retriever = self.vector_index.as_retriever(similarity_top_k=top_k)

    def retrieve(self, query: str, query_vec: np.ndarray, top_k: int) -> list[Hit]:
        # the stock pipeline keeps its own top-k; ``top_k`` is ours and deliberately unused
        hits = []
        for rank, scored in enumerate(self.retriever.retrieve(query)):
            node = scored.node
            row = self._rows[node.ref_doc_id or node.metadata["file_name"]]
            score = float(scored.score or 0.0)
            hits.append(
                Hit(-1, score, score, 0.0, rank, row, int(node.start_char_idx), int(node.end_char_idx))
            )
        return hits


def stock_assistant(index_dir: str | Path, embedder: Embedder | None = None) -> Assistant:
    """An Assistant whose retrieval is the stock llama-index pipeline."""
    emb = embedder or Embedder.shared()
    return Assistant(
        index_dir, top_k=STOCK_TOP_K, embedder=emb, retriever=lambda idx: LlamaIndexRetriever(idx, emb)
    )
