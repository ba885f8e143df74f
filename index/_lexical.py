"""Lexical side of the index: one tokenizer shared by BM25 and the answer scorer."""

from __future__ import annotations

import re
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


class LexicalIndex:
    """BM25 over chunk texts (``bm25s``), plus document frequencies for term weighting."""

    def __init__(self, bm25, n_docs: int) -> None:
        self._bm25 = bm25
        self.n_docs = n_docs

    @classmethod
    def build(cls, texts: list[str]) -> LexicalIndex:
        import bm25s

        # bm25s cannot index nothing; an emptied folder (last document removed) is still a
        # valid index, so a placeholder row stands in and ``n_docs`` stays 0.
        corpus = [tokens(t) or ["__empty__"] for t in texts] or [["__empty__"]]
        bm25 = bm25s.BM25()
        bm25.index(corpus, show_progress=False)
        return cls(bm25, len(texts))

    def save(self, folder: Path) -> None:
        self._bm25.save(str(folder), show_progress=False)
        if self.n_docs == 0:
            (folder / _EMPTY_MARKER).write_text("no chunks; the one BM25 row is a placeholder\n")

    @classmethod
    def load(cls, folder: Path) -> LexicalIndex:
        import bm25s

        bm25 = bm25s.BM25.load(str(folder), mmap=False)
        n_docs = 0 if (folder / _EMPTY_MARKER).exists() else int(bm25.scores["num_docs"])
        return cls(bm25, n_docs)

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
