"""Lexical side of the index: one tokenizer shared by BM25 and the answer scorer."""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

import numpy as np

STOPWORDS = frozenset(
    [
        "a",
        "about",
        "above",
        "after",
        "again",
        "against",
        "all",
        "am",
        "an",
        "and",
        "any",
        "are",
        "as",
        "at",
        "be",
        "because",
        "been",
        "before",
        "being",
        "below",
        "between",
        "both",
        "but",
        "by",
        "can",
        "could",
        "did",
        "do",
        "does",
        "doing",
        "down",
        "during",
        "each",
        "few",
        "for",
        "from",
        "further",
        "had",
        "has",
        "have",
        "having",
        "he",
        "her",
        "here",
        "hers",
        "herself",
        "him",
        "himself",
        "his",
        "how",
        "i",
        "if",
        "in",
        "into",
        "is",
        "it",
        "its",
        "itself",
        "just",
        "me",
        "more",
        "most",
        "my",
        "myself",
        "no",
        "nor",
        "not",
        "now",
        "of",
        "off",
        "on",
        "once",
        "only",
        "or",
        "other",
        "our",
        "ours",
        "ourselves",
        "out",
        "over",
        "own",
        "same",
        "she",
        "should",
        "so",
        "some",
        "such",
        "than",
        "that",
        "the",
        "their",
        "theirs",
        "them",
        "themselves",
        "then",
        "there",
        "these",
        "they",
        "this",
        "those",
        "through",
        "to",
        "too",
        "under",
        "until",
        "up",
        "very",
        "was",
        "we",
        "were",
        "what",
        "when",
        "where",
        "which",
        "while",
        "who",
        "whom",
        "why",
        "will",
        "with",
        "would",
        "you",
        "your",
        "yours",
        "yourself",
        "yourselves",
        "also",
        "s",
        "t",
        "according",
        "did",
        "does",
        "many",
        "much",
        "ever",
        "whose",
    ]
)

_TOKEN = re.compile(r"[0-9]+(?:[.,][0-9]+)*|[^\W_]+", re.UNICODE)


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """A light, dependency-free English stemmer; enough to match plurals and tenses."""
    if len(word) <= 3 or word[0].isdigit():
        return word
    for suffix, repl in (
        ("ational", "ate"),
        ("ization", "ize"),
        ("ations", "ate"),
        ("ation", "ate"),
        ("iveness", "ive"),
        ("ments", "ment"),
        ("ness", ""),
        ("ings", ""),
        ("ing", ""),
        ("ied", "y"),
        ("ies", "y"),
        ("edly", ""),
        ("ed", ""),
        ("ly", ""),
        ("es", ""),
        ("s", ""),
    ):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            if suffix == "s" and word.endswith(("ss", "us", "is")):
                return word
            if suffix == "es" and not word.endswith(("ches", "shes", "sses", "xes", "zes")):
                return word[:-1]
            return word[: len(word) - len(suffix)] + repl
    return word


def normalise_number(token: str) -> str:
    return token.replace(",", "")


def tokens(text: str, keep_stopwords: bool = False) -> list[str]:
    """Lower-cased, stemmed word tokens; numbers keep their digits (``3,400`` -> ``3400``)."""
    out = []
    for match in _TOKEN.finditer(text.lower()):
        tok = match.group()
        if tok[0].isdigit():
            out.append(normalise_number(tok))
        elif keep_stopwords or tok not in STOPWORDS:
            out.append(stem(tok))
    return out


_EMPTY_MARKER = "EMPTY"
_EMPTY_TOKEN = "__empty__"  # bm25s cannot index a chunk without tokens; this stands in
_TERMS_FILE = "chunk_terms.npz"
K1, B = 1.5, 0.75  # bm25s defaults ("lucene" scoring)
# Bump when ``tokens()`` changes: stored term counts of another version are re-tokenised.
TOKENS_VERSION = 1


def _ranges(starts: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Concatenated ``arange(s, s + c)`` for every pair, without a Python loop."""
    total = int(counts.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64)
    offsets = np.repeat(starts.astype(np.int64) - np.cumsum(counts) + counts, counts)
    return offsets + np.arange(total, dtype=np.int64)


class ChunkTerms:
    """Term counts per chunk (CSR rows over ``vocab``), kept beside the BM25 index.

    BM25's document frequencies and average length change whenever any chunk does, so
    an update must rescore every chunk; keeping the counts makes that a few vectorised
    numpy passes instead of re-tokenising the whole corpus (the slow part, in Python).
    """

    def __init__(self, vocab: list[str], ptr: np.ndarray, ids: np.ndarray, tfs: np.ndarray) -> None:
        self.vocab = vocab
        self.ptr = ptr.astype(np.int64)
        self.ids = ids.astype(np.int32)
        self.tfs = tfs.astype(np.int32)

    def __len__(self) -> int:
        return len(self.ptr) - 1

    @classmethod
    def from_texts(cls, texts: list[str], vocab: list[str] | None = None) -> ChunkTerms:
        """Tokenise ``texts``; ids extend ``vocab`` (a copy) so existing ids stay valid."""
        vocab = list(vocab or [])
        lookup = {t: i for i, t in enumerate(vocab)}
        ptr, ids, tfs = [0], [], []
        for text in texts:
            counts: dict[int, int] = {}
            for tok in tokens(text) or [_EMPTY_TOKEN]:
                tid = lookup.get(tok)
                if tid is None:
                    tid = lookup[tok] = len(vocab)
                    vocab.append(tok)
                counts[tid] = counts.get(tid, 0) + 1
            ids.extend(counts)
            tfs.extend(counts.values())
            ptr.append(len(ids))
        return cls(vocab, np.asarray(ptr), np.asarray(ids, np.int64), np.asarray(tfs, np.int64))

    def take(self, rows: np.ndarray) -> ChunkTerms:
        rows = np.asarray(rows, dtype=np.int64)
        counts = self.ptr[rows + 1] - self.ptr[rows]
        idx = _ranges(self.ptr[rows], counts)
        ptr = np.concatenate([[0], np.cumsum(counts)])
        return ChunkTerms(self.vocab, ptr, self.ids[idx], self.tfs[idx])

    def extend(self, texts: list[str]) -> ChunkTerms:
        """These rows, then one row per text (tokenised now), over one shared vocabulary."""
        new = ChunkTerms.from_texts(texts, self.vocab)
        ptr = np.concatenate([self.ptr, self.ptr[-1] + new.ptr[1:]])
        return ChunkTerms(
            new.vocab, ptr, np.concatenate([self.ids, new.ids]), np.concatenate([self.tfs, new.tfs])
        )

    def save(self, path: Path) -> None:
        np.savez(path, ptr=self.ptr, ids=self.ids, tfs=self.tfs, version=np.int64(TOKENS_VERSION))

    @classmethod
    def load(cls, path: Path, vocab: list[str]) -> ChunkTerms | None:
        """The stored counts, or None when another version of ``tokens()`` made them."""
        with np.load(path) as z:
            # files without the field came from version 1, the first that stored counts
            if (int(z["version"]) if "version" in z.files else 1) != TOKENS_VERSION:
                return None
            return cls(vocab, z["ptr"], z["ids"], z["tfs"])


class LexicalIndex:
    """BM25 over chunk texts (``bm25s``), plus document frequencies for term weighting."""

    def __init__(
        self, bm25, n_docs: int, terms: ChunkTerms | None = None, folder: Path | None = None
    ) -> None:
        self._bm25 = bm25
        self.n_docs = n_docs
        self._terms = terms
        self._folder = folder

    @classmethod
    def build(cls, texts: list[str]) -> LexicalIndex:
        return cls.from_terms(ChunkTerms.from_texts(texts))

    @classmethod
    def from_terms(cls, terms: ChunkTerms) -> LexicalIndex:
        """Score every chunk as ``bm25s.BM25().index`` would (same formula, float32), vectorised.

        An emptied folder (last document removed) is still a valid index: one placeholder
        row stands in, because bm25s cannot index nothing, and ``n_docs`` stays 0.
        """
        import bm25s

        n_docs = len(terms)
        if n_docs == 0:
            terms = ChunkTerms.from_texts([""])
        n = len(terms)
        rows = np.repeat(np.arange(n, dtype=np.int64), np.diff(terms.ptr))
        df = np.bincount(terms.ids, minlength=len(terms.vocab))
        used = np.flatnonzero(df)  # drop terms only removed chunks had
        remap = np.full(len(terms.vocab), -1, dtype=np.int64)
        remap[used] = np.arange(len(used))
        ids = remap[terms.ids]
        df = df[used]
        vocab = [terms.vocab[i] for i in used]
        doc_len = np.bincount(rows, weights=terms.tfs, minlength=n)
        avg_len = doc_len.mean()
        idf = np.log(1 + (n - df + 0.5) / (df + 0.5)).astype(np.float32)
        tf = terms.tfs.astype(np.float32)
        tfc = tf / (K1 * ((1 - B) + B * doc_len[rows] / avg_len) + tf)
        scores = (idf[ids] * tfc).astype(np.float32)
        order = np.argsort(ids, kind="stable")  # by term, then by chunk (rows ascend): the CSC bm25s reads
        bm25 = bm25s.BM25(k1=K1, b=B)
        bm25.scores = {
            "data": scores[order],
            "indices": rows[order].astype(np.int32),
            "indptr": np.concatenate([[0], np.cumsum(np.bincount(ids, minlength=len(vocab)))]).astype(
                np.int64
            ),
            "num_docs": n,
        }
        bm25.vocab_dict = {t: i for i, t in enumerate(vocab)}
        bm25.unique_token_ids_set = set(bm25.vocab_dict.values())
        bm25.nonoccurrence_array = None  # only BM25L and BM25+ use it
        return cls(bm25, n_docs, ChunkTerms(vocab, terms.ptr, ids, terms.tfs) if n_docs else None)

    def save(self, folder: Path) -> None:
        self._bm25.save(str(folder), show_progress=False)
        if self.n_docs == 0:
            (folder / _EMPTY_MARKER).write_text("no chunks; the one BM25 row is a placeholder\n")
        elif self._terms is not None:
            self._terms.save(folder / _TERMS_FILE)

    @classmethod
    def load(cls, folder: Path) -> LexicalIndex:
        import bm25s

        bm25 = bm25s.BM25.load(str(folder), mmap=False)
        n_docs = 0 if (folder / _EMPTY_MARKER).exists() else int(bm25.scores["num_docs"])
        return cls(bm25, n_docs, folder=folder)

    def chunk_terms(self, texts: Callable[[], list[str]]) -> ChunkTerms:
        """The stored term counts; ``texts`` re-tokenises an index written before they were kept."""
        if self._terms is None:
            path = self._folder / _TERMS_FILE if self._folder is not None else None
            if self.n_docs == 0:
                self._terms = ChunkTerms([], np.zeros(1, np.int64), np.zeros(0), np.zeros(0))
            elif path is not None and path.is_file():
                vocab = [""] * len(self._bm25.vocab_dict)
                for t, i in self._bm25.vocab_dict.items():
                    if i < len(vocab):
                        vocab[i] = t
                self._terms = ChunkTerms.load(path, vocab)
            if self._terms is None:
                self._terms = ChunkTerms.from_texts(texts())
        return self._terms

    def idf(self, token: str) -> float:
        """Inverse document frequency; unseen tokens get the maximum."""
        tid = self._bm25.vocab_dict.get(token)
        if tid is None:
            df = 0
        else:
            indptr = self._bm25.scores["indptr"]
            df = int(indptr[tid + 1] - indptr[tid])
        return float(np.log(1 + (self.n_docs - df + 0.5) / (df + 0.5)))

    def search(self, query: str, k: int) -> list[tuple[int, float]]:
        q = [t for t in tokens(query) if t in self._bm25.vocab_dict]
        if not q or self.n_docs == 0:
            return []
        scores = self._bm25.get_scores(q)
        k = min(k, len(scores))
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top])]
        return [(int(i), float(scores[i])) for i in top if scores[i] > 0]
