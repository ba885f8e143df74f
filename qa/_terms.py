"""Names in a text, for checks that an answer or a rewrite keeps what the question named."""

from __future__ import annotations

import re

from index import tokens

__all__ = ["capitalised_terms"]

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
