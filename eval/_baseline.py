"""The stock llama-index pipeline, for side-by-side reports.

``VectorStoreIndex.from_documents`` with llama-index's default chunking (its
``SentenceSplitter``, 1024 tokens, overlap 200) and ``similarity_top_k=2``, embedding with
the same packaged model. Answers come from the same generator as ours, so the difference
the report shows is retrieval and chunking, nothing else.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import numpy as np

from qa import Answer, Assistant, CorpusIndex, Embedder, Hit, Settings
from qa._abstain import is_decline

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


def stock_assistant(
    index_dir: str | Path, embedder: Embedder | None = None, settings: Settings | None = None
) -> Assistant:
    """An Assistant whose retrieval is the stock llama-index pipeline."""
    emb = embedder or Embedder.shared()
    return Assistant(
        index_dir,
        top_k=STOCK_TOP_K,
        embedder=emb,
        retriever=lambda idx: LlamaIndexRetriever(idx, emb),
        settings=settings,
    )


_MARKER = re.compile(r"\[(\d+)\]")


class CitationEngineBot:
    """llama-index's stock cited-answer pipeline, ``CitationQueryEngine``, with our LLM.

    Same documents, llama-index's default chunking, ``similarity_top_k=2``, and its own
    prompt and citation chunks (512 tokens). It has no abstention flag, so an answer that
    says the sources do not tell is counted as declining. Its citations are taken as the
    model wrote them: whole citation chunks, unverified.
    """

    def __init__(
        self,
        index_dir: str | Path,
        llm_generator,
        embedder: Embedder | None = None,
        settings: Settings | None = None,
    ) -> None:
        self.index_dir = Path(index_dir)
        self.top_k = STOCK_TOP_K
        self._gen = llm_generator
        self._embedder = embedder or Embedder.shared()
        self._engine = None
        # for the loaded index only
        self._bot = Assistant(index_dir, embedder=self._embedder, settings=settings)
        self.generator = type("Stock", (), {"name": f"CitationQueryEngine ({llm_generator.name})"})()

    @property
    def index(self) -> CorpusIndex:
        return self._bot.index

    def warm_up(self) -> CitationEngineBot:
        if self._engine is None:
            from llama_index.core.query_engine import CitationQueryEngine

            retriever = LlamaIndexRetriever(self.index, self._embedder)
            self._engine = CitationQueryEngine.from_args(
                retriever.vector_index, llm=self._gen.llm, similarity_top_k=STOCK_TOP_K
            )
        return self

    def answer(self, question: str, history=None, *, top_k: int | None = None) -> Answer:
        from qa import Citation, QAError, RetrievedChunk

        self.warm_up()
        t0 = time.perf_counter()
        try:
            response = self._engine.query(question)  # stock: no history, no condensing
        except Exception as exc:  # a backend failure is one item's error, not the run's
            raise QAError(f"CitationQueryEngine failed: {exc}") from exc
        text = str(response.response or "").strip()
        nodes = list(response.source_nodes or [])
        docs = {d.key: d for d in self.index.documents}
        citations, retrieved = [], []
        for scored in nodes:
            node = scored.node
            key = node.metadata.get("file_name", "")
            body = re.sub(r"^Source \d+:\s*", "", node.get_content())
            doc = docs.get(key)
            start = max(doc.text.find(body), 0) if doc else 0
            retrieved.append(
                RetrievedChunk(
                    doc=key,
                    chunk_id=-1,
                    start=start,
                    end=start + len(body),
                    score=scored.score or 0.0,
                    text=body,
                )
            )
        for n in dict.fromkeys(int(m) for m in _MARKER.findall(text)):
            if 1 <= n <= len(retrieved):
                r = retrieved[n - 1]
                title = docs[r.doc].title if r.doc in docs else r.doc
                citations.append(
                    Citation(
                        n=n,
                        doc=r.doc,
                        title=title,
                        start=r.start,
                        end=r.end,
                        quote=r.text,
                        score=r.score,
                        verified=False,
                    )
                )
        declined = not text or is_decline(text) and not citations
        return Answer(
            question=question,
            text=text or "(empty)",
            abstained=declined,
            citations=[] if declined else citations,
            retrieved=retrieved,
            timings={"total": round(time.perf_counter() - t0, 6)},
            generator=self.generator.name,
        )
