"""Names in a text, for checks that an answer or a rewrite keeps what the question named."""

from __future__ import annotations

import re

from index import tokens

__all__ = ["capitalised_terms", "figures", "names_another_figure"]

_FIGURE = re.compile(r"(?<![\d.,])\d+(?:,\d{3})*(?:\.\d+)?")
_CARDINALS = (
    "one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen "
)
_CARDINALS += "seventeen eighteen nineteen twenty"
_ORDINALS = "first second third fourth fifth sixth seventh eighth ninth tenth eleventh twelfth thirteenth "
_ORDINALS += "fourteenth fifteenth sixteenth seventeenth eighteenth nineteenth twentieth"
_WORD_VALUE = {w: str(i) for names in (_CARDINALS, _ORDINALS) for i, w in enumerate(names.split(), start=1)}
_NUMBER_WORD = re.compile(r"\b(" + "|".join(_WORD_VALUE) + r")\b", re.I)
_ORDINAL_BEFORE = re.compile(r"\b(" + "|".join(_ORDINALS.split()) + r")\s+([A-Za-z]{2,})", re.I)
_CARDINAL_AFTER = re.compile(r"\b([A-Za-z]{2,})\s+(" + "|".join(_CARDINALS.split()) + r")\b", re.I)
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
    """The numbers a text states, thousands separators dropped ("ticket 25", "2,000", "12th", "3.4"),
    and the ones it spells out up to twenty ("two", "second")."""
    out = {m.group().replace(",", "").rstrip(".") for m in _FIGURE.finditer(text)}
    return out | {_WORD_VALUE[m.group(1).lower()] for m in _NUMBER_WORD.finditer(text)}


def _labelled(text: str) -> set[tuple[str, str]]:
    """(label, number) pairs: "ticket 25", "Room #101", "version 3.2", "season two", "12th summit" and
    "second season" -> ("summit", "12"), ("season", "2"). A bare year ("in 1947") is no label: a
    question's year is often context its answering passage leaves out (measured on ClapNQ's fit half)."""
    out: set[tuple[str, str]] = set()
    for m in _LABEL_BEFORE.finditer(text):
        label = m.group(1).lower()
        if label not in _NOT_LABELS:
            out.add((label, m.group(2).replace(",", "")))
    for m in _CARDINAL_AFTER.finditer(text):
        label = m.group(1).lower()
        if label not in _NOT_LABELS:
            out.add((label, _WORD_VALUE[m.group(2).lower()]))
    for m in _LABEL_AFTER.finditer(text):
        out.add((m.group(2).lower(), m.group(1)))
    for m in _ORDINAL_BEFORE.finditer(text):
        out.add((m.group(2).lower(), _WORD_VALUE[m.group(1).lower()]))
    return out


def names_another_figure(question: str, passage: str) -> bool:
    """Whether ``passage`` is about another one of something the question names by number: it
    lacks the question's "ticket 25" and holds a different ticket ("ticket 52"). A
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
