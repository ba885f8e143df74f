"""Resolve a follow-up ("And by 2027?") into a standalone question using the history.

The extractive generator has no LLM to rewrite questions, so it condenses by rule: a
question that is elliptical or leans on a pronoun inherits the previous standalone
question as context, while its own words stay the focus of answer selection.
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
        asked = _question_of(turn)
        standalone = asked if standalone is None or not needs_history(asked) else (f"{standalone} {asked}")
    if standalone and needs_history(question):
        return f"{standalone} {question}"
    return question


def _question_of(turn: Turn | dict | str) -> str:
    if isinstance(turn, str):
        return turn
    if isinstance(turn, dict):
        return str(turn.get("question") or turn.get("q") or "")
    return turn.question
