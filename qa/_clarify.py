"""When a turn cannot be pinned down, ask back instead of guessing or declining.

A person asks "What does this library offer?" or "How has the role of the Prime Minister
changed?" where neither the conversation nor the question says which one. Two cases:

- the turn points at something ("this library", "the Prime Minister", "the country's
  stadium", "the season of Grey's Anatomy") that the conversation never named, and the
  retrieved passages are about two or more different ones: the question back names those
  (their titles), so the user can pick;
- it points with "this"/"these"/"those" at something the conversation never named and the documents
  offer no candidates: the question back says what is missing.

A pointer the conversation resolves ("the plan" after a turn about a plan) is never asked
about, so clear follow-ups are answered as before. Works for every generator: the decision
is made on the retrieved passages, before any generation.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import NamedTuple

from index import CorpusIndex, tokens

from ._followup import answer_of, question_of
from ._retrieval import Hit
from ._types import Clarification, Turn

__all__ = ["clarify", "clarifying_text"]


def _words(text: str) -> list[str]:
    return text.split()


# a demonstrative always points; "the" points only when the documents then offer several.
# "that" is left out: far more often it opens a clause ("the program that Teymur Atayev hosts",
# "warned that global tensions pose ...") than it points
_POINTER = re.compile(
    r"\b(this|these|those|the)\s+(?=([A-Za-z][\w.'’\-]*(?:\s+[A-Za-z][\w'’\-]*){0,3}))", re.I
)
# words that end the pointed-at phrase: what follows a noun phrase in a question
_ENDS = frozenset(
    _words(
        "a an and are as at be been being but by can could did do does for from had has have how if in into "
        "is it its of on or provide provides offer offers play plays operate operates mean means work works "
        "cost costs apply applies need needs require requires include includes affect affects cover covers "
        "get gets take takes make makes say says support supports allow allows use uses should so than that "
        "the their them then there these they this those to under was were what when where which while who "
        "whom whose why will with would you your i me my we our different similar available able "
        "possible important such also born"
    )
)
# modifiers that lead a phrase without being what it names ("the key aspects")
_MODIFIERS = frozenset(
    _words("potential key main current specific general best new recent entire whole famous")
)
# phrases that point at nothing a user could be asked to name
_GENERIC = frozenset(
    _words(
        "one ones same other way time thing things kind sort type lot week weekend month year day today world"
    )
)
MAX_READINGS = 3


def _phrase(words: str) -> tuple[str, bool]:
    """The pointed-at noun phrase: the words up to the first that cannot belong to it
    (a verb, a participle, an adverb, a preposition); leading modifiers go ("the key
    aspects" -> "aspects"), and a common noun's possessive closes it ("the country's").
    The flag says whether such a possessive closed it."""
    kept: list[str] = []
    for raw in words.split():
        word = re.sub(r"(['’]s|[?.!,;:])$", "", raw)
        low = word.lower()
        if not word or low in _ENDS or (len(low) > 4 and low.endswith(("ed", "ly"))):
            break
        if low in _MODIFIERS:
            if not kept:
                continue
            break
        proper_possessive = raw[:1].isupper() and bool(re.search(r"['’]s$", raw))
        kept.append(raw if proper_possessive else word)
        if word != raw and not proper_possessive:
            return " ".join(kept), bool(re.search(r"['’]s$", raw))
    return " ".join(kept), False


class _Pointer(NamedTuple):
    phrase: str
    demonstrative: bool = False  # "this X": even with no reading in the documents, X is missing
    qualifier: str = ""  # Y of "the X of Y", which every reading must share
    owned: str = ""  # Y of "the X's Y", as open as X is


def _pointers(question: str) -> list[_Pointer]:
    """Each "this X" / "the X" in the question.

    A demonstrative always points, and so does "the X's" with a common noun X ("the actor's
    approach", "the country's stadium"): it presumes one particular X that the question does
    not name, and so one particular stadium. "the X of Y" carries Y as its qualifier
    ("the season of Grey's Anatomy"), so "the war of the grand alliance" has no second reading.
    """
    found = []
    for m in _POINTER.finditer(question):
        phrase, possessive = _phrase(m.group(2))
        demonstrative = m.group(1).lower() != "the"
        points = demonstrative or possessive  # either presumes one X the question does not name
        rest = question[m.start(2) + len(phrase) :]
        qualifier = owned = ""
        of = re.match(r"\s+of\s+(?:the\s+)?(.*)", rest, re.I)
        if not points and of:
            # a name is its run of capitalised words ("Harbour Lanterns premiere" -> "Harbour Lanterns")
            name = re.match(r"[A-Z][\w'’\-]*(?:\s+[A-Z][\w'’\-]*)*", of.group(1))
            qualifier = name.group(0) if name else _phrase(of.group(1))[0]
        has = re.match(r"['’]s\s+(.*)", rest) if possessive else None
        if has:
            owned = _phrase(has.group(1))[0]
        if phrase and phrase.lower() not in _GENERIC:
            found.append(_Pointer(phrase, demonstrative, qualifier, owned))
    return found


def _history_text(history: Sequence[Turn | dict | str] | None) -> str:
    return " ".join(f"{question_of(turn)} {answer_of(turn)}" for turn in history or [])


def _titles(hits: Sequence[Hit], index: CorpusIndex) -> list[tuple[str, str, str]]:
    """(key, title, passage text) per distinct document, in rank order."""
    seen: dict[str, tuple[str, str, str]] = {}
    for hit in hits:
        doc = index.documents[hit.doc]
        if doc.key not in seen:
            title = " ".join(doc.title.split())
            seen[doc.key] = (doc.key, title, doc.text[hit.start : hit.end])
    return list(seen.values())


def _named_title(title: str, key: str) -> bool:
    """Whether a title is a real one, not the file name an untitled document falls back to."""
    stem = key.rsplit("/", 1)[-1].rsplit(".", 1)[0]
    return bool(title) and tokens(title) != tokens(stem.replace("-", " ").replace("_", " "))


def clarify(
    question: str, history: Sequence[Turn | dict | str] | None, hits: Sequence[Hit], index: CorpusIndex
) -> tuple[Clarification, str] | None:
    """The clarification to give instead of an answer, with its text, or None to answer.

    >>> clarify("What does this library offer?", [], hits, index)  # doctest: +SKIP
    (Clarification(readings=['California State Library', 'Monterey Park Library']), 'Which library ...')
    """
    pointers = _pointers(question)
    if not pointers:
        return None
    said = set(tokens(_history_text(history)))
    asked = set(tokens(question))
    docs = _titles(hits, index)
    titled = set().union(*(tokens(title) for _, title, _ in docs)) if docs else set()
    fallback: tuple[Clarification, str] | None = None
    for pointer in pointers:
        words = tokens(pointer.phrase)
        if not words:
            continue
        # what the phrase names: its last word a retrieved title shares ("the Grey's Anatomy
        # season premiere" -> season), else its last word
        head = next((w for w in reversed(words) if w in titled), words[-1])
        if head in said:  # the conversation named it: a clear follow-up, and so is what it owns
            continue
        named = _up_to(pointer.phrase, head)
        readings = _readings(docs, named, pointer.qualifier, asked)
        # passages that speak of one, titled otherwise; only for "this X": "the town's museum"
        # is not about every passage that mentions a town
        if pointer.demonstrative and len(readings) < 2:
            readings += [
                title
                for key, title, text in docs
                if _named_title(title, key) and title not in readings and head in tokens(text)
            ]
        readings = list(dict.fromkeys(readings))[:MAX_READINGS]
        if pointer.qualifier:
            named = f"{named} of {pointer.qualifier}"
        # what it owns, cut like the phrase after its last word a title shares ("museum show")
        thing = next((w for w in reversed(tokens(pointer.owned)) if w in titled), "")
        if len(readings) < 2 and thing:
            owned_named = _up_to(pointer.owned, thing)
            owned = _readings(docs, owned_named, "", asked)[:MAX_READINGS]
            if len(owned) >= 2:
                readings, named = owned, owned_named
        if len(readings) >= 2:
            c = Clarification(readings=readings)
            return c, clarifying_text(named, c)
        if pointer.demonstrative and fallback is None:  # said only if no later pointer has readings
            c = Clarification(readings=readings, missing=named)
            fallback = c, clarifying_text(named, c)
    return fallback


def _readings(docs: list[tuple[str, str, str]], named: str, qualifier: str, asked: set[str]) -> list[str]:
    """Documents titled after one of what the phrase names ("Prime Minister of Canada" for "the
    Prime Minister"), each a different one (a title word the question lacks); "Great Wall of
    China" is no reading of "the berlin wall"."""
    wanted = set(tokens(named)) | set(tokens(qualifier))
    return [
        title
        for key, title, _ in docs
        if _named_title(title, key) and wanted <= set(tokens(title)) and set(tokens(title)) - asked
    ]


def _up_to(phrase: str, head: str) -> str:
    """The phrase cut after the word that names the thing ("Grey's Anatomy season premiere" -> "... season")."""
    words = phrase.split()
    for i, word in enumerate(words):
        if tokens(word) and tokens(word)[-1] == head:
            return " ".join(words[: i + 1])
    return phrase


def clarifying_text(phrase: str, c: Clarification) -> str:
    """The question back to the user."""
    noun = phrase
    if len(c.readings) >= 2:
        options = ", ".join(f"\u201c{r}\u201d" for r in c.readings[:-1]) + f" or \u201c{c.readings[-1]}\u201d"
        return f"Which {noun} do you mean? The documents cover more than one: {options}."
    if c.readings:
        return (
            f"Which {noun} do you mean? The conversation does not say; "
            f"the documents mention \u201c{c.readings[0]}\u201d."
        )
    return f"Which {noun} do you mean? Neither the conversation nor the documents say."
