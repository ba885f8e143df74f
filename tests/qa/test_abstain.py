"""One notion of abstaining: the text every surface writes is the text the verifier recognises."""

from __future__ import annotations

import pytest

from qa import ABSTAIN_TEXT
from qa._abstain import is_abstention, is_decline
from qa._claims import split_claims


def test_the_decline_text_is_recognised_as_one_and_never_checked_as_a_claim():
    assert is_abstention(ABSTAIN_TEXT)
    (claim,) = split_claims(ABSTAIN_TEXT)
    assert claim.abstains


@pytest.mark.parametrize(
    "text",
    ["The sources do not mention when it opened.", "No information is given.", "I don't know."],
)
def test_an_llm_saying_the_documents_lack_something_is_an_abstention(text):
    assert is_abstention(text)


@pytest.mark.parametrize(
    "text", ["Oil exports rose to 3.4 million tons.", "The documents were signed in 2023."]
)
def test_a_claim_is_not_an_abstention(text):
    assert not is_abstention(text)


def test_prompts_and_mcp_tools_ask_for_and_describe_exactly_that_text():
    pytest.importorskip("mcp")
    from qa import _mcp, _prompts

    assert f"reply exactly: {ABSTAIN_TEXT} " in _prompts.RULES
    assert _prompts._EXAMPLES[-1][-1] == ABSTAIN_TEXT
    assert f"'{ABSTAIN_TEXT}'" in _mcp.INSTRUCTIONS
    assert f"'{ABSTAIN_TEXT}'" in _mcp.AskResult.model_fields["text"].description


def test_the_ask_tool_describes_the_decline_in_its_own_words():
    pytest.importorskip("mcp")
    import asyncio

    from qa._mcp import QAService, build_server

    tools = {t.name: t for t in asyncio.run(build_server(QAService(None)).list_tools())}
    assert f"or is '{ABSTAIN_TEXT}' (abstained)" in tools["ask"].description
    assert "ABSTAIN_TEXT" not in tools["ask"].description


@pytest.mark.parametrize(
    ("text", "whole_answer_declines", "claim_abstains"),
    [
        ("I cannot determine the opening date from the context.", True, False),
        ("The figure is not available in the provided text.", True, False),
        ("The documents do not say.", True, True),
        ("The plant was unable to meet its 2023 quota.", True, False),  # a fact, as one claim of ours
        ("Oil exports rose to 3.4 million tons.", False, False),
    ],
)
def test_a_stock_pipelines_decline_is_read_wider_than_one_of_our_claims(
    text, whole_answer_declines, claim_abstains
):
    """The eval scores the llama-index baseline's whole answers with ``is_decline``; the verifier
    must not drop a claim of ours as a decline for the same words."""
    assert is_decline(text) is whole_answer_declines
    assert is_abstention(text) is claim_abstains
