"""How well one passage supports one claim: the evidence windows, the claim's terms, the score.

Apart from the claim splitting (:mod:`qa._claims`) and the verdicts (:mod:`qa._verify`): this is
the arithmetic (figures and names as hard requirements, rarity-weighted coverage, the embedder's
similarity as a softer signal), and it knows nothing of citations being kept or re-pointed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from index import CorpusIndex, tokens

from ._claims import Claim
from ._generation import Span
from ._hostile import hostile_spans
from ._terms import capitalised_terms

# words that frame a claim rather than carry it
FRAMING = frozenset(
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
class Evidence:
    """One retrieved chunk as evidence: windows over its trustworthy sentences."""

    chunk: int
    windows: list[_Window]
    toks: set[str]  # the whole chunk's, for names the question already holds


def prefix_set(toks: set[str]) -> set[str]:
    return {t[:5] for t in toks if len(t) >= 5 and not t[0].isdigit()}


def passage_evidence(index: CorpusIndex, chunk: int) -> Evidence:
    rows, vecs = index.chunk_sentences(chunk), index.sentence_vectors(chunk)
    doc = int(index.chunks[chunk, 0])
    text = index.documents[doc].text
    kept: list[tuple[int, int, int, set[str], np.ndarray]] = []  # (row, start, end, tokens, vec)
    hostile = set(hostile_spans(text, [(int(r[1]), int(r[2])) for r in rows]))
    for i, (row, vec) in enumerate(zip(rows, vecs, strict=False)):
        s, e = int(row[1]), int(row[2])
        if (s, e) not in hostile:
            kept.append((i, s, e, set(tokens(text[s:e])), vec.astype(np.float32)))
    windows = [_Window(doc, s, e, t, prefix_set(t), [v], [t]) for _, s, e, t, v in kept]
    for a, b in zip(kept, kept[1:], strict=False):
        if b[0] == a[0] + 1:  # adjacent in the document, no injected sentence between them
            toks = a[3] | b[3]
            windows.append(_Window(doc, a[1], b[2], toks, prefix_set(toks), [a[4], b[4]], [a[3], b[3]]))
    all_toks = set().union(*(k[3] for k in kept)) if kept else set()
    return Evidence(chunk, windows, all_toks)


@dataclass
class ClaimTerms:
    content: list[str]  # content tokens, framing words removed
    numbers: set[str]
    names: set[str]  # capitalised terms: they must be found
    asked: set[str]  # names the question holds: found anywhere in the passage will do
    weight: dict[str, float]
    around: dict[str, list[str]]  # each figure's neighbouring content words in the claim


def claim_terms(claim: Claim, question_tokens: set[str], index: CorpusIndex) -> ClaimTerms:
    toks = [t for t in dict.fromkeys(tokens(claim.text)) if t not in FRAMING]
    numbers = {t for t in toks if t[0].isdigit()}
    names = (capitalised_terms(claim.text) - FRAMING) - numbers
    weight = {t: max(index.lexical.idf(t), 0.5) for t in toks}
    for t in numbers | names:
        weight[t] = weight.get(t, 1.0) * 1.5
    seq = tokens(claim.text)
    around = {}
    for i, t in enumerate(seq):
        if t in numbers:
            near = [w for w in seq[max(0, i - 2) : i + 3] if not w[0].isdigit() and w not in FRAMING]
            around[t] = list(dict.fromkeys(around.get(t, []) + near))
    return ClaimTerms(toks, numbers, names, names & question_tokens, weight, around)


def _bound(number: str, terms: ClaimTerms, parts: list[set[str]]) -> bool:
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
        pre = prefix_set(toks)
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
class Score:
    support: float
    coverage: float
    similarity: float
    missing_numbers: list[str]
    missing_names: list[str]
    span: Span | None = None


def support_score(
    terms: ClaimTerms,
    toks: set[str],
    prefixes: set[str],
    sim: float | None,
    settings: VerifySettings,
    context: set[str] | None = None,
    parts: list[set[str]] | None = None,
) -> Score:
    if not terms.content:
        return Score(0.0, 0.0, sim or 0.0, [], [])
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
    return Score(support, coverage, sim or 0.0, missing_numbers, missing_names)


def best_window(
    terms: ClaimTerms, passage: Evidence, vec: np.ndarray | None, settings: VerifySettings
) -> Score:
    """The passage's support for a claim: that of its best window, whose span is the citation."""
    best: Score | None = None
    for w in passage.windows:
        sim = max(float(v @ vec) for v in w.vecs) if vec is not None else None
        score = support_score(terms, w.toks, w.prefixes, sim, settings, passage.toks, w.parts)
        # the tighter quote wins near-ties: a pair must do clearly better than one sentence
        margin = 0.05 if len(w.vecs) > 1 else 1e-9
        if best is None or score.support > best.support + margin:
            score.span = Span(w.doc, w.start, w.end, 0.0)
            best = score
    if best is None:
        return Score(0.0, 0.0, 0.0, sorted(terms.numbers), sorted(terms.names))
    assert best.span is not None
    best.span.score = round(float(best.support), 4)
    return best


def describe_missing(score: Score, seen: set[str]) -> str:
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
