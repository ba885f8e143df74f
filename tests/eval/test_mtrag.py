"""MTRAG-UN in ``qa eval``: the loader, clarify_ok, the per-class metrics and their bounds.

Records and turn results are hand-made so every expected value can be worked out by hand;
the history test asks the real assistant over the seed index.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from eval._bounds import BoundError, check_bounds, parse_bound
from eval._datasets import GoldFormatError, GoldItem, GoldTurn
from eval._metrics import TurnResult, clarify_check, score_turn, summarize
from eval._mtrag import load_mtrag, mtrag_doc_key

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "eval" / "gold" / "mtrag-sample.jsonl"

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
    assert (result.kind, result.multi_turn, result.clarified) == ("answerable", "Follow-up", False)
    assert all("title" in c for c in result.retrieved)
    (alone,) = run_gold(seed_bot, [GoldItem("t", [turn])])
    assert alone.standalone_question is None  # the same turn without the conversation is not resolved


def _clarified(response: str, retrieved: list[dict], readings=(), missing=None, **kw) -> TurnResult:
    r = TurnResult(
        id="x", item_id="x", turn=1, question="Which one?", answerable=False, kind="underspecified",
        response=response, clarified=True, retrieved=retrieved,
        clarification={"readings": list(readings), "missing": missing}, **kw,
    )  # fmt: skip
    return score_turn(r)


OCEANS = [
    {"doc": "govt-a.md", "title": "Atlantic Ocean", "text": "The Atlantic holds the Gulf Stream."},
    {"doc": "govt-b.md", "title": "Pacific Ocean", "text": "The Pacific is the largest ocean."},
]
UNTITLED = [  # the index titles a file without a heading by its name: no subject
    {"doc": "fiqa-1.md", "title": "fiqa-1", "text": "Pay the dealer with a cashier's check."},
    {"doc": "fiqa-2.md", "title": "fiqa-2", "text": "Dealers take deposits."},
]


def test_clarify_ok_needs_two_subjects_or_what_is_missing():
    two = _clarified("Do you mean the Atlantic Ocean [1] or the Pacific Ocean?", OCEANS)
    assert two.clarify_ok is True and two.clarify_named == ["Atlantic Ocean", "Pacific Ocean"]
    one = _clarified("Do you mean the Atlantic Ocean?", OCEANS, missing="ocean")
    assert one.clarify_ok is False and one.clarify_named == [
        "Atlantic Ocean"
    ]  # two titles: missing is no excuse
    # a reading counts only where the retrieved passages hold it
    assert (
        _clarified("The Gulf Stream or the Arctic?", OCEANS, readings=["Gulf Stream", "Arctic"]).clarify_ok
        is False
    )
    assert (
        _clarified("The Gulf Stream or the Pacific Ocean?", OCEANS, readings=["Gulf Stream"]).clarify_ok
        is True
    )
    # "United Kingdom" named only inside the title it belongs to is not a second subject
    pm = [{"doc": "g.md", "title": "Prime Minister of the United Kingdom", "text": "The United Kingdom ..."}]
    said = "Do you mean the Prime Minister of the United Kingdom?"
    assert _clarified(said, pm, readings=["United Kingdom"]).clarify_ok is False

    missing = _clarified("Which car model are you asking about?", UNTITLED, missing="car model")
    assert missing.clarify_ok is True and missing.clarify_named == ["car model"]
    assert _clarified("Could you say more?", UNTITLED, missing="car model").clarify_ok is False
    assert clarify_check(TurnResult(id="x", item_id="x", turn=1, question="q", answerable=True)) == (
        False,
        [],
    )


def _mixed_turns() -> list[TurnResult]:
    """Seven MTRAG-like turns; the expected metrics are worked out in test_summarize_by_class."""
    base = {"item_id": "i", "turn": 1, "question": "q"}
    answered = TurnResult(
        id="a1", answerable=True, kind="answerable", multi_turn="Follow-up", reference="the cat sat on the mat",
        evidence=["The cat sat on the mat."], response="The cat sat on the mat [1].",
        citations=[{"n": 1, "doc": "d", "quote": "The cat sat on the mat."}], **base,
    )  # fmt: skip
    clarified = TurnResult(
        id="a2", answerable=True, kind="partial", multi_turn="Follow-up", reference="the dog ran",
        evidence=["The dog ran."], response="Which dog do you mean?", clarified=True,
        clarification={"readings": [], "missing": None}, **base,
    )  # fmt: skip
    declined = TurnResult(
        id="a3", answerable=True, kind="answerable", multi_turn="N/A", reference="x y",
        evidence=["x y z"], response="The documents do not say.", abstained=True, **base,
    )  # fmt: skip
    u_declined = TurnResult(id="u1", answerable=False, kind="unanswerable", abstained=True, **base)
    u_clarified = TurnResult(
        id="u2", answerable=False, kind="unanswerable", multi_turn="Follow-up", clarified=True,
        response="The Atlantic Ocean or the Pacific Ocean?", retrieved=OCEANS,
        clarification={"readings": [], "missing": None}, **base,
    )  # fmt: skip
    s_ok = TurnResult(
        id="s1", answerable=False, kind="underspecified", clarified=True,
        response="The Atlantic Ocean or the Pacific Ocean?", retrieved=OCEANS,
        clarification={"readings": ["Atlantic Ocean", "Pacific Ocean"], "missing": None}, **base,
    )  # fmt: skip
    s_declined = TurnResult(id="s2", answerable=False, kind="underspecified", abstained=True, **base)
    return [score_turn(r) for r in (answered, clarified, declined, u_declined, u_clarified, s_ok, s_declined)]


def test_summarize_by_class():
    turns = _mixed_turns()
    assert [r.failed for r in turns] == [False, True, True, False, True, False, True]
    m = summarize(turns, k=5)
    # a2's clarification and a3's decline both withheld an answer; only a3 is a decline
    assert m["false_abstain_rate"] == pytest.approx(2 / 3, abs=1e-4)
    assert m["abstain_recall"] == 0.5  # u1 declined, u2 asked back; s2's decline is not counted
    assert m["abstain_precision"] == 0.5  # declines: u1 (right), a3 (wrong)
    assert m["clarify_rate"] == pytest.approx(2 / 7, abs=1e-4)  # u2 and s1 named two oceans
    assert m["rougeL"] == pytest.approx(1 / 3, abs=1e-4) and m["citation_recall"] == pytest.approx(
        1 / 3, abs=1e-4
    )
    assert (m["n"], m["n_answerable"], m["n_unanswerable"], m["n_underspecified"]) == (7, 3, 2, 2)
    by = m["by_class"]
    assert list(by) == ["answerable+partial", "unanswerable", "underspecified", "follow-up"]
    assert by["answerable+partial"] == {
        "n": 3, "rougeL": 0.3333, "false_abstain_rate": 0.6667, "citation_recall": 0.3333,
        "citation_precision": 1.0, "abstain_recall": None, "clarify_rate": 0.0,
    }  # fmt: skip
    assert by["unanswerable"] == {
        "n": 2, "rougeL": None, "false_abstain_rate": None, "citation_recall": None,
        "citation_precision": None, "abstain_recall": 0.5, "clarify_rate": 0.5,
    }  # fmt: skip
    assert by["underspecified"] == {
        "n": 2, "rougeL": None, "false_abstain_rate": None, "citation_recall": None,
        "citation_precision": None, "abstain_recall": None, "clarify_rate": 0.5,
    }  # fmt: skip
    assert by["follow-up"] == {  # a1 and a2: u2 is a follow-up too, but not an answerable one
        "n": 2, "rougeL": 0.5, "false_abstain_rate": 0.5, "citation_recall": 0.5,
        "citation_precision": 1.0, "abstain_recall": None, "clarify_rate": 0.0,
    }  # fmt: skip


def test_no_by_class_without_classes():
    plain = [TurnResult(id="a", item_id="a", turn=1, question="q", answerable=True, response="x")]
    assert "by_class" not in summarize([score_turn(r) for r in plain], k=5)


def test_class_bounds_parse_and_direction():
    assert parse_bound("underspecified.clarify_rate=0.5") == ("underspecified.clarify_rate", 0.5)
    assert parse_bound("answerable+partial.clarify_rate=0.05") == ("answerable+partial.clarify_rate", 0.05)
    for bad, message in [
        ("overspecified.clarify_rate=0.5", "unknown class"),
        ("underspecified.mrr=0.5", "not a per-class metric"),
        ("follow-up.false_abstain_rate=low", "not a number"),
    ]:
        with pytest.raises(BoundError, match=message):
            parse_bound(bad)
    m = summarize(_mixed_turns(), k=5)
    met = ["underspecified.clarify_rate=0.5", "answerable+partial.clarify_rate=0.05", "follow-up.rougeL=0.5"]
    assert check_bounds(m, [parse_bound(b) for b in met]) == []
    missed = [
        "underspecified.clarify_rate=0.6",  # a minimum: clarifying is wanted there
        "unanswerable.clarify_rate=0.05",  # a maximum: 0.5 is above it
        "follow-up.false_abstain_rate=0.10",  # a maximum
        "answerable+partial.citation_recall=0.5",  # a minimum
        "underspecified.rougeL=0.1",  # not measured
    ]
    lines = check_bounds(m, [parse_bound(b) for b in missed])
    assert [line.split()[0] for line in lines] == [b.split("=")[0] for b in missed]
    assert "below" in lines[0] and "above" in lines[1] and "above" in lines[2] and "not measured" in lines[4]
    assert "not measured" in check_bounds({"n": 1}, [parse_bound("follow-up.rougeL=0.1")])[0]


def test_cli_rejects_an_unknown_class_in_one_line(capsys):
    from qa.cli import main

    gold = str(REPO / "eval" / "gold" / "seed.jsonl")
    assert main(["eval", gold, "--docs", "seeds", "--fail-under", "overspecified.clarify_rate=0.5"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("qa: error:") and "unknown class 'overspecified'" in err and "\n" not in err


def test_report_has_the_class_table_and_names_what_clarifications_named(tmp_path):
    from eval._report import RunResult, write_reports

    turns = _mixed_turns()
    paths = write_reports(tmp_path, [RunResult("qa", summarize(turns, k=5), turns)])
    md = paths["md"].read_text(encoding="utf-8")
    assert "## By class: qa" in md
    assert "| class | n | rougeL | false_abstain_rate |" in md
    assert "| underspecified | 2 | – | – | – | – | – | 0.500 |" in md
    # u2 clarified where it should have declined: listed, with what it named
    assert "clarified (counts): readings: none; named: Atlantic Ocean; Pacific Ocean" in md
    assert "- expected: (a clarifying question)" in md  # s2 declined an underspecified turn
    report = json.loads(paths["json"].read_text(encoding="utf-8"))
    assert report["metrics"]["by_class"]["underspecified"]["clarify_rate"] == 0.5
    assert "By class: qa" in paths["html"].read_text(encoding="utf-8")


def test_committed_sample_is_small_balanced_and_not_report():
    records = [json.loads(line) for line in SAMPLE.read_text(encoding="utf-8").splitlines() if line.strip()]
    assert 20 <= len(records) <= 30 and SAMPLE.stat().st_size < 200_000
    assert {r["answerability"][0] for r in records} == {
        "ANSWERABLE",
        "PARTIAL",
        "UNANSWERABLE",
        "UNDERSPECIFIED",
    }
    assert {r["Collection"] for r in records} == {"govt", "clapnq", "ibmcloud", "fiqa"}
    items = load_mtrag([SAMPLE])
    assert len(items) == len(records) and all(i.split == "train+fit" for i in items)


def test_qa_eval_on_the_sample_prints_the_class_table_and_checks_class_bounds(tmp_path, embedder, capsys):
    from qa.cli import main

    out = tmp_path / "report"
    args = ["eval", str(SAMPLE), "--docs", str(tmp_path / "corpus"), "--index-dir", str(tmp_path / "idx")]
    args += ["--out", str(out), "--quiet"]  # --docs: where the corpus of the tasks' contexts is written
    assert main([*args, "--fail-under", "answerable+partial.clarify_rate=1"]) == 0, capsys.readouterr().err
    printed = capsys.readouterr().out
    assert "by class (qa):" in printed and "| underspecified | 6 |" in printed
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert report["config"]["format"] == "mtrag" and report["metrics"]["n"] == 24
    assert report["metrics"]["by_class"]["unanswerable"]["n"] == 6
    assert all(r["retrieved"] for r in report["items"])  # every task found passages in the union corpus
    # a bound no run meets (a clarify_rate above 1) exits 1 and names the class metric
    assert main([*args, "--fail-under", "underspecified.clarify_rate=1.01"]) == 1
    assert "underspecified.clarify_rate" in capsys.readouterr().err
