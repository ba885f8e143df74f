"""The reader's training recipe: labels, data splits and a few real steps whose loss falls."""

from __future__ import annotations

import random
from dataclasses import replace
from pathlib import Path

import pytest

from eval._reader_data import Example, Mix, drop_answer_sentence, squad2_examples
from eval._splits import SQUAD2_FIT, SQUAD2_REPORT
from eval.train_reader import CONFIGS, export_onnx, label, train, train_head
from qa._reader import Reader, write_manifest
from qa._reader_features import Featurizer, load_tokenizer

DATA = Path(__file__).resolve().parents[3] / "shared" / "data"

# Invented, in no gold set.
PASSAGE = "The Calder Valley Railway opened in 1874. Its chief engineer was Margaret Thorne."
EXAMPLES = [
    Example("When did the railway open?", PASSAGE, 36, "1874", "test"),
    Example("Who was the chief engineer?", PASSAGE, PASSAGE.index("Margaret"), "Margaret Thorne", "test"),
    Example("How long is the railway?", PASSAGE, None, None, "test"),
    Example("Who owned the mills?", PASSAGE, None, None, "test", previous="When did the railway open?"),
]


def test_labels_point_at_the_answer_tokens():
    featurizer = Featurizer(load_tokenizer())
    rng = random.Random(0)
    item = label(featurizer, EXAMPLES[1], rng)
    w = item.window
    start_char = w.offsets[item.start - w.passage_start][0]
    end_char = w.offsets[item.end - w.passage_start][1]
    assert PASSAGE[start_char:end_char] == "Margaret Thorne"
    assert (label(featurizer, EXAMPLES[2], rng).start, label(featurizer, EXAMPLES[2], rng).end) == (0, 0)
    with_history = label(featurizer, EXAMPLES[3], rng).window
    assert with_history.passage_start > label(featurizer, EXAMPLES[2], rng).window.passage_start


def test_dropping_the_answer_sentence_removes_the_answer():
    first, last = (
        "Alpha came first in the long race along the coast road.",
        "Beta was third, an hour behind Alpha.",
    )
    context = f"{first} The winner took home 500 pounds of prize money. {last}"
    assert drop_answer_sentence(context, context.index("500"), "500 pounds") == f"{first} {last}"
    # when the answer also stands in another sentence, the passage still answers: no negative
    twice = f"{first} The winner took home 500 pounds. {last} Nobody else won 500 pounds."
    assert drop_answer_sentence(twice, twice.index("500"), "500 pounds") is None


@pytest.mark.skipif(
    not (DATA / "squad2").is_dir(), reason="needs ../shared/data (CI has it beside the clone)"
)
def test_training_never_sees_fit_or_report_articles():
    questions = {ex.question for ex in squad2_examples(DATA, "train", random.Random(0))}
    held_out = {
        ex.question for split in ("fit", "report") for ex in squad2_examples(DATA, split, random.Random(0))
    }
    assert questions and held_out and not questions & held_out
    assert SQUAD2_FIT.isdisjoint(SQUAD2_REPORT)


@pytest.mark.parametrize("bf16", [True, False])  # False: --no-bf16, for CPUs without native bfloat16
def test_pilot_configuration_trains_and_the_loss_falls(tmp_path, bf16):
    config = replace(CONFIGS["pilot"], steps=12, batch_size=4, mix=Mix(0, 0, 0), bf16=bf16)
    result = train(config, EXAMPLES * 2, tmp_path, progress=False)
    assert len(result.losses) == 12
    first, last = sum(result.losses[:3]) / 3, sum(result.losses[-3:]) / 3
    assert last < first * 0.7, result.losses
    assert (tmp_path / "torch" / "config.json").is_file()


def test_head_and_export_give_the_reader_a_third_output(tmp_path):
    """The pilot's checkpoint, its answerability head, and the int8 graph the reader loads."""
    config = replace(CONFIGS["near-miss"], steps=4, batch_size=4, mix=Mix(0, 0, 0))
    train(config, EXAMPLES * 2, tmp_path, progress=False)
    head = train_head(config, EXAMPLES * 2, tmp_path / "torch")
    assert head["examples"] == 8 and head["counts"] == {"test": 4, "test (no answer)": 4}
    folder = tmp_path / "reader"
    folder.mkdir()
    export_onnx(tmp_path / "torch", folder / "reader.onnx", with_head=True)
    write_manifest(folder, null_threshold=0.0, margin_weight=0.5, head=head)
    reader = Reader(folder)
    start, end, answerable = reader.logits(reader.featurizer.windows(EXAMPLES[0].question, PASSAGE))
    assert start.shape == end.shape and answerable.shape == (1,)
    r = reader.read(EXAMPLES[0].question, PASSAGE)
    assert r.answerability == pytest.approx(float(answerable[0]), abs=1e-5)
    assert r.score == pytest.approx(r.answerability + 0.5 * r.margin, abs=1e-4)
    assert PASSAGE[r.start : r.end] == r.text
