"""A loaded generation's view of its Milvus collection: the node ids of its rows, dense and
BM25 search through llama-index's ``MilvusVectorStore``, and the local document frequencies."""

from __future__ import annotations

import contextlib
import json
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

from ._lexical import tokens
from ._milvus import BM25_PARAMS, guard, lex_text, node_id

LEXICON_FILE = "lexicon.json"


# ---------------------------------------------------------------- lexicon (document frequencies)


class Lexicon:
    """Chunk counts per token: BM25's idf for the answer scorer, without holding the BM25 index."""

    def __init__(self, n_docs: int, df: dict[str, int]) -> None:
        self.n_docs = n_docs
        self.df = df

    def idf(self, token: str) -> float:
        df = self.df.get(token, 0)
        return float(np.log(1 + (self.n_docs - df + 0.5) / (df + 0.5)))

    def updated(self, removed: Iterable[str], added: Iterable[str]) -> Lexicon:
        df = Counter(self.df)
        n = self.n_docs
        for text in removed:
            df.subtract(set(tokens(text)))
            n -= 1
        for text in added:
            df.update(set(tokens(text)))
            n += 1
        return Lexicon(n, {t: c for t, c in df.items() if c > 0})

    def save(self, path: Path) -> None:
        path.write_text(
            json.dumps({"n_docs": self.n_docs, "df": self.df}, ensure_ascii=False), encoding="utf-8"
        )

    @classmethod
    def load(cls, path: Path) -> Lexicon:
        data = json.loads(path.read_text(encoding="utf-8"))
        return cls(int(data["n_docs"]), data["df"])


# ---------------------------------------------------------------- reading


class MilvusLexical:
    """``search``/``idf`` like the FAISS store's ``SegmentedBM25``, with the search done by Milvus' BM25."""

    def __init__(self, backend: MilvusBackend, lexicon: Lexicon) -> None:
        self._backend = backend
        self.lexicon = lexicon
        self.n_docs = lexicon.n_docs

    def idf(self, token: str) -> float:
        return self.lexicon.idf(token)

    def search(self, query: str, k: int) -> list[tuple[int, float]]:
        text = lex_text(query)
        if not text or not self._backend.n_rows:
            return []

        def run(limit: int):
            return self._backend.vector_store.text_search(text, limit)

        # milvus-lite reports BM25 as a negated distance, a server as a score; the FAISS store's
        # BM25 (bm25s' formula) leaves out BM25's constant (k1 + 1) factor, so divide it out too
        scale = 1.0 + BM25_PARAMS["bm25_k1"]
        return [(r, abs(s) / scale) for r, s in self._backend.fetch(run, k, "searching text") if s != 0]


class MilvusBackend:
    """A generation's view of its collection: node ids of its rows, nothing else."""

    kind = "milvus"

    def __init__(self, vector_store: Any, node_ids: list[str], lexicon: Lexicon, uri: str) -> None:
        self.vector_store = vector_store
        self.node_ids = node_ids
        self.row_of = {n: i for i, n in enumerate(node_ids)}
        self.n_rows = len(node_ids)
        self.uri = uri
        self.lexical = MilvusLexical(self, lexicon)

    def fetch(self, run, k: int, doing: str) -> list[tuple[int, float]]:
        """Top-k of this generation's rows; asks for more while nodes of another one crowd in."""
        k = min(k, self.n_rows)
        limit = k
        while True:
            with guard(self.uri, doing):
                result = run(limit)
            ids = result.ids or []
            sims = result.similarities or []
            hits = [(self.row_of[i], float(s)) for i, s in zip(ids, sims, strict=False) if i in self.row_of]
            if len(hits) >= k or len(ids) < limit or limit >= 16384:
                return hits[:k]
            limit = min(16384, limit * 2 + (limit - len(hits)))

    def dense_search(self, query_vec: np.ndarray, k: int) -> list[tuple[int, float]]:
        if not self.n_rows:
            return []
        from llama_index.core.vector_stores.types import VectorStoreQuery

        vec = np.asarray(query_vec, dtype=np.float32).tolist()

        def run(limit: int):
            return self.vector_store.query(
                VectorStoreQuery(query_embedding=vec, similarity_top_k=limit, output_fields=["id"])
            )

        return self.fetch(run, k, "searching vectors")

    def chunk_vectors(self, rows: list[int] | None = None) -> np.ndarray:
        rows = list(range(self.n_rows)) if rows is None else [int(r) for r in rows]
        dim = int(self.vector_store.dim or 0)
        if not rows:
            return np.zeros((0, dim), np.float32)
        with guard(self.uri, "reading vectors"):
            found = self.vector_store.vectors([self.node_ids[r] for r in rows])
        out = np.zeros((len(rows), dim), np.float32)
        for j, r in enumerate(rows):  # a node deleted under a stale reader scores 0, never fails
            vec = found.get(self.node_ids[r])
            if vec is not None:
                out[j] = vec
        return out

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.vector_store.client.close()


def node_ids_for(keys_hashes: list[tuple[str, str]], chunks: np.ndarray) -> list[str]:
    """Node id of every row: rows are grouped by document, numbered from 0 within each."""
    ids: list[str] = []
    prev_doc, local = -1, 0
    for d in chunks[:, 0] if len(chunks) else []:
        d = int(d)
        local = local + 1 if d == prev_doc else 0
        prev_doc = d
        key, digest = keys_hashes[d]
        ids.append(node_id(key, digest, local))
    return ids


# ---------------------------------------------------------------- writing and recovery
