"""Near misses made from answerable questions: what changes, and when nothing may."""

from __future__ import annotations

from pathlib import Path

import pytest

from eval._near_miss import NearMissStage, antonym, near_miss_examples, negate
from eval._reader_data import Mix, first_stage_questions, squad11_records, training_examples

DATA = Path(__file__).resolve().parents[3] / "shared" / "data"

# Invented, in no gold set.
PARAGRAPH = "The Calder Valley Railway opened in 1874. Its largest station was at Ripley, north of the river."


def test_antonym_changes_one_word_the_paragraph_never_says():
    assert antonym("What was the largest station?", PARAGRAPH) == "What was the smallest station?"
    assert antonym("First, when did it open?", PARAGRAPH) == "Last, when did it open?"  # case kept
    # the paragraph says "north", so "south of" would not be a near miss but another question
    assert antonym("Which town lies south of the river?", PARAGRAPH) is None
    assert antonym("When did the railway open?", PARAGRAPH) is None


def test_negate_puts_not_after_the_first_auxiliary():
    assert negate("Who was the chief engineer?") == "Who was not the chief engineer?"
    assert negate("Which station is the oldest?") == "Which station is not the oldest?"
    assert negate("Who was not there?") is None
    assert negate("When did the railway open?") is None  # no auxiliary it can negate by itself


@pytest.mark.skipif(
    not (DATA / "squad11").is_dir(), reason="needs ../shared/data (CI has it beside the clone)"
)
def test_second_stage_pairs_near_misses_with_fresh_originals():
    first = Mix(3000, 500, 500)
    stage = NearMissStage(antonym=40, negate=40, squad11=40, squad2_repeat=0)
    examples = near_miss_examples(DATA, first, stage, seed=5)
    by_source: dict[str, list] = {}
    for ex in examples:
        by_source.setdefault(ex.source, []).append(ex)
    assert {k: len(v) for k, v in by_source.items()} == {
        "near-miss-antonym": 40,
        "near-miss-negate": 40,
        "near-miss-original": 80,
        "squad11": 40,
    }
    assert not any(ex.answerable for ex in by_source["near-miss-antonym"] + by_source["near-miss-negate"])
    originals = {(ex.passage, ex.question) for ex in by_source["near-miss-original"]}
    for ex in by_source["near-miss-negate"]:
        assert (ex.passage, ex.question.replace(" not", "", 1)) in originals
    # none of them is a question the first stage drew
    records, _ = squad11_records(DATA)
    drawn, fresh_records = first_stage_questions(len(records), first, seed=5)
    assert len(drawn) == 4000 and len(drawn) + len(fresh_records) == len(records) == 87599
    first_stage = {
        ex.question for ex in training_examples(DATA, first, seed=5) if ex.source.startswith("squad11")
    }
    fresh = by_source["squad11"] + by_source["near-miss-original"]
    assert sum(ex.question in first_stage for ex in fresh) <= 2  # SQuAD repeats a few questions verbatim
