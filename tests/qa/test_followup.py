"""Which questions lean on the conversation, and how they are resolved."""

from __future__ import annotations

import pytest

from qa._followup import condense, needs_history


@pytest.mark.parametrize(
    "question",
    ["And by 2027?", "What format did he propose?", "Where will it operate its plant?", "Why?", "In 2027?"],
)
def test_follow_ups_lean_on_history(question):
    assert needs_history(question)


@pytest.mark.parametrize(
    "question",
    [
        "What is the recipe for plov?",  # short, but names its own subject
        "Who is the President of Kazakhstan?",
        "Why is the metallurgical project significant according to the article?",
        "On which TV channel does Teymur Atayev host his program?",  # "his" resolved in place
    ],
)
def test_standalone_questions_stay_standalone(question):
    assert not needs_history(question)
    assert condense(question, ["Where was the 12th OTS Summit held?"]) == question


def test_follow_up_inherits_the_last_standalone_question():
    history = ["Where was the 12th OTS Summit held?", "Who warned there about global tensions?"]
    assert condense("What format did he propose?", history) == (
        "Where was the 12th OTS Summit held? Who warned there about global tensions? What format did he propose?"
    )
