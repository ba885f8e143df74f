"""Objective grounding metrics: string matching, ROUGE-L (``rouge-score``) and set arithmetic, no
model judges.

Each function scores one turn so a report can show why an item failed; :func:`summarize`
aggregates them.

A clarifying question (``Answer.clarification``) is neither an answer nor a decline: on a turn
with an answer it withheld it (it counts in ``false_abstain_rate``, never as correct), on an
unanswerable turn it did not decline; only an underspecified turn (MTRAG-UN) wants one, and
those turns are scored by ``clarify_rate`` alone, outside the abstention metrics.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import PurePosixPath
from typing import Any

from . import _squad
from ._normalize import contains, normalize
from ._percentiles import percentile

_MARKER = re.compile(r"\s*\[\d+\]")

# metrics where a lower value is better: bounds on them are upper bounds
LOWER_IS_BETTER = frozenset({"false_abstain_rate", "latency_p50_s", "latency_p95_s"})
METRICS = (
    "answer_accuracy",
    "exact_match",
    "f1",
    "rougeL",
    "abstain_precision",
    "abstain_recall",
    "abstain_f1",
    "false_abstain_rate",
    "retrieval_hit_at_k",
    "mrr",
    "citation_precision",
    "citation_recall",
    "clarify_rate",
    "latency_p50_s",
    "latency_p95_s",
)
COUNTS = ("n", "n_answerable", "n_unanswerable", "n_underspecified", "k")

# summarize's by_class: MTRAG-UN's answerability classes, and the follow-ups among the answerable
CLASSES = ("answerable+partial", "unanswerable", "underspecified", "follow-up")
CLASS_METRICS = (
    "rougeL",
    "false_abstain_rate",
    "citation_recall",
    "citation_precision",
    "abstain_recall",
    "clarify_rate",
)
# where a clarifying question is a miss (an answer or a decline was due), clarify_rate is an upper bound
CLARIFY_IS_BAD = frozenset({"answerable+partial", "unanswerable", "follow-up"})
ANSWERED_KINDS = frozenset({"answerable", "partial"})


def strip_markers(text: str) -> str:
    """``"Baku [1]."`` -> ``"Baku."``: markers are not part of what was said."""
    return _MARKER.sub("", text)


def answer_correct(response: str, answers: Sequence[str], mode: str = "any") -> bool:
    """Whether the response holds any (or, with ``mode="all"``, every) acceptable answer."""
    text = strip_markers(response)
    found = [contains(text, a) for a in answers]
    return bool(found) and (all(found) if mode == "all" else any(found))


@functools.cache
def _rouge_scorer() -> Any:
    """One scorer for the run; imported on first use so loading ``eval`` stays light."""
    from rouge_score import rouge_scorer

    return rouge_scorer.RougeScorer(["rougeL"], use_stemmer=False)


def rouge_l(prediction: str, reference: str) -> float:
    """ROUGE-L F1 from ``rouge-score`` (Google's): lower-cased alphanumeric tokens, no stemmer,
    the citation markers taken out of the prediction first."""
    return float(_rouge_scorer().score(reference, strip_markers(prediction))["rougeL"].fmeasure)


MIN_QUOTE_CHARS = 15  # a quote shorter than this proves nothing by being inside the evidence


def supports(quote: str, evidence: Sequence[str]) -> bool:
    """Whether a cited span holds a piece of evidence (or is itself part of one).

    Both directions count because sentence splitters differ: a gold "sentence" may be
    two of ours, or one of ours may join two gold ones.
    """
    q = normalize(quote)
    if not q:
        return False
    for e in evidence:
        ev = normalize(e)
        if not ev:
            continue
        if f" {ev} " in f" {q} ":
            return True
        if len(q) >= MIN_QUOTE_CHARS and f" {q} " in f" {ev} ":
            return True
    return False


def relevant_rank(
    retrieved: Sequence[tuple[str, str]], relevant_docs: Sequence[str], evidence: Sequence[str]
) -> int | None:
    """1-based rank of the first relevant passage among ``(doc, text)`` pairs, or None.

    A passage is relevant when it comes from one of ``relevant_docs`` (ClapNQ: the
    question's own passage) or, without those, when it contains a piece of evidence.
    """
    for rank, (doc, text) in enumerate(retrieved, start=1):
        if relevant_docs:
            if doc in relevant_docs:
                return rank
        elif any(contains(text, e) for e in evidence):
            return rank
    return None


@dataclass
class TurnResult:
    """One asked question (a dialogue contributes one per turn) and how it scored."""

    id: str
    item_id: str
    turn: int
    question: str
    answerable: bool
    answers: list[str] = field(default_factory=list)
    answers_mode: str = "any"
    reference: str | None = None
    evidence: list[str] = field(default_factory=list)
    relevant_docs: list[str] = field(default_factory=list)
    kind: str = ""  # answerable / partial / unanswerable / underspecified (empty: from answerable)
    multi_turn: str | None = None  # MTRAG-UN: Follow-up / Clarification / N/A
    response: str = ""
    short_answer: str | None = None
    abstained: bool = False
    clarified: bool = False  # the response is a question back to the user
    clarification: dict[str, Any] | None = None  # Answer.clarification: readings, missing
    confidence: float | None = None
    standalone_question: str | None = None
    citations: list[dict[str, Any]] = field(default_factory=list)
    retrieved: list[dict[str, Any]] = field(default_factory=list)
    latency_s: float = 0.0
    error: str | None = None
    # per-item metrics (None where the metric does not apply)
    correct: bool | None = None
    exact_match: float | None = None  # SQuAD EM / F1 on the short answer (declining scores 1 when
    f1: float | None = None  # the question has no answer)
    rougeL: float | None = None
    hit: bool | None = None
    rank: int | None = None
    citation_precision: float | None = None
    citation_supported: bool | None = None
    clarify_ok: bool | None = None  # a clarification that names the readings (or what is missing)
    clarify_named: list[str] = field(default_factory=list)  # what it named, for the report

    def __post_init__(self) -> None:
        if not self.kind:
            self.kind = "answerable" if self.answerable else "unanswerable"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def withheld(self) -> bool:
        """No answer given: a decline or a question back to the user."""
        return self.abstained or self.clarified

    @property
    def failed(self) -> bool:
        """Wrong in a way a reader of the report should look at."""
        if self.error:
            return True
        if self.kind == "underspecified":
            return not (self.clarified and self.clarify_ok)
        if self.clarified:  # an answer or a decline was due
            return True
        if not self.answerable:
            return not self.abstained
        if self.abstained or self.correct is False:
            return True
        return self.citation_supported is False


def squad_scores(r: TurnResult) -> tuple[float, float]:
    """SQuAD EM and F1 of one turn: the short answer when the answerer gave one, else the
    response without markers; a decline is the empty answer, a clarifying question is
    neither (it scores 0 whether the question had an answer or not)."""
    if r.clarified:
        return 0.0, 0.0
    if r.abstained:
        prediction = ""
    else:
        prediction = r.short_answer if r.short_answer is not None else strip_markers(r.response)
    golds = r.answers if r.answerable else []
    return _squad.exact_match(prediction, golds), _squad.f1(prediction, golds)


def _subject_titles(retrieved: Sequence[dict[str, Any]]) -> list[str]:
    """The retrieved passages' titles that name a subject: not empty, and not just the file's
    name (what the index falls back to when a document has no heading)."""
    titles: dict[str, str] = {}
    for c in retrieved:
        title = str(c.get("title") or "")
        doc = PurePosixPath(str(c.get("doc") or "").replace("\\", "/"))
        norm = normalize(title)
        if norm and norm not in (normalize(doc.stem), normalize(doc.name)):
            titles.setdefault(norm, title)
    return list(titles.values())


def clarify_check(r: TurnResult) -> tuple[bool, list[str]]:
    """Whether a clarifying question counts, and what it named.

    It counts when the response names at least two distinct subjects of the retrieved passages
    (their titles, or ``readings`` found in their titles or text), or, when fewer than two
    distinct titles were retrieved, names what is ``missing``. Text is compared normalised; a
    subject named only as part of a longer one named beside it is not a second subject.
    """
    if not r.clarified:
        return False, []
    said = strip_markers(r.response)
    titles = _subject_titles(r.retrieved)
    clar = r.clarification or {}
    passages = [f"{c.get('title') or ''}\n{c.get('text') or ''}" for c in r.retrieved]
    readings = [str(x) for x in clar.get("readings") or [] if any(contains(p, str(x)) for p in passages)]
    named: dict[str, str] = {}
    for candidate in (*titles, *readings):
        if contains(said, candidate):
            named.setdefault(normalize(candidate), candidate)
    distinct = [
        shown
        for norm, shown in named.items()
        if not any(o != norm and f" {norm} " in f" {o} " for o in named)
    ]
    if len(distinct) >= 2:
        return True, distinct
    missing = str(clar.get("missing") or "")
    if len(titles) < 2 and missing.strip() and contains(said, missing):
        return True, [missing]
    return False, distinct


def score_turn(result: TurnResult) -> TurnResult:
    """Fill the per-item metrics of ``result`` from its response, citations and retrieval."""
    r = result
    if r.answerable and r.answers:
        r.correct = (not r.withheld) and answer_correct(r.response, r.answers, r.answers_mode)
    if r.kind != "underspecified" and (r.answers or not r.answerable):
        r.exact_match, r.f1 = squad_scores(r)
    if r.answerable and r.reference:
        r.rougeL = 0.0 if r.withheld else rouge_l(r.response, r.reference)
    # only answerable items have a passage that answers them; an unanswerable ClapNQ item's own
    # passage is on topic but holds no answer, so finding it or not says nothing about retrieval
    if r.answerable and (r.relevant_docs or r.evidence):
        pairs = [(c["doc"], c["text"]) for c in r.retrieved]
        r.rank = relevant_rank(pairs, r.relevant_docs, r.evidence)
        r.hit = r.rank is not None
    if r.answerable and r.evidence:
        for c in r.citations:
            c["supports"] = supports(c["quote"], r.evidence)
        if r.citations:
            r.citation_precision = sum(c["supports"] for c in r.citations) / len(r.citations)
        r.citation_supported = any(c["supports"] for c in r.citations)
    if r.clarified:
        r.clarify_ok, r.clarify_named = clarify_check(r)
    return r


def _mean(values: Sequence[float]) -> float | None:
    return sum(values) / len(values) if values else None


def _must_decline(r: TurnResult) -> bool:
    """Unanswerable and to be declined: an underspecified turn wants a clarifying question instead."""
    return not r.answerable and r.kind != "underspecified"


def _clarify_rate(ok: Sequence[TurnResult]) -> float | None:
    return _mean([float(r.clarified and bool(r.clarify_ok)) for r in ok])


def _citation_scores(answerable: Sequence[TurnResult]) -> tuple[float | None, float | None]:
    """Citation precision (over all citations) and recall (over turns) of answerable turns."""
    cites = [c for r in answerable if r.evidence for c in r.citations]
    precision = _mean([float(c["supports"]) for c in cites]) if cites else None
    recall = _mean([float(r.citation_supported) for r in answerable if r.citation_supported is not None])
    return precision, recall


def _class_metrics(results: Sequence[TurnResult]) -> dict[str, float | int | None]:
    """One row of ``by_class``; a metric the class cannot score is None."""
    ok = [r for r in results if r.error is None]
    answerable = [r for r in ok if r.answerable]
    decline = [r for r in ok if _must_decline(r)]
    precision, recall = _citation_scores(answerable)
    return {
        "n": len(results),
        "rougeL": _mean([r.rougeL for r in answerable if r.rougeL is not None]),
        "false_abstain_rate": _mean([float(r.withheld) for r in answerable]),
        "citation_recall": recall,
        "citation_precision": precision,
        "abstain_recall": _mean([float(r.abstained and not r.clarified) for r in decline]),
        "clarify_rate": _clarify_rate(ok),
    }


def by_class(results: Sequence[TurnResult]) -> dict[str, dict[str, float | int | None]]:
    """The metrics per MTRAG-UN class (:data:`CLASSES`); ``follow-up`` is the answerable and
    partial turns that need the earlier turns to be understood."""
    answered = [r for r in results if r.kind in ANSWERED_KINDS]
    groups = {
        "answerable+partial": answered,
        "unanswerable": [r for r in results if r.kind == "unanswerable"],
        "underspecified": [r for r in results if r.kind == "underspecified"],
        "follow-up": [r for r in answered if r.multi_turn == "Follow-up"],
    }
    return {name: _class_metrics(group) for name, group in groups.items()}


def _rounded(metrics: dict[str, Any]) -> dict[str, Any]:
    return {
        name: (round(v, 4) if isinstance(v, float) else _rounded(v) if isinstance(v, dict) else v)
        for name, v in metrics.items()
    }


def summarize(results: Sequence[TurnResult], k: int) -> dict[str, Any]:
    """The report's metrics; None where no item makes a metric meaningful.

    Gold sets with more classes than answerable/unanswerable, or with multi-turn labels
    (MTRAG-UN), also get ``by_class``: :data:`CLASS_METRICS` per :data:`CLASSES`.
    """
    ok = [r for r in results if r.error is None]
    answerable = [r for r in ok if r.answerable]
    unanswerable = [r for r in ok if _must_decline(r)]
    true_abstain = sum(r.abstained and not r.clarified for r in unanswerable)
    false_decline = sum(r.abstained and not r.clarified for r in answerable)
    withheld = sum(r.withheld for r in answerable)  # a clarifying question withholds the answer too
    predicted = true_abstain + false_decline
    precision = true_abstain / predicted if predicted else (None if not unanswerable else 0.0)
    recall = true_abstain / len(unanswerable) if unanswerable else None
    if precision is None or recall is None:
        f1 = None
    else:
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    citation_precision, citation_recall = _citation_scores(answerable)
    ranks = [r for r in ok if r.hit is not None]
    latencies = [r.latency_s for r in ok]
    p50, p95 = percentile(latencies, 0.5), percentile(latencies, 0.95)
    # EM/F1 need short gold answers: a gold set without them (ClapNQ) scores neither
    squad = [r for r in ok if r.exact_match is not None] if any(r.answers for r in answerable) else []
    metrics: dict[str, Any] = {
        "answer_accuracy": _mean([float(r.correct) for r in answerable if r.correct is not None]),
        "exact_match": _mean([r.exact_match for r in squad if r.exact_match is not None]),
        "f1": _mean([r.f1 for r in squad if r.f1 is not None]),
        "rougeL": _mean([r.rougeL for r in answerable if r.rougeL is not None]),
        "abstain_precision": precision,
        "abstain_recall": recall,
        "abstain_f1": f1,
        "false_abstain_rate": withheld / len(answerable) if answerable else None,
        "retrieval_hit_at_k": _mean([float(r.hit) for r in ranks]),
        "mrr": _mean([1.0 / r.rank if r.rank else 0.0 for r in ranks]),
        "citation_precision": citation_precision,
        "citation_recall": citation_recall,
        "clarify_rate": _clarify_rate(ok),
        "latency_p50_s": p50,
        "latency_p95_s": p95,
        "n": len(results),
        "n_answerable": sum(r.answerable for r in results),
        "n_unanswerable": sum(_must_decline(r) for r in results),
        "n_underspecified": sum(r.kind == "underspecified" for r in results),
        "n_errors": len(results) - len(ok),
        "k": k,
    }
    if any(r.kind not in ("answerable", "unanswerable") or r.multi_turn for r in results):
        metrics["by_class"] = by_class(results)
    return _rounded(metrics)
