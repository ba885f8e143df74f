"""Conversations: follow-ups read in context, a change of topic followed, ambiguous turns asked back.

The documents are written for these tests and are in no gold set.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from qa import Assistant, Turn
from qa._followup import context_queries

DOCS = {
    "harbor-ferry.md": (
        "# Harbor Ferry\n\n"
        "The harbor ferry crosses from the old town pier to Gull Island. "
        "The first ferry of the day leaves the old town pier at 6:40 in the morning, and the last one "
        "returns from Gull Island at 11 at night. "
        "A single ferry ticket costs 4.50 euros; children under six travel free.\n"
    ),
    "city-museum.md": (
        "# City Museum\n\n"
        "The City Museum stands on Cathedral Square and opens at ten every morning except Mondays. "
        "An adult museum ticket costs 12 euros. "
        "Its permanent exhibitions show Roman glassware, medieval maps of the harbour and a hall of "
        "clockwork automata built by the watchmaker Lina Varga.\n"
    ),
    "riverside-library.md": (
        "# Riverside Public Library\n\n"
        "Riverside Public Library lends books, films and board games, and runs a homework club for "
        "pupils on weekday afternoons. Its reading room is open until eight in the evening.\n"
    ),
    "hillcrest-library.md": (
        "# Hillcrest Community Library\n\n"
        "Hillcrest Community Library offers free computer classes for adults, a seed library for "
        "gardeners and a recording studio that members can book by the hour.\n"
    ),
}


@pytest.fixture(scope="module")
def town_bot(tmp_path_factory, embedder) -> Assistant:
    return _bot(tmp_path_factory.mktemp("town"), DOCS, embedder)


def _bot(root: Path, texts: dict[str, str], embedder) -> Assistant:
    """An assistant over ``texts`` (file name -> text), indexed under ``root``."""
    from index import update_index

    docs = root / "docs"
    docs.mkdir()
    for name, text in texts.items():
        (docs / name).write_text(text, encoding="utf-8")
    update_index(docs, root / "index", embedder=embedder, show_progress=False)
    return Assistant(root / "index", embedder=embedder).warm_up()


def _docs(answer) -> set[str]:
    return {Path(c.doc).name for c in answer.citations}


def test_three_turns_with_a_change_of_topic_on_the_third(town_bot):
    history: list[Turn] = []
    first = town_bot.answer("When does the first harbor ferry leave in the morning?", history)
    assert not first.abstained and "6:40" in first.text and _docs(first) == {"harbor-ferry.md"}
    history.append(Turn(question=first.question, answer=first.text))

    # both documents sell tickets: only the conversation says which one is meant
    second = town_bot.answer("And how much is a ticket?", history)
    assert not second.abstained, second.text
    assert "4.50" in second.text and _docs(second) == {"harbor-ferry.md"}
    history.append(Turn(question=second.question, answer=second.text))

    third = town_bot.answer("What exhibitions does the City Museum have?", history)
    assert not third.abstained, third.text
    assert _docs(third) == {"city-museum.md"}, "the new topic must not be dragged back to the ferry"
    assert "automata" in third.text or "glassware" in third.text


def test_the_follow_up_is_retrieved_with_the_turn_before_it():
    history = [Turn(question="When does the first harbor ferry leave?", answer="At 6:40 [1].")]
    queries = context_queries("And how much is a ticket?", history)
    assert queries[0] == "And how much is a ticket?"  # the turn alone always searches too
    assert any("harbor ferry" in q and "ticket" in q for q in queries[1:])
    assert context_queries("How much is a ticket?", None) == ["How much is a ticket?"]


def test_an_ambiguous_turn_is_asked_back_with_the_candidates(town_bot):
    a = town_bot.answer("What does this library offer?")
    assert a.clarification is not None, a.text
    assert not a.abstained and a.citations == []
    assert {"Riverside Public Library", "Hillcrest Community Library"} <= set(a.clarification.readings)
    assert "Riverside Public Library" in a.text and "Hillcrest Community Library" in a.text
    assert a.text.rstrip().endswith("?") or "?" in a.text


def test_a_pointer_the_conversation_resolves_is_answered(town_bot):
    history = [Turn(question="Tell me about Riverside Public Library.", answer="")]
    a = town_bot.answer("Until when is this library's reading room open?", history)
    assert a.clarification is None
    assert not a.abstained and _docs(a) == {"riverside-library.md"}, a.text


def test_a_pointer_to_something_nobody_named_says_what_is_missing(town_bot):
    a = town_bot.answer("What are the rewards of this credit card?")
    assert a.clarification is not None and a.clarification.missing == "credit card"
    assert "credit card" in a.text and a.citations == []


def test_clear_questions_are_not_asked_back(town_bot):
    for question in ("Where does the City Museum stand?", "What does Hillcrest Community Library offer?"):
        a = town_bot.answer(question)
        assert a.clarification is None, (question, a.text)


def test_the_terminal_says_it_is_asking_back_and_how_it_understood_a_follow_up(town_bot, capsys):
    from qa._chat_cli import print_answer

    print_answer(town_bot.answer("What does this library offer?"), False)
    out = capsys.readouterr().out
    assert "Riverside Public Library" in out and "(asking back: say which you mean" in out

    history = [Turn(question="When does the first harbor ferry leave in the morning?", answer="")]
    print_answer(town_bot.answer("And the last one?", history), False)
    out = capsys.readouterr().out
    assert "(understood as: When does the first harbor ferry leave in the morning? And the last one?)" in out


PEOPLE = {
    "painter-vell.md": (
        "# Anna Berg\n\n"
        "Anna Berg is a painter from the island of Vell. The painter trained in the harbour workshops "
        "and is best known for a series of storm seascapes finished in 1998.\n"
    ),
    "painter-ossa.md": (
        "# Tomas Lind\n\n"
        "Tomas Lind is a painter who works in the mountain town of Ossa. As a painter he is known for "
        "portraits of shepherds, shown first in 2004.\n"
    ),
    "lanterns-1.md": (
        "# Harbour Lanterns (season 1)\n\n"
        "The first season of the television drama Harbour Lanterns premiered on 3 March 2011 and ran "
        "for ten episodes.\n"
    ),
    "lanterns-2.md": (
        "# Harbour Lanterns (season 2)\n\n"
        "The second season of the television drama Harbour Lanterns premiered on 9 May 2012 and ran "
        "for twelve episodes.\n"
    ),
    "wool.md": (
        "# Ossa Wool Museum\n\nThe Ossa Wool Museum shows the looms and dye vats of the mountain weavers.\n"
    ),
    "harbour.md": (
        "# Vell Harbour Museum\n\n"
        "The Vell Harbour Museum shows fishing boats, nets and the old lighthouse lens.\n"
    ),
    "guild.md": (
        "# Guild of the Copper Bell\n\n"
        "The Guild of the Copper Bell was founded in 1642 by the bell-founder Marta Keel in the town "
        "of Ossa.\n"
    ),
}


@pytest.fixture(scope="module")
def people_bot(tmp_path_factory, embedder) -> Assistant:
    return _bot(tmp_path_factory.mktemp("people"), PEOPLE, embedder)


def test_a_possessive_that_presumes_one_unnamed_place_is_asked_back(people_bot):
    a = people_bot.answer("What does the town's museum show?")
    assert a.clarification is not None, a.text
    assert set(a.clarification.readings) == {"Ossa Wool Museum", "Vell Harbour Museum"}
    assert "Which museum" in a.text and a.citations == []
    # "the world's" presumes nothing to choose from; a possessive whose thing no two titles name
    # is answered
    for question in (
        "Which of the world's painters lives in Ossa?",
        "What is the painter's best-known work?",
    ):
        assert people_bot.answer(question).clarification is None, question
    # named, it is answered
    named = people_bot.answer("What does the Ossa Wool Museum show?")
    assert named.clarification is None and "looms" in named.text, named.text


def test_the_x_of_y_is_asked_back_only_when_the_documents_hold_several(people_bot):
    a = people_bot.answer("When did the season of Harbour Lanterns premiere?")
    assert a.clarification is not None, a.text
    assert set(a.clarification.readings) == {"Harbour Lanterns (season 1)", "Harbour Lanterns (season 2)"}
    assert "season of Harbour Lanterns" in a.text
    # one guild of that name: "of" says which, so it is answered
    guild = people_bot.answer("When was the guild of the copper bell founded?")
    assert guild.clarification is None and "1642" in guild.text, guild.text
