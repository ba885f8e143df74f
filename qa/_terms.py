"""Names in a text, for checks that an answer or a rewrite keeps what the question named."""

from __future__ import annotations

import re

from index import tokens

__all__ = ["capitalised_terms", "figures", "names_another_figure"]

_FIGURE = re.compile(r"(?<![\d.,])\d+(?:,\d{3})*(?:\.\d+)?")
_YEAR = re.compile(r"(?<![\d.,])(1[5-9]\d\d|20\d\d)(?![\d.,])")
_LABEL_BEFORE = re.compile(r"\b([A-Za-z]{2,})\.?\s*(?:no\.?\s*|number\s+|#\s*)?(\d+(?:,\d{3})*(?:\.\d+)?)\b")
_LABEL_AFTER = re.compile(r"\b(\d+)(?:st|nd|rd|th)\s+([A-Za-z]{2,})")
# words before a number that name no kind of thing ("in 1998", "about 25", "than 3")
_NOT_LABELS = frozenset(
    re.findall(
        r"[a-z]+",
        "in on at by of for to from since until till before after about around approximately nearly almost "
        "over under than and or the a an is was are were be been has had have with without between among "
        "per each every some all only just least most more less top first last year years",
    )
)
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


def _labelled(text: str) -> set[tuple[str, str]]:
    """(label, number) pairs: "ticket 25", "Room #101", "version 3.2", "12th summit" -> ("summit", "12");
    years as ("year", "1998")."""
    out = {("year", m.group(1)) for m in _YEAR.finditer(text)}
    for m in _LABEL_BEFORE.finditer(text):
        label = m.group(1).lower()
        if label not in _NOT_LABELS:
            out.add((label, m.group(2).replace(",", "")))
    for m in _LABEL_AFTER.finditer(text):
        out.add((m.group(2).lower(), m.group(1)))
    return out


def names_another_figure(question: str, passage: str) -> bool:
    """Whether ``passage`` is about another one of something the question names by number: it
    lacks the question's "ticket 25" (or year 1998) and holds a different ticket (or year). A
    passage about ticket 52 does not answer a question about ticket 25, however alike their
    other words are; a passage that names no ticket at all is left to the reader."""
    held = figures(passage)
    theirs = _labelled(passage)
    for label, number in _labelled(question):
        if number in held:
            continue
        if any(lab == label and num != number for lab, num in theirs):
            return True
    return False
