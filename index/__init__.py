"""Stage 1: from files to a persisted, incrementally updated FAISS + BM25 index.

Knows nothing about questions or answers; ``qa`` builds on it.
"""

from ._chunking import sentence_spans
from ._embed import DEFAULT_EMBED_MODEL, Embedder, set_offline_env
from ._lexical import LexicalIndex, tokens
from ._readers import SUPPORTED_SUFFIXES, BadDocument, ParsedDocument, parse_document
from ._store import (
    CorpusIndex,
    DocumentRecord,
    IndexBusy,
    IndexConfig,
    IndexError_,
    IndexMismatch,
    IndexNotFound,
    IndexReport,
    PrebuiltDocument,
    default_index_dir,
    update_index,
    write_prebuilt_generation,
)

__all__ = [
    "DEFAULT_EMBED_MODEL",
    "SUPPORTED_SUFFIXES",
    "BadDocument",
    "CorpusIndex",
    "DocumentRecord",
    "Embedder",
    "IndexBusy",
    "IndexConfig",
    "IndexError_",
    "IndexMismatch",
    "IndexNotFound",
    "IndexReport",
    "LexicalIndex",
    "ParsedDocument",
    "PrebuiltDocument",
    "default_index_dir",
    "parse_document",
    "sentence_spans",
    "set_offline_env",
    "tokens",
    "update_index",
    "write_prebuilt_generation",
]
