"""Names in a text, for checks that an answer or a rewrite keeps what the question named."""

from __future__ import annotations

import re

from index import tokens

__all__ = ["capitalised_terms", "figures", "lacks_figures"]

_FIGURE = re.compile(r"(?<![\d.,])\d+(?:,\d{3})*(?:\.\d+)?")
_CAP = re.compile(r"\b[A-Z][\w\-’'+]*(?:\s+[A-Z][\w\-’'+]*)*")


def capitalised_terms(text: str) -> set[str]:
    """Stemmed tokens of capitalised words, skipping each sentence's first word."""
    out: set[str] = set()
    for match in _CAP.finditer(text):
        before = text[: match.start()].rstrip()
        words = match.group().split()
        if not before or before[-1] in '.?!:\n"“':
            words = words[1:]
        for word in words:
            out.update(tokens(word))
    return out


def figures(text: str) -> set[str]:
    """The numbers a text states, thousands separators dropped ("ticket 25", "2,000", "12th", "3.4")."""
    return {m.group().replace(",", "").rstrip(".") for m in _FIGURE.finditer(text)}


def lacks_figures(question: str, passage: str) -> bool:
    """Whether ``passage`` misses a number the question names: a passage about ticket 52 does not
    answer a question about ticket 25, however alike the rest of their words are."""
    wanted = figures(question)
    return bool(wanted) and not wanted <= figures(passage)
