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

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from index import CorpusIndex, sentence_spans, tokens

from ._generation import Span
from ._hostile import hostile_spans
from ._terms import capitalised_terms
from ._types import AnswerSentence

if TYPE_CHECKING:
    from index import Embedder

_MARKER = re.compile(
    r"\s*[\[【]\s*(?:sources?\s*)?(\d{1,3}(?:\s*(?:[,;]|and|-|–)\s*\d{1,3})*)\s*[\]】]", re.I
)
_ONLY_MARKERS = re.compile(r"^(?:\s*[\[【][^\]】]*[\]】])+\s*[.!?]?\s*$")
_ABSTAIN = re.compile(
    r"\b(?:documents?|sources?|passages?|context|texts?|articles?)\b[^.]*?\b(?:do(?:es)?\s*n[o']t|did\s*n[o']t|not)\b"
    r"[^.]*?\b(?:say|mention|contain|state|specify|provide|include|answer|cover|give)|"
    r"\bno (?:information|mention|answer)\b|^\s*(?:i )?(?:do not|don't) know\b|\bnot (?:mentioned|stated|specified)\b",
    re.I,
)
# words that frame a claim rather than carry it
_FRAMING = frozenset(
    tokens(
        "document documents source sources passage passages text article according mention mentioned "
        "say says said state states stated report reported also however therefore"
    )
)


@dataclass
class VerifySettings:
    """How strict verification is. Support is in 0..1; a sentence needs ``threshold``."""

    threshold: float = 0.5
    lexical_weight: float = 0.7  # the rest is semantic similarity, when an embedder is given
    sim_floor: float = 0.25  # cosine at or below this counts as no semantic support
    sim_ceiling: float = 0.70  # cosine at or above this counts as full semantic support
    missing_number_factor: float = 0.3
    missing_name_factor: float = 0.5
    # A grounded sentence can still be beside the point ("The article reflects the author's
    # views."): after the first kept sentence, one that shares no content word with the
    # question is dropped, and at most this many sentences are kept.
    max_sentences: int = 3


@dataclass
class Claim:
    """One sentence of a draft, its ``[n]`` markers removed and kept apart."""

    text: str
    cited: list[int] = field(default_factory=list)  # source numbers as written, 1-based
    abstains: bool = False  # says the documents do not cover something


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


# ---------------------------------------------------------------- splitting


def _numbers_in(marker: str) -> list[int]:
    out: list[int] = []
    parts = re.split(r"\s*(?:[,;]|and)\s*", marker)
    for part in parts:
        bounds = re.split(r"\s*[-–]\s*", part.strip())
        if len(bounds) == 2 and all(b.isdigit() for b in bounds):
            lo, hi = int(bounds[0]), int(bounds[1])
            out.extend(range(lo, min(hi, lo + 20) + 1))
        elif part.strip().isdigit():
            out.append(int(part))
    return out


def _clean(text: str) -> str:
    text = re.sub(r"\s+", " ", text).strip()
    text = re.sub(r"\s+([.,;:!?])", r"\1", text)
    return re.sub(r"^(?:answer|a)\s*:\s*", "", text, flags=re.I)


def split_claims(draft: str) -> list[Claim]:
    """Sentences of ``draft`` with their markers; a marker opening a sentence belongs to the one before.

    >>> [(c.text, c.cited) for c in split_claims("Oil rose [1]. [2] Gas fell [3, 4].")]
    [('Oil rose.', [1, 2]), ('Gas fell.', [3, 4])]
    """
    claims: list[Claim] = []
    for start, end in sentence_spans(draft):
        piece = draft[start:end]
        lead = re.match(r"^(?:\s*[\[【][^\]】]*[\]】])+", piece)
        if lead and claims:
            claims[-1].cited.extend(
                n for m in _MARKER.finditer(lead.group()) for n in _numbers_in(m.group(1))
            )
            piece = piece[lead.end() :]
        if not piece.strip() or _ONLY_MARKERS.match(piece):
            continue
        cited = [n for m in _MARKER.finditer(piece) for n in _numbers_in(m.group(1))]
        text = _clean(_MARKER.sub("", piece))
        if not text or not re.search(r"\w", text):
            if claims:
                claims[-1].cited.extend(cited)
            continue
        claims.append(Claim(text, cited, bool(_ABSTAIN.search(text))))
    for claim in claims:
        claim.cited = list(dict.fromkeys(claim.cited))
    return claims


# ---------------------------------------------------------------- evidence


@dataclass
class _Window:
    """One stored sentence, or two adjacent ones: the unit a claim must be supported by."""

    doc: int
    start: int
    end: int
    toks: set[str]
    prefixes: set[str]
    vecs: list[np.ndarray]
    parts: list[set[str]]  # each sentence's tokens: a figure must sit with its own context


@dataclass
class _Passage:
    """One retrieved chunk as evidence: windows over its trustworthy sentences."""

    chunk: int
    windows: list[_Window]
    toks: set[str]  # the whole chunk's, for names the question already holds


def _prefixes(toks: set[str]) -> set[str]:
    return {t[:5] for t in toks if len(t) >= 5 and not t[0].isdigit()}


def _passage(index: CorpusIndex, chunk: int) -> _Passage:
    rows, vecs = index.chunk_sentences(chunk), index.sentence_vectors(chunk)
    doc = int(index.chunks[chunk, 0])
    text = index.documents[doc].text
    kept: list[tuple[int, int, int, set[str], np.ndarray]] = []  # (row, start, end, tokens, vec)
    hostile = set(hostile_spans(text, [(int(r[1]), int(r[2])) for r in rows]))
    for i, (row, vec) in enumerate(zip(rows, vecs, strict=False)):
        s, e = int(row[1]), int(row[2])
        if (s, e) not in hostile:
            kept.append((i, s, e, set(tokens(text[s:e])), vec.astype(np.float32)))
    windows = [_Window(doc, s, e, t, _prefixes(t), [v], [t]) for _, s, e, t, v in kept]
    for a, b in zip(kept, kept[1:], strict=False):
        if b[0] == a[0] + 1:  # adjacent in the document, no injected sentence between them
            toks = a[3] | b[3]
            windows.append(_Window(doc, a[1], b[2], toks, _prefixes(toks), [a[4], b[4]], [a[3], b[3]]))
    all_toks = set().union(*(k[3] for k in kept)) if kept else set()
    return _Passage(chunk, windows, all_toks)


@dataclass
class _ClaimTerms:
    content: list[str]  # content tokens, framing words removed
    numbers: set[str]
    names: set[str]  # capitalised terms: they must be found
    asked: set[str]  # names the question holds: found anywhere in the passage will do
    weight: dict[str, float]
    around: dict[str, list[str]]  # each figure's neighbouring content words in the claim


def _terms(claim: Claim, question_tokens: set[str], index: CorpusIndex) -> _ClaimTerms:
    toks = [t for t in dict.fromkeys(tokens(claim.text)) if t not in _FRAMING]
    numbers = {t for t in toks if t[0].isdigit()}
    names = (capitalised_terms(claim.text) - _FRAMING) - numbers
    weight = {t: max(index.lexical.idf(t), 0.5) for t in toks}
    for t in numbers | names:
        weight[t] = weight.get(t, 1.0) * 1.5
    seq = tokens(claim.text)
    around = {}
    for i, t in enumerate(seq):
        if t in numbers:
            near = [w for w in seq[max(0, i - 2) : i + 3] if not w[0].isdigit() and w not in _FRAMING]
            around[t] = list(dict.fromkeys(around.get(t, []) + near))
    return _ClaimTerms(toks, numbers, names, names & question_tokens, weight, around)


def _bound(number: str, terms: _ClaimTerms, parts: list[set[str]]) -> bool:
    """Whether some sentence holds the figure with most of the words beside it in the claim.

    "136 million tons of oil" must not be verified by "investments stand at 136 million."
    followed by "3.4 million tons of oil were exported": each figure keeps its own context.
    """
    near = terms.around.get(number, [])
    near_total = sum(terms.weight.get(w, 1.0) for w in near)
    total = sum(terms.weight[t] for t in terms.content)
    for toks in parts:
        if number not in toks:
            continue
        if not near:
            return True
        pre = _prefixes(toks)
        # the words right beside the figure, or enough of the whole claim, share its sentence
        if sum(terms.weight.get(w, 1.0) * _found(w, toks, pre) for w in near) / near_total > 0.5:
            return True
        if sum(terms.weight[t] * _found(t, toks, pre) for t in terms.content) / total >= 0.4:
            return True
    return False


def _found(term: str, toks: set[str], prefixes: set[str]) -> float:
    if term in toks:
        return 1.0
    if len(term) >= 5 and not term[0].isdigit() and term[:5] in prefixes:
        return 0.7  # "Kazakh" / "Kazakhstan", "built" / "build"-like near misses
    return 0.0


@dataclass
class _Score:
    support: float
    coverage: float
    similarity: float
    missing_numbers: list[str]
    missing_names: list[str]
    span: Span | None = None


def _score(
    terms: _ClaimTerms,
    toks: set[str],
    prefixes: set[str],
    sim: float | None,
    settings: VerifySettings,
    context: set[str] | None = None,
    parts: list[set[str]] | None = None,
) -> _Score:
    if not terms.content:
        return _Score(0.0, 0.0, sim or 0.0, [], [])
    total = sum(terms.weight[t] for t in terms.content)
    coverage = sum(terms.weight[t] * _found(t, toks, prefixes) for t in terms.content) / total
    unbound = sorted(
        t for t in terms.numbers if t in toks and parts is not None and not _bound(t, terms, parts)
    )
    missing_numbers = sorted(t for t in terms.numbers if t not in toks) + unbound
    missing_names = sorted(
        t
        for t in terms.names
        if not _found(t, toks, prefixes) and not (t in terms.asked and context and t in context)
    )
    if sim is None:
        support = coverage
    else:
        semantic = float(
            np.clip((sim - settings.sim_floor) / (settings.sim_ceiling - settings.sim_floor), 0, 1)
        )
        support = settings.lexical_weight * coverage + (1 - settings.lexical_weight) * semantic
    if missing_numbers:
        support *= settings.missing_number_factor
    if missing_names:
        support *= settings.missing_name_factor ** min(len(missing_names), 2)
    return _Score(support, coverage, sim or 0.0, missing_numbers, missing_names)


def _best_window(
    terms: _ClaimTerms, passage: _Passage, vec: np.ndarray | None, settings: VerifySettings
) -> _Score:
    """The passage's support for a claim: that of its best window, whose span is the citation."""
    best: _Score | None = None
    for w in passage.windows:
        sim = max(float(v @ vec) for v in w.vecs) if vec is not None else None
        score = _score(terms, w.toks, w.prefixes, sim, settings, passage.toks, w.parts)
        # the tighter quote wins near-ties: a pair must do clearly better than one sentence
        margin = 0.05 if len(w.vecs) > 1 else 1e-9
        if best is None or score.support > best.support + margin:
            score.span = Span(w.doc, w.start, w.end, 0.0)
            best = score
    if best is None:
        return _Score(0.0, 0.0, 0.0, sorted(terms.numbers), sorted(terms.names))
    assert best.span is not None
    best.span.score = round(float(best.support), 4)
    return best


def _describe_missing(score: _Score, seen: set[str]) -> str:
    """Why the best passage falls short; ``seen`` holds every retrieved passage's tokens."""
    elsewhere = [n for n in score.missing_numbers if n in seen]
    absent = [n for n in score.missing_numbers if n not in seen]
    parts = []
    if absent:
        parts.append("figure " + ", ".join(absent))
    if score.missing_names:
        parts.append("name " + ", ".join(score.missing_names))
    reasons = [" and ".join(parts) + " not found in the sources"] if parts else []
    if elsewhere:
        reasons.append(f"figure {', '.join(elsewhere)} is in the sources, but not with what it says here")
    return "; ".join(reasons) or f"too little of it is in the sources (support {score.support:.2f})"


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
    passages = [_passage(index, c) for c in chunks]
    question_tokens = set(tokens(question))
    claim_vecs: list[np.ndarray | None] = [None] * len(claims)
    checkable = [i for i, c in enumerate(claims) if not c.abstains]
    if embedder is not None and checkable:
        vecs = embedder.embed_texts([claims[i].text for i in checkable])
        for i, v in zip(checkable, vecs, strict=False):
            claim_vecs[i] = v

    checks: list[Check] = []
    for claim, vec in zip(claims, claim_vecs, strict=False):
        if claim.abstains:
            checks.append(Check(claim, 0.0, False, "says what the sources lack; not a claim"))
            continue
        terms = _terms(claim, question_tokens, index)
        if not terms.content:
            checks.append(Check(claim, 0.0, not drop, "nothing in it to check against the sources"))
            continue
        scores = [_best_window(terms, p, vec, settings) for p in passages]
        valid = [n for n in claim.cited if 1 <= n <= len(passages)]
        invalid = [n for n in claim.cited if n not in valid]
        passing = [n for n in valid if scores[n - 1].support >= settings.threshold]
        if not passing and len(valid) > 1:  # a claim that joins facts from two cited passages
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
            joint = _score(terms, union, _prefixes(union), sim, settings, context, parts)
            if joint.support >= settings.threshold and all(spans):
                passing = list(valid)
                for n in valid:
                    scores[n - 1].support = joint.support
        best_n = int(np.argmax([s.support for s in scores])) + 1 if scores else 0

        def spans_for(ns: list[int], scores=scores) -> list[Span]:
            return [scores[n - 1].span for n in ns if scores[n - 1].span is not None]

        if passing:
            support = max(scores[n - 1].support for n in passing)
            reason = "supported by its cited source" + ("s" if len(passing) > 1 else "")
            if len(passing) < len(valid) or invalid:
                reason += "; dropped citation " + ", ".join(f"[{n}]" for n in claim.cited if n not in passing)
            checks.append(Check(claim, support, True, reason, passing, spans_for(passing), True))
        elif not drop:
            support = max((scores[n - 1].support for n in valid), default=0.0)
            checks.append(
                Check(claim, support, True, "not verified (verification off)", valid, spans_for(valid), False)
            )
        elif best_n and scores[best_n - 1].support >= settings.threshold:
            support = scores[best_n - 1].support
            if valid:
                cited = ", ".join(f"[{n}]" for n in claim.cited)
                reason = f"cited {cited} does not support it; re-cited to source [{best_n}]"
            elif invalid:
                reason = f"cited a source that does not exist; re-cited to source [{best_n}]"
            else:
                reason = f"had no citation; source [{best_n}] supports it"
            checks.append(Check(claim, support, True, reason, [best_n], spans_for([best_n]), True))
        else:
            best = scores[best_n - 1] if best_n else _Score(0.0, 0.0, 0.0, [], [])
            seen = set().union(*(p.toks for p in passages)) if passages else set()
            checks.append(Check(claim, best.support, False, _describe_missing(best, seen)))
    if drop:
        _keep_to_the_point(checks, question_tokens - _FRAMING, settings.max_sentences)
    return checks


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
        words = set(tokens(check.claim.text)) - _FRAMING
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
