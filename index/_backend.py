"""The two narrow interfaces a store implements: searching a loaded generation
(:class:`StoreBackend`) and writing an update's segments (:class:`StoreWriter`).

FAISS (``_faiss``) keeps vectors and BM25 postings inside each segment folder; Milvus
(``_milvus_store``) keeps them in a collection and its segments hold only the texts.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from ._build import DocBuild
from ._lexical import ChunkTerms
from ._segments import Segment


@runtime_checkable
class Lexical(Protocol):
    n_docs: int

    def search(self, query: str, k: int) -> list[tuple[int, float]]:
        """The ``k`` best BM25 rows as ``(row, score)``, best first."""
        ...

    def idf(self, token: str) -> float:
        """BM25's inverse document frequency of a token over the live chunks."""
        ...


@runtime_checkable
class StoreBackend(Protocol):
    kind: str
    lexical: Lexical
    vector_store: Any  # the llama-index vector store underneath

    def dense_search(self, query_vec: np.ndarray, k: int) -> list[tuple[int, float]]:
        """The ``k`` rows nearest ``query_vec`` as ``(row, cosine)``, best first."""
        ...

    def chunk_vectors(self, rows: list[int] | None = None) -> np.ndarray:
        """Stored vectors of ``rows`` (every live row when None)."""
        ...

    def close(self) -> None: ...


@runtime_checkable
class StoreWriter(Protocol):
    """An update's side of a store, called in this order by ``_update``: ``add`` with the newly
    embedded documents, ``write`` for each new or merged segment, ``before_commit``, the commit of the generation, then ``after_commit``."""

    kind: str

    def add(self, builds: list[DocBuild]) -> None:
        """Newly embedded documents, before they are written to a segment."""
        ...

    def write(self, folder: Path, builds: list[DocBuild], terms: ChunkTerms | None = None) -> None:
        """Add the store's files for a new segment holding ``builds`` (vectors set)."""
        ...

    def segment_vectors(self, folder: Path) -> np.ndarray | None:
        """A stored segment's vectors in row order, for a merge (None: they stay in the store)."""
        ...

    def segment_terms(self, segment: Segment) -> ChunkTerms | None:
        """A stored segment's term counts per chunk, for a merge (None: not kept per segment)."""
        ...

    def before_commit(self, index_dir: Path, staging: Path) -> None: ...

    def after_commit(self, index_dir: Path, warn: Any) -> None: ...
