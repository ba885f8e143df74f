"""Answer matching and the native gold loader, on tiny hand-made cases."""

from __future__ import annotations

import pytest

from eval._datasets import GoldFormatError, load_native
from eval._normalize import contains, normalize


@pytest.mark.parametrize(
    ("response", "expected", "hit"),
    [
        ("Trade reached nearly $550 million.", "550 million", True),
        ("Trade reached nearly 550 million.", "$550 million", True),
        ("It carried 40,000 trucks", "40000 trucks", True),
        ("the Baku–Tbilisi–Ceyhan pipeline", "Baku-Tbilisi-Ceyhan", True),
        ("GABALA!", "gabala", True),
        ("3.4 million tons", "4 million tons", False),  # no partial-number matches
        ("about 7 million", "17 million", False),
        ("anything", "", False),
    ],
)
def test_contains_forgives_format_not_content(response, expected, hit):
    assert contains(response, expected) is hit


def test_normalize_keeps_decimals():
    assert normalize("3.4 Million, tons.") == "3.4 million tons"


def test_native_loader_reads_questions_and_dialogues(tmp_path):
    gold = tmp_path / "g.jsonl"
    gold.write_text(
        '{"id": "a", "question": "Q?", "answers": ["x"], "evidence": "e"}\n'
        "\n"
        '{"id": "u", "question": "Off?", "answerable": false}\n'
        '{"id": "d", "turns": [{"q": "One?", "answers": ["1"]}, {"q": "And two?", "answers": ["2"]}]}\n',
        encoding="utf-8",
    )
    items = load_native(gold)
    assert [i.id for i in items] == ["a", "u", "d"]
    assert items[0].turns[0].evidence == ["e"] and items[0].turns[0].answerable
    assert not items[1].turns[0].answerable
    assert items[2].is_dialogue and items[2].turns[1].question == "And two?"


def test_native_loader_names_file_line_and_field(tmp_path):
    gold = tmp_path / "bad.jsonl"
    gold.write_text('{"id": "a", "question": "Q?"}\n{"id": "b", "question": "Q", "answers": 3}\n')
    with pytest.raises(GoldFormatError, match=r"bad.jsonl:2: answers"):
        load_native(gold)


def test_repo_seed_gold_set_is_well_formed():
    from pathlib import Path

    items = load_native(Path(__file__).resolve().parents[2] / "eval" / "gold" / "seed.jsonl")
    turns = [t for i in items for t in i.turns]
    assert sum(t.answerable for t in turns) >= 40
    assert sum(not t.answerable for t in turns) >= 10
    assert sum(i.is_dialogue for i in items) >= 5


def _clapnq_line(qid: str, question: str, title: str, text: str, answer, selected) -> str:
    import json

    return json.dumps(
        {
            "id": qid,
            "input": question,
            "passages": [{"title": title, "text": text, "sentences": [text]}],
            "output": [{"answer": answer, "selected_sentences": selected}],
        }
    )


def test_clapnq_loader_builds_corpus_and_marks_unanswerable(tmp_path):
    from eval._datasets import clapnq_doc_key, load_clapnq

    gold = tmp_path / "c.jsonl"
    text = "Paris is the capital of France. It has 2 million people."
    gold.write_text(
        _clapnq_line(
            "1",
            "capital of france?",
            "Paris",
            text,
            "Paris is the capital.",
            ["Paris is the capital of France."],
        )
        + "\n"
        + _clapnq_line("2", "mayor of paris?", "Paris", text, None, [])
        + "\n",
        encoding="utf-8",
    )
    corpus = tmp_path / "corpus"
    items = load_clapnq([gold], corpus)
    one, two = (i.turns[0] for i in items)
    key = clapnq_doc_key("Paris", text)
    assert one.answerable and one.reference == "Paris is the capital." and one.relevant_docs == [key]
    assert one.evidence == ["Paris is the capital of France."]
    assert not two.answerable and two.reference is None and two.relevant_docs == [key]
    # the two questions share one passage: the corpus holds it once, with its title as a heading
    assert [p.name for p in corpus.iterdir()] == [key]
    assert (corpus / key).read_text(encoding="utf-8") == f"# Paris\n\n{text}"


def test_clapnq_loader_rejects_other_records(tmp_path):
    from eval._datasets import load_clapnq

    gold = tmp_path / "c.jsonl"
    gold.write_text('{"id": "1", "input": "q"}\n', encoding="utf-8")
    with pytest.raises(GoldFormatError, match=r"c.jsonl:1: not a ClapNQ record"):
        load_clapnq([gold])
    # a passage without text, or a line that is not JSON, is the same one-line error with its line
    good = _clapnq_line("1", "q?", "T", "Some text.", "A.", ["Some text."])
    gold.write_text(good + "\n\n" + good.replace('"text"', '"body"') + "\n", encoding="utf-8")
    with pytest.raises(GoldFormatError, match=r"c.jsonl:3: not a ClapNQ record \('text'\)$"):
        load_clapnq([gold])
    gold.write_text(good + "\n{oops\n", encoding="utf-8")
    with pytest.raises(GoldFormatError, match=r"c.jsonl:2: not a ClapNQ record \(Expecting"):
        load_clapnq([gold])


def test_llamaindex_loader_maps_contexts_and_reference(tmp_path):
    import json

    from eval._datasets import load_llamaindex

    path = tmp_path / "rag.json"
    path.write_text(
        json.dumps(
            {
                "examples": [
                    {"query": "Who?", "reference_contexts": ["Ann wrote it."], "reference_answer": "Ann"},
                    {"query": "Why?", "reference_contexts": [], "reference_answer": ""},
                ]
            }
        ),
        encoding="utf-8",
    )
    first, second = load_llamaindex(path)
    assert first.turns[0].evidence == ["Ann wrote it."] and first.turns[0].reference == "Ann"
    assert first.id == "example-0" and not second.turns[0].answerable
    path.write_text("[]", encoding="utf-8")
    with pytest.raises(GoldFormatError, match="rag.json: not a LabelledRagDataset"):
        load_llamaindex(path)


def test_format_detection_and_mixing(tmp_path):
    from eval._runner import detect_format, load_gold

    native = tmp_path / "n.jsonl"
    native.write_text('{"id": "a", "question": "Q?", "answers": ["x"]}\n', encoding="utf-8")
    clap = tmp_path / "c.jsonl"
    clap.write_text(_clapnq_line("1", "q", "T", "Some text.", None, []) + "\n", encoding="utf-8")
    rag = tmp_path / "r.json"
    rag.write_text('{"examples": []}', encoding="utf-8")
    assert [detect_format(p) for p in (native, clap, rag)] == ["native", "clapnq", "llamaindex"]
    with pytest.raises(GoldFormatError, match="mix formats"):
        load_gold([native, clap])
    with pytest.raises(GoldFormatError, match="no such gold file"):
        load_gold([tmp_path / "missing.jsonl"])
    assert len(load_gold([native])) == 1
