"""The one definition of abstaining: the text a decline says, and how a decline is recognised.

The generators write ``ABSTAIN_TEXT``, the prompts ask an LLM for it, the MCP tools describe it,
and the verifier must not mistake an LLM's own "the sources do not mention ..." for a claim to
check. Kept apart, the wording and its detector drifted; this module has no imports, so any
surface (prompts, MCP, the web chat) can use it without loading numpy or the index.
"""

from __future__ import annotations

import re

__all__ = ["ABSTAIN_TEXT", "is_abstention", "is_decline"]

ABSTAIN_TEXT = "The documents do not say."

_ABSTAIN = re.compile(
    r"\b(?:documents?|sources?|passages?|context|texts?|articles?)\b[^.]*?\b(?:do(?:es)?\s*n[o']t|did\s*n[o']t|not)\b"
    r"[^.]*?\b(?:say|mention|contain|state|specify|provide|include|answer|cover|give)|"
    r"\bno (?:information|mention|answer)\b|^\s*(?:i )?(?:do not|don't) know\b|\bnot (?:mentioned|stated|specified)\b",
    re.I,
)


def is_abstention(text: str) -> bool:
    """Whether ``text`` says the documents do not cover something (``ABSTAIN_TEXT`` is one such).

    >>> is_abstention(ABSTAIN_TEXT), is_abstention("The sources do not mention a date."), is_abstention("Oil rose.")
    (True, True, False)
    """
    return bool(_ABSTAIN.search(text))


# Wider: how a stock LLM pipeline (the eval's llama-index baseline) phrases a whole answer that
# declines, "I cannot determine ...", "... is not available". Too wide for one claim of ours,
# where "unable to" or "not available" can be the very fact a document states.
_DECLINES = re.compile(
    r"\b(do(?:es)? not (?:say|mention|contain|provide|specify|state)|don't know|not (?:mentioned|provided|"
    r"specified|stated|available)|no (?:information|mention)|cannot (?:answer|determine|find)|unable to)\b",
    re.I,
)


def is_decline(answer: str) -> bool:
    """Whether another system's whole answer declines (the baseline's answers are scored with it).

    >>> is_decline("I cannot determine that from the context."), is_decline("Oil rose 3%.")
    (True, False)
    """
    return bool(_DECLINES.search(answer))
