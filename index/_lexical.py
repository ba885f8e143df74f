"""Lexical side of the index: one tokenizer shared by BM25 and the answer scorer."""

from __future__ import annotations

import re
from functools import lru_cache

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


_EMPTY_TOKEN = "__empty__"  # bm25s cannot index a chunk without tokens; this stands in
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

    @classmethod
    def concat(cls, parts: list[ChunkTerms]) -> ChunkTerms:
        """The rows of every part in order, over one vocabulary (for merging segments)."""
        vocab: list[str] = []
        lookup: dict[str, int] = {}
        ids, tfs, counts = [], [], []
        for part in parts:
            for t in part.vocab:
                if t not in lookup:
                    lookup[t] = len(vocab)
                    vocab.append(t)
            remap = np.asarray([lookup[t] for t in part.vocab], dtype=np.int64)
            ids.append(remap[part.ids] if len(part.ids) else np.zeros(0, np.int64))
            tfs.append(part.tfs)
            counts.append(np.diff(part.ptr))
        if not parts:
            return cls([], np.zeros(1, np.int64), np.zeros(0, np.int64), np.zeros(0, np.int64))
        ptr = np.concatenate([[0], np.cumsum(np.concatenate(counts))])
        return cls(vocab, ptr, np.concatenate(ids), np.concatenate(tfs))
