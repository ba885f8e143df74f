"""Grounded question answering over a folder of documents.

>>> from qa import answer                                         # doctest: +SKIP
>>> a = answer("How many companies with Kazakh capital operate in Azerbaijan?")  # doctest: +SKIP
>>> a.text, [c.quote for c in a.citations]                         # doctest: +SKIP

Names are imported on first use, so ``qa --help`` starts without numpy or torch.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_EXPORTS = {
    "ABSTAIN_TEXT": "._abstain",
    "DEFAULT_TOP_K": "._assistant",
    "MAX_QUESTION_CHARS": "._assistant",
    "GENERATOR_NAMES": "._generation",
    "Generation": "._generation",
    "GenerationRequest": "._generation",
    "ShortAnswer": "._types",
    "SUPPORTED_SUFFIXES": "index",
    "Answer": "._types",
    "AnswerSentence": "._types",
    "Assistant": "._assistant",
    "BadDocument": "index",
    "Citation": "._types",
    "Clarification": "._types",
    "CorpusIndex": "index",
    "Embedder": "index",
    "Hit": "._retrieval",
    "HybridRetriever": "._retrieval",
    "IndexError_": "index",
    "IndexMismatch": "index",
    "Retriever": "._retrieval",
    "ExtractiveGenerator": "._answerer",
    "ExtractiveSettings": "._answerer",
    "Generator": "._generation",
    "LLMGenerator": "._llmgen",
    "LLMSettings": "._llm",
    "LazySettings": "index",
    "QAError": "._assistant",
    "Reader": "._reader",
    "ReaderError": "._reader",
    "ReaderResult": "._reader",
    "RetrievedChunk": "._types",
    "Settings": "index",
    "SettingsError": "index",
    "SettingsParser": "index",
    "setting": "index",
    "StoreConfig": "index",
    "StoreError": "index",
    "add_store_arguments": "index",
    "store_from_args": "index",
    "StreamingGenerator": "._generation",
    "Turn": "._types",
    "answer": "._assistant",
    "get_generator": "._generators",
    "index_documents": "._assistant",
    "add_llm_arguments": "._llm",
    "generator_from_args": "._generators",
    "llm_generator": "._generators",
    "parse_document": "index",
}

__all__ = sorted(_EXPORTS)

if TYPE_CHECKING:
    from index import (
        SUPPORTED_SUFFIXES,
        BadDocument,
        CorpusIndex,
        Embedder,
        IndexError_,
        IndexMismatch,
        LazySettings,
        Settings,
        SettingsError,
        SettingsParser,
        StoreConfig,
        StoreError,
        add_store_arguments,
        parse_document,
        setting,
        store_from_args,
    )

    from ._abstain import ABSTAIN_TEXT
    from ._answerer import ExtractiveGenerator, ExtractiveSettings
    from ._assistant import DEFAULT_TOP_K, MAX_QUESTION_CHARS, Assistant, QAError, answer, index_documents
    from ._generation import (
        GENERATOR_NAMES,
        Generation,
        GenerationRequest,
        Generator,
        StreamingGenerator,
    )
    from ._generators import generator_from_args, get_generator, llm_generator
    from ._llm import LLMSettings, add_llm_arguments
    from ._llmgen import LLMGenerator
    from ._reader import Reader, ReaderError, ReaderResult
    from ._retrieval import Hit, HybridRetriever, Retriever
    from ._types import Answer, AnswerSentence, Citation, Clarification, RetrievedChunk, ShortAnswer, Turn


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'qa' has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value
