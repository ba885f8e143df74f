"""A llama-index embedding over a ``SentenceTransformer`` that we construct and keep.

The embedder needs the ``SentenceTransformer`` itself (one forward pass yields chunk and
sentence vectors; ``max_seq_length``, the dimension), and llama-index components (the
eval baseline's ``VectorStoreIndex``) need a llama-index embedding. llama-index's
``HuggingFaceEmbedding`` (0.8) builds its ``SentenceTransformer`` inside ``__init__``,
keeps it only in the private ``_model`` and accepts no ready one, so we subclass the
public extension point instead, ``BaseEmbedding`` (llama-index's documented way to a custom
embedding: developers.llamaindex.ai, "Custom Embeddings"), and load the model exactly as
``HuggingFaceEmbedding`` does: same prompts, same ``encode`` arguments, hence the same
vectors (tests/index/test_st_embedding.py compares the two).
"""

from __future__ import annotations

import asyncio
from typing import Any

from llama_index.core.bridge.pydantic import Field, PrivateAttr
from llama_index.core.embeddings import BaseEmbedding

Embedding = list[float]


class SentenceTransformerEmbedding(BaseEmbedding):
    """``HuggingFaceEmbedding``'s vectors, with the loaded model public as ``sentence_transformer``."""

    normalize: bool = Field(default=True, description="L2-normalise the vectors")
    _st: Any = PrivateAttr()

    def __init__(
        self, model_path: str, device: str = "cpu", embed_batch_size: int = 32, normalize: bool = True
    ):
        from llama_index.embeddings.huggingface.utils import (
            get_query_instruct_for_model_name,
            get_text_instruct_for_model_name,
        )
        from sentence_transformers import SentenceTransformer

        st = SentenceTransformer(
            model_path,
            device=device,
            prompts={
                "query": get_query_instruct_for_model_name(model_path),
                "text": get_text_instruct_for_model_name(model_path),
            },
        )
        super().__init__(model_name=model_path, embed_batch_size=embed_batch_size, normalize=normalize)
        self._st = st

    @classmethod
    def class_name(cls) -> str:
        return "SentenceTransformerEmbedding"

    @property
    def sentence_transformer(self) -> Any:
        """The loaded ``SentenceTransformer``."""
        return self._st

    def _encode(self, inputs: list[str], prompt_name: str) -> list[Embedding]:
        vectors = self._st.encode(
            inputs,
            batch_size=self.embed_batch_size,
            prompt_name=prompt_name,
            normalize_embeddings=self.normalize,
            show_progress_bar=False,
        )
        return vectors.tolist()

    def _get_query_embedding(self, query: str) -> Embedding:
        return self._encode([query], "query")[0]

    def _get_text_embedding(self, text: str) -> Embedding:
        return self._encode([text], "text")[0]

    def _get_text_embeddings(self, texts: list[str]) -> list[Embedding]:
        return self._encode(texts, "text")

    async def _aget_query_embedding(self, query: str) -> Embedding:
        return await asyncio.to_thread(self._get_query_embedding, query)

    async def _aget_text_embedding(self, text: str) -> Embedding:
        return await asyncio.to_thread(self._get_text_embedding, text)

    async def _aget_text_embeddings(self, texts: list[str]) -> list[Embedding]:
        return await asyncio.to_thread(self._get_text_embeddings, texts)
