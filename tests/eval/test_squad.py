"""SQuAD's EM/F1, the ``--format squad`` loader and ``--split``, on tiny hand-made files."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from eval._datasets import GoldFormatError, load_squad
from eval._metrics import TurnResult, score_turn, summarize
from eval._runner import detect_format, load_gold, select_split
from eval._squad import exact_match, f1, normalize_answer
from qa.cli import main

# Invented articles: in no gold set. "Oxygen" and "Pharmacy" are squad2 report / fit titles,
# so the split follows the article, as squad2/README.md defines it.
SQUAD = {
    "version": "v2.0",
    "data": [
        {
            "title": "Oxygen",
            "paragraphs": [
                {
                    "context": "The Harbour Lighthouse was built in 1871. Its lamp burned whale oil until 1912.",
                    "qas": [
                        {
                            "id": "q1",
                            "question": "When was the lighthouse built?",
                            "answers": [{"text": "1871", "answer_start": 36}, {"text": "in 1871", "answer_start": 33}],
                            "is_impossible": False,
                        },
                        {
                            "id": "q2",
                            "question": "Who designed the lighthouse?",
                            "answers": [],
                            "plausible_answers": [{"text": "Harbour", "answer_start": 4}],
                            "is_impossible": True,
                        },
                    ],
                }
            ],
        },
        {
            "title": "Pharmacy",
            "paragraphs": [
                {
                    "context": "Mill Street has a bakery. The bakery sells rye bread on Fridays.",
                    "qas": [
                        {
                            "id": "q3",
                            "question": "What does the bakery sell on Fridays?",
                            "answers": [{"text": "rye bread", "answer_start": 43}],
                            "is_impossible": False,
                        }
                    ],
                },
                {
                    "context": "The river floods every spring. A dam was proposed in 1990.",
                    "qas": [],
                },
            ],
        },
    ],
}


@pytest.mark.parametrize(
    ("prediction", "answers", "em", "f"),
    [
        ("The Eiffel Tower!", ["eiffel tower"], 1.0, 1.0),  # case, article, punctuation
        ("in 1889 Paris", ["1889"], 0.0, 0.5),  # P = 1/3, R = 1 -> F1 = 0.5
        ("red", ["blue", "red car"], 0.0, 2 / 3),  # best over golds: P = 1, R = 1/2
        ("", [], 1.0, 1.0),  # declining an unanswerable question is exact
        ("1912", [], 0.0, 0.0),  # answering it is wrong
        ("", ["1871"], 0.0, 0.0),  # declining an answerable one is wrong
    ],
)
def test_squad_em_and_f1_by_hand(prediction, answers, em, f):
    assert exact_match(prediction, answers) == em
    assert f1(prediction, answers) == pytest.approx(f)


def test_normalisation_is_squads():
    assert normalize_answer("  An   Apple, the PIE. ") == "apple pie"


def _write(tmp_path: Path, name: str = "squad.json", gz: bool = False) -> Path:
    path = tmp_path / name
    data = json.dumps(SQUAD).encode("utf-8")
    path.write_bytes(gzip.compress(data) if gz else data)
    return path


@pytest.mark.parametrize("gz", [False, True])
def test_squad_loader_one_document_per_paragraph(tmp_path, gz):
    path = _write(tmp_path, "squad.json.gz" if gz else "squad.json", gz)
    assert detect_format(path) == "squad"
    corpus = tmp_path / "corpus"
    items = load_squad([path], corpus)
    assert [i.id for i in items] == ["q1", "q2", "q3"]
    assert sorted(p.name for p in corpus.iterdir()) == ["Oxygen-000.md", "Pharmacy-000.md", "Pharmacy-001.md"]
    q1, q2, q3 = (i.turns[0] for i in items)
    assert q1.answers == ["1871", "in 1871"] and q1.answerable
    assert q1.evidence == ["The Harbour Lighthouse was built in 1871."]  # the sentence holding the span
    assert q1.relevant_docs == ["Oxygen-000.md"]
    assert not q2.answerable and q2.answers == [] and q2.evidence == []
    assert q3.evidence == ["The bakery sells rye bread on Fridays."]
    assert [i.split for i in items] == ["report", "report", "fit"]
    assert (corpus / "Pharmacy-001.md").read_text(encoding="utf-8").endswith("A dam was proposed in 1990.")


def test_split_selects_questions_not_documents(tmp_path):
    items = load_gold([_write(tmp_path)], "squad", tmp_path / "corpus")
    assert [i.id for i in select_split(items, "report")] == ["q1", "q2"]
    assert [i.id for i in select_split(items, "fit")] == ["q3"]
    with pytest.raises(GoldFormatError, match="no question of these gold files is in that split"):
        select_split(items, "train")
    native = tmp_path / "n.jsonl"
    native.write_text('{"id": "a", "question": "Q?"}\n', encoding="utf-8")
    with pytest.raises(GoldFormatError, match="define no splits"):
        select_split(load_gold([native]), "report")


def test_bad_squad_file_is_one_line_error(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"version": "v2.0", "data": [{"paragraphs": []}]}', encoding="utf-8")
    with pytest.raises(GoldFormatError, match=r"bad.json: data\[0\] has no 'title'"):
        load_squad([bad])


def _turn(answerable: bool, answers: list[str], **kw) -> TurnResult:
    return score_turn(TurnResult(id="x", item_id="x", turn=1, question="?", answerable=answerable, answers=answers, **kw))


def test_em_f1_score_the_short_answer_and_declines():
    right = _turn(True, ["1871"], response="It was built in 1871 [1].", short_answer="1871")
    loose = _turn(True, ["1871"], response="It was built in 1871 [1].")  # no short answer: the response
    declined = _turn(False, [], abstained=True)
    answered = _turn(False, [], response="John Smith [1].", short_answer="John Smith")
    assert (right.exact_match, right.f1) == (1.0, 1.0)
    assert loose.exact_match == 0.0 and loose.f1 == pytest.approx(2 * (1 / 5) / (1 + 1 / 5))
    assert (declined.exact_match, answered.exact_match) == (1.0, 0.0)
    m = summarize([right, loose, declined, answered], k=5)
    assert m["exact_match"] == pytest.approx(0.5)
    assert m["f1"] == pytest.approx(round((1 + 1 / 3 + 1 + 0) / 4, 4))
    # a gold set without short answers (ClapNQ-style references) scores neither
    clap = _turn(True, [], response="x", reference="a long answer")
    assert summarize([clap, declined], k=5)["exact_match"] is None


def test_qa_eval_format_squad_with_split(tmp_path, embedder, capsys):
    out = tmp_path / "report"
    args = ["eval", str(_write(tmp_path)), "--format", "squad", "--split", "report"]
    args += ["--index-dir", str(tmp_path / "idx"), "--out", str(out), "--quiet"]
    assert main(args) == 0, capsys.readouterr().err
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert [i["id"] for i in report["items"]] == ["q1", "q2"]  # only the report article's questions
    assert report["config"]["split"] == "report" and report["config"]["format"] == "squad"
    assert report["metrics"]["exact_match"] is not None and report["metrics"]["f1"] is not None
    # ... while the corpus held every paragraph of the file
    assert len(list((Path(report["config"]["docs"])).glob("*.md"))) == 3
    assert "| exact_match |" in capsys.readouterr().out
