"""MTRAG-UN in ``qa eval``: the loader.

Records and turn results are hand-made so every expected value can be worked out by hand;
the history test asks the real assistant over the seed index.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from eval._datasets import GoldFormatError, GoldItem, GoldTurn
from eval._mtrag import load_mtrag, mtrag_doc_key

REPO = Path(__file__).resolve().parents[2]

FOLLOW_UP = {
    "conversation_id": "c0ffee01",  # starts with c: the report split
    "task_id": "c0ffee01<::>2",
    "turn": "2",
    "input": [
        {"speaker": "user", "text": "Who founded the city of Baku?"},
        {"speaker": "agent", "text": "Nobody knows for sure."},
        {"speaker": "user", "text": "And how old is it?"},
    ],
    "contexts": [
        {
            "document_id": "baku_1-0-120",
            "title": "Baku",
            "text": "\nBaku is over 1,000 years old. It is a port.",
        },
        {"document_id": "p/9 x", "text": "Old towns grow around ports."},
    ],
    "targets": [{"speaker": "agent", "text": "It is over 1,000 years old."}],
    "answerability": ["ANSWERABLE"],
    "Multi-Turn": ["Follow-up"],
    "Collection": "clapnq",
}
UNDERSPECIFIED = {
    "conversation_id": "7a11",  # a digit-or-other first character: train+fit
    "task_id": "7a11<::>1",
    "turn": "1",
    "input": [{"speaker": "user", "text": "What is its budget?"}],
    "contexts": [],
    "targets": [{"speaker": "agent", "text": "Which agency do you mean?"}],
    "answerability": ["UNDERSPECIFIED"],
    "Multi-Turn": ["N/A"],
    "Collection": "govt",
}


def _write(path: Path, records: list[dict]) -> Path:
    text = "".join(json.dumps(r) + "\n" for r in records)
    if path.name.endswith(".gz"):
        path.write_bytes(gzip.compress(text.encode("utf-8")))
    else:
        path.write_text(text, encoding="utf-8")
    return path


def test_loader_builds_history_corpus_and_classes(tmp_path):
    from eval._runner import detect_format, load_gold

    gold = _write(tmp_path / "tasks.jsonl.gz", [FOLLOW_UP, UNDERSPECIFIED])
    assert detect_format(gold) == "mtrag"  # gzip read transparently
    corpus = tmp_path / "corpus"
    follow, under = load_gold([gold], corpus_dir=corpus)

    assert follow.id == "c0ffee01<::>2" and follow.split == "report" and follow.source == str(gold)
    assert follow.history == [("Who founded the city of Baku?", "Nobody knows for sure.")]
    (turn,) = follow.turns
    assert turn.question == "And how old is it?"
    assert (turn.kind, turn.multi_turn, turn.answerable) == ("answerable", "Follow-up", True)
    assert turn.reference == "It is over 1,000 years old."
    baku, port = mtrag_doc_key("clapnq", "baku_1-0-120"), mtrag_doc_key("clapnq", "p/9 x")
    assert baku == "clapnq-baku_1-0-120.md"
    assert port.startswith("clapnq-p-9-x-") and port == mtrag_doc_key("clapnq", "p/9 x")  # safe, stable
    assert turn.relevant_docs == [baku, port]
    assert turn.evidence == ["Baku is over 1,000 years old. It is a port.", "Old towns grow around ports."]
    assert sorted(p.name for p in corpus.iterdir()) == sorted([baku, port])
    assert (corpus / baku).read_text(
        encoding="utf-8"
    ) == "# Baku\n\nBaku is over 1,000 years old. It is a port."
    assert (corpus / port).read_text(encoding="utf-8") == "Old towns grow around ports."  # no title

    assert under.split == "train+fit" and under.history == []
    (turn,) = under.turns
    assert (turn.kind, turn.multi_turn, turn.answerable) == ("underspecified", "N/A", False)
    assert turn.reference is None and turn.relevant_docs == [] and turn.evidence == []


def test_other_formats_get_kinds_from_answerable():
    assert GoldTurn("q").kind == "answerable" and GoldTurn("q", answerable=False).kind == "unanswerable"
    assert GoldTurn("q").multi_turn is None


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"answerability": ["MAYBE"]}, r"bad\.jsonl:2: answerability\[0\] must be one of"),
        ({"answerability": None}, r"bad\.jsonl:2: answerability must be"),
        ({"input": [{"speaker": "bot", "text": "hi"}]}, r"bad\.jsonl:2: input\[0\]\.speaker must be"),
        (
            {"input": [{"speaker": "user", "text": "q"}, {"speaker": "agent", "text": "a"}]},
            r"input\[1\]: the last",
        ),
        ({"contexts": [{"text": "no id"}]}, r"bad\.jsonl:2: contexts\[0\]\.document_id must be"),
        ({"targets": []}, r"bad\.jsonl:2: targets must be a non-empty list"),
        ({"task_id": None}, r"bad\.jsonl:2: task_id must be"),
    ],
)
def test_malformed_record_is_a_one_line_error(tmp_path, change, message):
    gold = _write(tmp_path / "bad.jsonl", [UNDERSPECIFIED, {**FOLLOW_UP, **change}])
    with pytest.raises(GoldFormatError, match=message) as caught:
        load_mtrag([gold])
    assert "\n" not in str(caught.value)


def test_not_json_names_the_line(tmp_path):
    gold = tmp_path / "bad.jsonl"
    gold.write_text(json.dumps(FOLLOW_UP) + "\n{oops\n", encoding="utf-8")
    with pytest.raises(GoldFormatError, match=r"bad\.jsonl:2: not valid JSON"):
        load_mtrag([gold])


def test_run_gold_starts_with_the_conversation(seed_bot):
    from eval._runner import run_gold

    asked = "How much Kazakh oil has been exported via the Baku-Tbilisi-Ceyhan pipeline since 2023?"
    turn = GoldTurn("And by 2027?", answers=["7 million tons"], kind="answerable", multi_turn="Follow-up")
    with_history = GoldItem("t", [turn], history=[(asked, "About 3.4 million tons.")])
    (result,) = run_gold(seed_bot, [with_history])
    assert result.standalone_question and "pipeline" in result.standalone_question
    (alone,) = run_gold(seed_bot, [GoldItem("t", [turn])])
    assert alone.standalone_question is None  # the same turn without the conversation is not resolved
