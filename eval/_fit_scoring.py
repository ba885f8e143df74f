"""How one design of the default answerer scores on the fit questions: each question's two
possible outcomes (its answer, its decline), the objective, and the best threshold.

Apart from :mod:`eval.fit_answerer` (which chooses among designs) so that the rule a design is
judged by reads in one place; every outcome comes from the answerer's own code.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from qa import Assistant
from qa._answerer import ExtractiveGenerator, ExtractiveSettings, Reading
from qa._generation import ABSTAIN_TEXT, Generation, GenerationRequest

from ._datasets import GoldItem
from ._metrics import TurnResult, summarize
from ._runner import record

PASSAGES = (1, 2, 3, 5)
# a decline of an answerable question costs a user more than a wrong answer to an unanswerable
# one costs a benchmark: thresholds that decline more than this share of any fit source's
# answerable questions are not considered (the acceptance bounds sit at 0.10-0.15)
MAX_FALSE_ABSTAIN = 0.15


@dataclass
class Case:
    """A fit question with what the assistant retrieved for it and the reader's reading of it."""

    source: str
    item: GoldItem
    request: GenerationRequest
    reading: Reading


def outcomes(
    case: Case, bot: Assistant, gen: ExtractiveGenerator, s: ExtractiveSettings
) -> tuple[float, TurnResult, TurnResult]:
    """(decision score, the scored answer when it answers, the scored decline) under settings ``s``."""
    reading = Reading(case.reading.passages[: s.passages], case.reading.reader, case.reading.notice)
    forced = gen.compose(reading, case.request, replace(s, threshold=-math.inf))
    score = forced.score if forced.score is not None else -math.inf
    q, standalone = case.request.question, case.request.standalone
    said = bot.build_answer(q, standalone, case.request.hits, forced, gen.name, {}, case.request.index)
    declined = bot.build_answer(
        q, standalone, case.request.hits, Generation(ABSTAIN_TEXT, True), gen.name, {}, case.request.index
    )
    return score, record(case.item, 0, said, 0.0, None), record(case.item, 0, declined, 0.0, None)


def score_rows(
    rows: list[tuple[str, GoldItem, float, TurnResult, TurnResult]], threshold: float
) -> dict[str, dict]:
    """The metrics per source when each row answers if its score clears ``threshold``."""
    by: dict[str, list[TurnResult]] = {}
    for source, _, score, said, declined in rows:
        by.setdefault(source, []).append(said if score >= threshold else declined)
    return {name: summarize(results, max(PASSAGES)) for name, results in by.items()}


def objective(metrics: dict[str, dict]) -> float:
    """Mean over sources of balanced decision accuracy plus answer quality (f1 or rougeL)."""
    parts = []
    for m in metrics.values():
        balanced = ((m["abstain_recall"] or 0.0) + 1.0 - (m["false_abstain_rate"] or 0.0)) / 2
        quality = m["f1"] if m.get("f1") is not None else (m.get("rougeL") or 0.0)
        parts.append(balanced + quality)
    return sum(parts) / len(parts)


Row = tuple[str, GoldItem, float, TurnResult, TurnResult]


def rows_for(cases: list[Case], bots: dict[str, Assistant], s: ExtractiveSettings) -> list[Row]:
    """Every case's (source, item, score, answer, decline) under settings ``s``."""
    gen = ExtractiveGenerator(s)
    return [(c.source, c.item, *outcomes(c, bots[c.source], gen, s)) for c in cases]


def best_threshold(rows: list[Row]) -> tuple[float, float, dict]:
    """The threshold that maximises the objective on ``rows``: (objective, threshold, metrics)."""
    scores = sorted({round(r[2], 2) for r in rows if math.isfinite(r[2])})
    grid = scores[:: max(1, len(scores) // 60)] or [0.0]
    best = (-1.0, grid[0], score_rows(rows, grid[0]))  # the most permissive, if none keeps the bound
    for t in grid:
        metrics = score_rows(rows, t)
        if any((m["false_abstain_rate"] or 0.0) > MAX_FALSE_ABSTAIN for m in metrics.values()):
            continue
        obj = objective(metrics)
        if obj > best[0]:
            best = (obj, t, metrics)
    if best[0] < 0:
        best = (objective(best[2]), best[1], best[2])
    return best


def sweep(cases: list[Case], bots: dict[str, Assistant], s: ExtractiveSettings) -> tuple[float, float, dict]:
    """The best threshold for settings ``s``: (objective, threshold, metrics per source)."""
    return best_threshold(rows_for(cases, bots, s))
