"""The reader benchmark's scoring and threshold fit, on hand-computed cases."""

from __future__ import annotations

import pytest

from eval.reader_eval import best_threshold, ranking, score

# (question, passage, gold answers); no answers = unanswerable
ITEMS = [
    ("q1", "p", ["1874"]),
    ("q2", "p", ["Margaret Thorne"]),
    ("q3", "p", []),
    ("q4", "p", []),
]
# (raw score: best span minus no-answer, best span)
PREDS = [(3.0, "1874"), (0.5, "Thorne"), (1.0, "Goole"), (-2.0, "1962")]


def test_score_declines_below_the_threshold():
    m = score(ITEMS, PREDS, threshold=0.0)  # answers q1, q2, q3; declines q4
    assert m["has_ans_exact_match"] == 0.5 and m["has_ans_f1"] == pytest.approx((1 + 2 / 3) / 2, abs=1e-4)
    assert m["no_ans_accuracy"] == 0.5
    assert m["exact_match"] == pytest.approx(2 / 4) and m["f1"] == pytest.approx((1 + 2 / 3 + 0 + 1) / 4, abs=1e-4)
    strict = score(ITEMS, PREDS, threshold=5.0)  # declines everything
    assert (strict["has_ans_f1"], strict["no_ans_accuracy"], strict["f1"]) == (0.0, 1.0, 0.5)


def test_threshold_maximises_f1():
    # answering q3 (raw 1.0) costs 1, answering q2 (raw 0.5) gains 2/3: best is to answer only q1
    t = best_threshold(ITEMS, PREDS)
    assert 1.0 <= t < 3.0
    assert score(ITEMS, PREDS, t)["f1"] == pytest.approx(0.75, abs=1e-4)
    assert all(score(ITEMS, PREDS, other)["f1"] <= 0.75 for other in (-3.0, 0.0, 0.75, 5.0))


def test_ranking_needs_no_threshold():
    # answerable raws 3.0 and 0.5 against unanswerable 1.0 and -2.0: 3 of the 4 pairs are ordered
    r = ranking(ITEMS, PREDS)
    assert r["no_answer_auc"] == 0.75
    assert r["has_ans_f1_answering_all"] == pytest.approx((1 + 2 / 3) / 2, abs=1e-4)
    # the same order at any scale or offset: ranking is what a threshold cannot change
    shifted = [(10 * raw - 7, span) for raw, span in PREDS]
    assert ranking(ITEMS, shifted) == r
    flipped = [(-raw, span) for raw, span in PREDS]
    assert ranking(ITEMS, flipped)["no_answer_auc"] == 0.25


def test_ranking_without_both_kinds_has_no_auc():
    r = ranking(ITEMS[:2], PREDS[:2])
    assert r["no_answer_auc"] is None and r["has_ans_f1_answering_all"] == pytest.approx(5 / 6, abs=1e-4)
