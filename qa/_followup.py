"""Read a turn in the light of the conversation before it.

Two jobs, both without an LLM:

- :func:`condense`: the standalone question shown as "Understood as ...": a question that
  is elliptical or leans on a pronoun inherits the previous standalone question, while its
  own words stay the focus of answer selection.
- :func:`context_queries`: the retrieval queries of a turn with history. People name the
  subject of a follow-up only in earlier turns ("Are these clinics open at weekends?"), so
  the turn is also searched together with the previous question, and with the previous
  question and answer; the turn alone is always one of the queries, so when the topic
  changes its own passages still rank first after fusion rather than being dragged back.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from index import tokens

from ._types import Turn

_LEADS = re.compile(
    r"^\s*(and|but|also|so|then|what about|how about|and what about|what of|same for|"
    r"what else|anything else)\b",
    re.I,
)
_REFERS = re.compile(
    r"\b(it|its|it's|they|them|their|theirs|this|that|these|those|he|him|his|she|her|"
    r"there|then|the same|such|former|latter|one)\b",
    re.I,
)


_WH_START = re.compile(
    r"^\s*(what|who|whom|whose|where|when|which|how|is|are|was|were|does|do|did|can)\b", re.I
)
_NAME = re.compile(r"(?<=\S)\s+([A-Z][\w\-]+)")  # a capitalised word that does not open the question


def needs_history(question: str) -> bool:
    """Whether a question leans on an earlier turn.

    A question that names its own subject ("Who is the President of Kazakhstan?", "What
    is the recipe for plov?") stands alone even when short; one that only points back
    ("What format did he propose?", "And by 2027?") does not.
    """
    if _LEADS.match(question):
        return True
    content = tokens(question)
    names = bool(_NAME.search(question)) or any(t[0].isdigit() for t in content)
    if len(content) <= 1:
        return True
    if _REFERS.search(question) and not names and len(content) <= 6:
        return True
    return len(content) == 2 and not names and not _WH_START.match(question)


def condense(question: str, history: Sequence[Turn | dict | str] | None) -> str:
    """The standalone question to retrieve with; unchanged when no history is needed."""
    if not history:
        return question
    standalone: str | None = None
    for turn in history:
        asked = question_of(turn)
        standalone = asked if standalone is None or not needs_history(asked) else (f"{standalone} {asked}")
    if standalone and needs_history(question):
        return f"{standalone} {question}"
    return question


ANSWER_CONTEXT_CHARS = 400  # of the previous answer: its opening names what it was about


def context_queries(question: str, history: Sequence[Turn | dict | str] | None) -> list[str]:
    """The queries a turn is retrieved with (fused by the caller), the turn's own first.

    >>> context_queries("Are they open at weekends?", [Turn(question="Which clinics are in Boston?", answer="")])
    ['Are they open at weekends?', 'Which clinics are in Boston? Are they open at weekends?']
    """
    queries = [question]
    if history:
        last = history[-1]
        previous = question_of(last).strip()
        answer = answer_of(last).strip()[:ANSWER_CONTEXT_CHARS]
        if previous:
            queries.append(f"{previous} {question}")
        if previous and answer:
            queries.append(f"{previous} {answer} {question}")
    return list(dict.fromkeys(queries))


def answer_of(turn: Turn | dict | str) -> str:
    if isinstance(turn, str):
        return ""
    if isinstance(turn, dict):
        return str(turn.get("answer") or turn.get("a") or "")
    return turn.answer


def question_of(turn: Turn | dict | str) -> str:
    if isinstance(turn, str):
        return turn
    if isinstance(turn, dict):
        return str(turn.get("question") or turn.get("q") or "")
    return turn.question
