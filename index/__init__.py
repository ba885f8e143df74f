"""Stage 1: from files to a persisted, incrementally updated index (FAISS + BM25, or Milvus).

Knows nothing about questions or answers; ``qa`` builds on it. Names are imported on
first use, so command lines can add the ``--store`` options without loading numpy.
``Settings`` holds every ``QA_*`` environment variable of every stage (see ``_settings``).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_EXPORTS = {
    "DEFAULT_EMBED_MODEL": "._embed",
    "SUPPORTED_SUFFIXES": "._readers",
    "BadDocument": "._readers",
    "CorpusIndex": "._corpus",
    "DocumentRecord": "._corpus",
    "Embedder": "._embed",
    "FolderWatcher": "._watch",
    "IndexBusy": "._errors",
    "IndexConfig": "._report",
    "IndexError_": "._errors",
    "IndexMismatch": "._errors",
    "IndexNotFound": "._errors",
    "IndexReport": "._report",
    "LazySettings": "._options",
    "ParsedDocument": "._readers",
    "PrebuiltDocument": "._prebuilt",
    "Settings": "._settings",
    "SettingsError": "._settings",
    "SettingsParser": "._options",
    "setting": "._options",
    "StoreConfig": "._config",
    "StoreError": "._config",
    "add_store_arguments": "._config",
    "default_index_dir": "._corpus",
    "parse_document": "._readers",
    "resolve_model_path": "._embed",
    "sentence_spans": "._chunking",
    "set_offline_env": "._embed",
    "store_from_args": "._config",
    "tokens": "._lexical",
    "update_index": "._update",
    "WatchUpdate": "._watch",
    "write_prebuilt_generation": "._prebuilt",
}

__all__ = sorted(_EXPORTS)

if TYPE_CHECKING:
    from ._chunking import sentence_spans
    from ._config import StoreConfig, StoreError, add_store_arguments, store_from_args
    from ._corpus import CorpusIndex, DocumentRecord, default_index_dir
    from ._embed import DEFAULT_EMBED_MODEL, Embedder, resolve_model_path, set_offline_env
    from ._errors import IndexBusy, IndexError_, IndexMismatch, IndexNotFound
    from ._lexical import tokens
    from ._options import LazySettings, SettingsParser, setting
    from ._prebuilt import PrebuiltDocument, write_prebuilt_generation
    from ._readers import SUPPORTED_SUFFIXES, BadDocument, ParsedDocument, parse_document
    from ._report import IndexConfig, IndexReport
    from ._settings import Settings, SettingsError
    from ._update import update_index
    from ._watch import FolderWatcher, WatchUpdate


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'index' has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value
