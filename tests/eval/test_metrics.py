"""Every metric on tiny hand-made cases whose values were worked out by hand."""

from __future__ import annotations

import pytest

from eval._bounds import BoundError, check_bounds, parse_bound
from eval._metrics import (
    TurnResult,
    answer_correct,
    percentile,
    relevant_rank,
    rouge_l,
    score_turn,
    summarize,
    supports,
)


def test_rouge_l_by_hand():
    # LCS of "the cat sat on the mat" / "the cat is on the mat" is 5 of 6 tokens each way
    assert rouge_l("the cat sat on the mat", "the cat is on the mat") == pytest.approx(5 / 6)
    # LCS 2: precision 1, recall 0.5, F1 = 2/3
    assert rouge_l("a b", "a b c d") == pytest.approx(2 / 3)
    assert rouge_l("a b c", "x y") == 0.0
    assert rouge_l("", "x") == 0.0
    assert rouge_l("Baku [1].", "baku") == 1.0  # markers and case do not count
    # no stemmer: only "the" is shared (P 1/4, R 1/3); with rouge-score's Porter stemmer it would be 6/7
    assert rouge_l("the dogs were running", "the dog runs") == pytest.approx(2 / 7)


def test_answer_correct_any_all_and_markers():
    assert answer_correct("It cost $550 million [1].", ["550 million"])
    assert answer_correct("Baku only [1]", ["Astana", "Baku"])
    assert not answer_correct("Baku only [1]", ["Astana", "Baku"], "all")
    assert answer_correct("Baku and Astana", ["Astana", "Baku"], "all")
    assert not answer_correct("See [1].", ["1"])  # a marker is not an answer
    assert not answer_correct("anything", [])


def test_supports_both_directions_with_a_floor():
    assert supports("Trade reached nearly $550 million in 2025.", ["nearly $550 million"])
    long_evidence = ["The plant will be built in Shamkir. It will employ 300 people."]
    assert supports("The plant will be built in Shamkir.", long_evidence)
    assert not supports("in 2025", ["Trade reached nearly $550 million in 2025."])  # too short to prove it
    assert not supports("Unrelated sentence about tea.", ["nearly $550 million"])


def test_relevant_rank_by_doc_or_by_evidence():
    assert relevant_rank([("a.md", "x"), ("b.md", "y")], ["b.md"], []) == 2
    assert relevant_rank([("a", "foo bar"), ("b", "the 3.4 million tons")], [], ["3.4 million tons"]) == 2
    assert relevant_rank([("a", "foo")], [], ["bar"]) is None


def test_percentile_matches_linear_interpolation():
    assert percentile([0.1, 0.2, 0.3, 0.4], 0.5) == pytest.approx(0.25)
    assert percentile([0.1, 0.2, 0.3, 0.4], 0.95) == pytest.approx(0.385)
    assert percentile([], 0.5) is None


def _four_turns() -> list[TurnResult]:
    good = TurnResult(
        id="a", item_id="a", turn=1, question="q", answerable=True, answers=["x"],
        evidence=["answer holds x"], response="The answer holds x [1]. Other [2].",
        citations=[
            {"n": 1, "doc": "d", "quote": "the answer holds x in full text"},
            {"n": 2, "doc": "d", "quote": "something unrelated entirely"},
        ],
        retrieved=[{"doc": "d", "text": "the answer holds x in full"}], latency_s=0.1,
    )  # fmt: skip
    false_abstain = TurnResult(
        id="b", item_id="b", turn=1, question="q", answerable=True, answers=["needle"],
        evidence=["needle text"], response="The documents do not say.", abstained=True,
        retrieved=[{"doc": "d", "text": "nope"}, {"doc": "d", "text": "a needle text here"}], latency_s=0.2,
    )  # fmt: skip
    true_abstain = TurnResult(
        id="c", item_id="c", turn=1, question="q", answerable=False, abstained=True, latency_s=0.3
    )
    wrong_answer = TurnResult(
        id="d", item_id="d", turn=1, question="q", answerable=False, response="made up [1]", latency_s=0.4
    )
    return [score_turn(r) for r in (good, false_abstain, true_abstain, wrong_answer)]


def test_per_item_scores():
    good, false_abstain, true_abstain, wrong_answer = _four_turns()
    assert good.correct is True and good.rank == 1 and good.citation_precision == 0.5
    assert [c["supports"] for c in good.citations] == [True, False]
    assert false_abstain.correct is False and false_abstain.rank == 2
    assert false_abstain.citation_supported is False and false_abstain.citation_precision is None
    assert true_abstain.correct is None and true_abstain.hit is None
    assert [r.failed for r in (good, false_abstain, true_abstain, wrong_answer)] == [False, True, False, True]


def test_summarize_by_hand():
    m = summarize(_four_turns(), k=5)
    assert m["answer_accuracy"] == 0.5
    # abstentions: b (answerable: false positive) and c (true positive); d answered wrongly
    assert m["abstain_precision"] == 0.5 and m["abstain_recall"] == 0.5 and m["abstain_f1"] == 0.5
    assert m["false_abstain_rate"] == 0.5
    assert m["retrieval_hit_at_k"] == 1.0 and m["mrr"] == 0.75  # ranks 1 and 2
    assert m["citation_precision"] == 0.5  # 1 of 2 citations holds the evidence
    assert m["citation_recall"] == 0.5  # a has a supporting citation, b none
    assert m["latency_p50_s"] == pytest.approx(0.25) and m["latency_p95_s"] == pytest.approx(0.385)
    assert (m["n"], m["n_answerable"], m["n_unanswerable"], m["k"]) == (4, 2, 2, 5)
    assert m["rougeL"] is None  # no item has a reference


def test_summarize_without_abstentions_or_unanswerables():
    good = _four_turns()[0]
    m = summarize([good], k=2)
    assert m["abstain_recall"] is None and m["abstain_f1"] is None and m["false_abstain_rate"] == 0.0


def test_bounds_parse_and_direction():
    assert parse_bound("answer_accuracy=0.9") == ("answer_accuracy", 0.9)
    for bad in ("accuracy=0.9", "answer_accuracy", "answer_accuracy=high"):
        with pytest.raises(BoundError):
            parse_bound(bad)
    bounds = [("answer_accuracy", 0.9), ("false_abstain_rate", 0.05)]
    assert len(check_bounds({"answer_accuracy": 0.8, "false_abstain_rate": 0.1}, bounds)) == 2
    assert check_bounds({"answer_accuracy": 0.95, "false_abstain_rate": 0.01}, bounds) == []
    assert "not measured" in check_bounds({"answer_accuracy": None}, [("answer_accuracy", 0.5)])[0]
