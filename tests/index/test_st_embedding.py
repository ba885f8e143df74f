"""Our llama-index embedding gives llama-index's ``HuggingFaceEmbedding``'s vectors, and its
``SentenceTransformer`` is the one that computed them (index/_st_embedding.py replaces the
private ``HuggingFaceEmbedding._model`` we used to read)."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

from index._embed import resolve_model_path
from index._st_embedding import SentenceTransformerEmbedding

TEXTS = [
    "Where was the 12th OTS Summit held?",
    "Ünïcödé — “quotes”, 3,400 tons and $550 million",
    "a long passage " * 200,  # past the model's 256 tokens: truncated the same way
    "x",
]


@pytest.fixture(scope="module")
def stock():
    from llama_index.embeddings.huggingface import HuggingFaceEmbedding

    return HuggingFaceEmbedding(
        model_name=str(resolve_model_path("all-MiniLM-L6-v2")),
        device="cpu",
        embed_batch_size=32,
        normalize=True,
    )


def test_vectors_equal_huggingface_embeddings(embedder, stock):
    ours = embedder.llama_embedding
    assert isinstance(ours, SentenceTransformerEmbedding)
    assert np.array_equal(ours.get_text_embedding_batch(TEXTS), stock.get_text_embedding_batch(TEXTS))
    for text in TEXTS[:2]:
        assert np.array_equal(ours.get_query_embedding(text), stock.get_query_embedding(text))
        assert np.array_equal(ours.get_text_embedding(text), stock.get_text_embedding(text))
    assert np.array_equal(
        asyncio.run(ours.aget_query_embedding(TEXTS[0])), stock.get_query_embedding(TEXTS[0])
    )


def test_the_public_model_is_the_one_that_embeds(embedder):
    st = embedder.sentence_transformer
    assert st is embedder.llama_embedding.sentence_transformer
    assert embedder.dim == 384 and embedder.max_tokens == st.max_seq_length == 256
    reference = st.encode(TEXTS, normalize_embeddings=True)
    assert np.abs(embedder.embed_texts(TEXTS) - reference).max() < 1e-6


def test_llama_index_components_take_it(embedder):
    from llama_index.core import Document, VectorStoreIndex

    docs = [Document(text="The Alat port lies south of Baku."), Document(text="Tulips flower in April.")]
    index = VectorStoreIndex.from_documents(docs, embed_model=embedder.llama_embedding, show_progress=False)
    hits = index.as_retriever(similarity_top_k=1).retrieve("Which port is south of Baku?")
    assert hits[0].node.get_content() == docs[0].text
