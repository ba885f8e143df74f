"""Check an LLM's answer against the passages it was given, sentence by sentence.

A language model cites ``[n]`` but nothing makes it right: it may cite the wrong source,
or state a figure no source holds. Each sentence of the draft is scored against each
retrieved passage: its numbers and names must be found there (hard requirements: an
invented figure is the costliest mistake), its content words mostly so (weighted by
rarity), and the embedder's similarity to the passage's stored sentence vectors is a
second, softer signal. A sentence keeps the citation the model gave when that passage
supports it, is re-pointed to the retrieved passage that does when the model cited the
wrong one, and is dropped when none does. Every kept citation points to the stored
sentence span that supports the claim best, so ``quote == doc.text[start:end]`` holds.
Sentences of a passage that talk to the assistant (:mod:`qa._hostile`: "ignore previous
instructions...") are never evidence: a prompt injection cannot verify itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from index import CorpusIndex, tokens

from ._claims import Claim, split_claims
from ._generation import Span
from ._support import (
    FRAMING,
    ClaimTerms,
    Evidence,
    Score,
    VerifySettings,
    best_window,
    claim_terms,
    describe_missing,
    passage_evidence,
    prefix_set,
    support_score,
)
from ._types import AnswerSentence

if TYPE_CHECKING:
    from index import Embedder

__all__ = ["Check", "Claim", "VerifySettings", "compose", "split_claims", "verify"]


@dataclass
class Check:
    """The verdict on one claim."""

    claim: Claim
    support: float
    kept: bool
    reason: str
    sources: list[int] = field(default_factory=list)  # 1-based sources it now cites
    spans: list[Span] = field(default_factory=list)  # one per source: the supporting sentence(s)
    verified: bool = False  # supported (support >= threshold) by the cited passages


def verify(
    claims: list[Claim],
    chunks: list[int],
    index: CorpusIndex,
    question: str = "",
    embedder: Embedder | None = None,
    settings: VerifySettings | None = None,
    *,
    drop: bool = True,
) -> list[Check]:
    """Score each claim against the passages ``chunks`` (source ``n`` is ``chunks[n-1]``).

    With ``drop=False`` nothing is dropped or re-pointed; the scores are still honest.
    """
    settings = settings or VerifySettings()
    passages = [passage_evidence(index, c) for c in chunks]
    question_tokens = set(tokens(question))
    claim_vecs: list[np.ndarray | None] = [None] * len(claims)
    checkable = [i for i, c in enumerate(claims) if not c.abstains]
    if embedder is not None and checkable:
        vecs = embedder.embed_texts([claims[i].text for i in checkable])
        for i, v in zip(checkable, vecs, strict=False):
            claim_vecs[i] = v
    checks = [
        _check(claim, vec, passages, question_tokens, index, settings, drop)
        for claim, vec in zip(claims, claim_vecs, strict=False)
    ]
    if drop:
        _keep_to_the_point(checks, question_tokens - FRAMING, settings.max_sentences)
    return checks


def _check(
    claim: Claim,
    vec: np.ndarray | None,
    passages: list[Evidence],
    question_tokens: set[str],
    index: CorpusIndex,
    settings: VerifySettings,
    drop: bool,
) -> Check:
    """The verdict on one claim: the sources that support it, or why none does."""
    if claim.abstains:
        return Check(claim, 0.0, False, "says what the sources lack; not a claim")
    terms = claim_terms(claim, question_tokens, index)
    if not terms.content:
        return Check(claim, 0.0, not drop, "nothing in it to check against the sources")
    scores = [best_window(terms, p, vec, settings) for p in passages]
    valid = [n for n in claim.cited if 1 <= n <= len(passages)]
    invalid = [n for n in claim.cited if n not in valid]
    passing = [n for n in valid if scores[n - 1].support >= settings.threshold]
    # a claim that joins facts from two cited passages
    if not passing and len(valid) > 1 and _jointly_supported(terms, valid, scores, passages, vec, settings):
        passing = list(valid)
    best_n = int(np.argmax([s.support for s in scores])) + 1 if scores else 0

    def spans_for(ns: list[int]) -> list[Span]:
        return [span for n in ns if (span := scores[n - 1].span) is not None]

    if passing:
        support = max(scores[n - 1].support for n in passing)
        reason = "supported by its cited source" + ("s" if len(passing) > 1 else "")
        if len(passing) < len(valid) or invalid:
            reason += "; dropped citation " + ", ".join(f"[{n}]" for n in claim.cited if n not in passing)
        return Check(claim, support, True, reason, passing, spans_for(passing), True)
    if not drop:
        support = max((scores[n - 1].support for n in valid), default=0.0)
        return Check(claim, support, True, "not verified (verification off)", valid, spans_for(valid), False)
    if best_n and scores[best_n - 1].support >= settings.threshold:
        support = scores[best_n - 1].support
        if valid:
            cited = ", ".join(f"[{n}]" for n in claim.cited)
            reason = f"cited {cited} does not support it; re-cited to source [{best_n}]"
        elif invalid:
            reason = f"cited a source that does not exist; re-cited to source [{best_n}]"
        else:
            reason = f"had no citation; source [{best_n}] supports it"
        return Check(claim, support, True, reason, [best_n], spans_for([best_n]), True)
    best = scores[best_n - 1] if best_n else Score(0.0, 0.0, 0.0, [], [])
    seen = set().union(*(p.toks for p in passages)) if passages else set()
    return Check(claim, best.support, False, describe_missing(best, seen))


def _jointly_supported(
    terms: ClaimTerms,
    valid: list[int],
    scores: list[Score],
    passages: list[Evidence],
    vec: np.ndarray | None,
    settings: VerifySettings,
) -> bool:
    """Whether the cited passages' best windows together support the claim; if so, each cited
    score takes the joint support."""
    spans = [scores[n - 1].span for n in valid]
    union: set[str] = set()
    parts: list[set[str]] = []
    for n in valid:
        sp = scores[n - 1].span
        if sp is not None:
            w = next(w for w in passages[n - 1].windows if (w.start, w.end) == (sp.start, sp.end))
            union |= w.toks
            parts += w.parts
    context = set().union(*(passages[n - 1].toks for n in valid))
    sim = max(scores[n - 1].similarity for n in valid) if vec is not None else None
    joint = support_score(terms, union, prefix_set(union), sim, settings, context, parts)
    if joint.support >= settings.threshold and all(spans):
        for n in valid:
            scores[n - 1].support = joint.support
        return True
    return False


def _keep_to_the_point(checks: list[Check], question_terms: set[str], limit: int) -> None:
    """Drop supported sentences that do not address the question, beyond the first and the limit.

    A sentence is on topic when it shares a content word with the question or with the
    sentence kept before it ("By 2027 this is expected to reach 7 million tons" continues
    "... 3.4 million tons of Kazakh oil have been exported").
    """
    kept = 0
    previous: set[str] = set()
    for check in checks:
        if not check.kept:
            continue
        words = set(tokens(check.claim.text)) - FRAMING
        on_topic = not question_terms or bool((question_terms | previous) & words)
        if kept and not on_topic:
            check.kept, check.reason = False, "supported, but does not address the question"
        elif kept >= limit:
            check.kept, check.reason = False, f"supported, but beyond the first {limit} sentences"
        else:
            kept += 1
            previous = words


def compose(checks: list[Check]) -> tuple[str, list[Span], list[bool], list[AnswerSentence]]:
    """The grounded answer from the kept claims: text with ``[n]``, spans, their verified flags, sentences.

    Markers are renumbered 1..m in order of first use; two claims backed by the same span share one.
    """
    parts: list[str] = []
    spans: list[Span] = []
    verified: list[bool] = []
    numbers: dict[tuple[int, int, int], int] = {}
    sentences: list[AnswerSentence] = []
    for check in checks:
        marks: list[int] = []
        if check.kept:
            for span in check.spans:
                key = (span.doc, span.start, span.end)
                if key not in numbers:
                    spans.append(span)
                    verified.append(check.verified)
                    numbers[key] = len(spans)
                if numbers[key] not in marks:
                    marks.append(numbers[key])
            parts.append(check.claim.text + "".join(f" [{m}]" for m in marks))
        sentences.append(
            AnswerSentence(
                text=check.claim.text,
                citations=marks,
                cited_sources=list(check.claim.cited),
                support=round(float(check.support), 4),
                kept=check.kept,
                reason=check.reason,
            )
        )
    return " ".join(parts), spans, verified, sentences
