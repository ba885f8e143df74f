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
