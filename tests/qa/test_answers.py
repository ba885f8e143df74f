"""Answers on the real seed article: right facts, exact citation spans, abstention."""

from __future__ import annotations

import json

import pytest

from eval._normalize import contains

# (question, expected answer, text the cited span must contain): numbers, names, places, dates
FACTUAL = [
    (
        "How much Kazakh oil has been exported via the Baku-Tbilisi-Ceyhan pipeline since 2023?",
        "3.4 million tons",
        "approximately 3.4 million tons of Kazakh oil have been exported",
    ),
    ("How many companies with Kazakh capital operate in Azerbaijan?", "250", "more than 250 companies"),
    ("Where will the hot-briquetted-iron plant be located?", "Shamkir", "Shamkir district"),
    ("Where was the 12th OTS Summit held?", "Gabala", "12th OTS Summit in Gabala"),
    ("Who is the chairman of the Board of Muslims of the Caucasus?", "Allahshukur Pashazade", "Pashazade"),
    ("When was Kazakhstan's 12th Civil Forum held?", "October 15", "Civil Forum on October 15"),
    ("What was the value of Kazakh investments in Azerbaijan?", "136 million", "stand at 136 million"),
]


@pytest.mark.parametrize(("question", "expected", "evidence"), FACTUAL)
def test_factual_answers_cite_the_exact_span(seed_bot, seed_text, question, expected, evidence):
    answer = seed_bot.answer(question)
    assert not answer.abstained, answer.text
    assert contains(answer.text, expected), answer.text
    assert answer.citations, "an answer must cite"
    cited = [c for c in answer.citations if evidence in c.quote]
    assert cited, [c.quote for c in answer.citations]
    for c in answer.citations:
        assert seed_text[c.start : c.end] == c.quote
        assert f"[{c.n}]" in answer.text
        assert c.doc == "000_5c5733213d75056c.txt"


@pytest.mark.parametrize(
    "question",
    [
        "What is the capital of France?",
        "Who won the 2022 FIFA World Cup?",
        "What is the recipe for plov?",
    ],
)
def test_off_topic_questions_abstain(seed_bot, question):
    answer = seed_bot.answer(question)
    assert answer.abstained, answer.text
    assert answer.citations == []
    assert "do not say" in answer.text


def test_follow_up_is_resolved_from_history(seed_bot):
    first = "How much Kazakh oil has been exported via the Baku-Tbilisi-Ceyhan pipeline since 2023?"
    answer = seed_bot.answer("And by 2027?", history=[first])
    assert not answer.abstained
    assert "7 million tons" in answer.text
    assert answer.standalone_question and "oil" in answer.standalone_question
    # without the history the same words do not pick out the figure
    alone = seed_bot.answer("And by 2027?")
    assert alone.standalone_question is None


def test_answer_json_has_exactly_the_documented_fields(seed_bot):
    answer = seed_bot.answer("Where was the 12th OTS Summit held?")
    data = json.loads(answer.to_json())
    assert {"text", "abstained", "citations", "retrieved", "timings", "sentences", "generator"} <= set(data)
    citation = data["citations"][0]
    assert set(citation) == {"n", "doc", "title", "page", "start", "end", "quote", "score", "verified"}
    assert citation["verified"] is True and data["generator"] == "extractive" and data["draft"] is None
    sentence = data["sentences"][0]
    assert set(sentence) == {"text", "citations", "cited_sources", "support", "kept", "reason"}
    assert sentence["kept"] and sentence["citations"] == [1]
    chunk = data["retrieved"][0]
    assert set(chunk) == {"doc", "title", "chunk_id", "start", "end", "score", "text"}
    assert data["clarification"] is None  # a clear question is answered, not asked back
    assert isinstance(data["timings"]["total"], float)
    assert citation["n"] == 1 and 0.0 <= citation["score"] <= 1.0


def test_empty_question_is_a_clear_error(seed_bot):
    from qa import QAError

    with pytest.raises(QAError, match="empty"):
        seed_bot.answer("   ")


def test_oversized_question_is_refused_in_one_line(seed_index):
    from qa import MAX_QUESTION_CHARS, Assistant, QAError

    bot = Assistant(seed_index, max_question_chars=50)
    with pytest.raises(QAError, match=r"limit is 50\b") as err:
        bot.stream("Where was the summit held? " * 3)
    assert "\n" not in str(err.value)
    assert bot.answer("Where was the 12th OTS Summit held?").citations  # 35 characters pass
    assert MAX_QUESTION_CHARS == 2000


def test_public_answer_function_reuses_one_assistant(seed_index):
    from qa import answer

    a1 = answer("Where was the 12th OTS Summit held?", index_dir=seed_index, top_k=3)
    a2 = answer("Where was the 12th OTS Summit held?", index_dir=seed_index)
    assert "Gabala" in a1.text and a1.text == a2.text
    assert len(a1.retrieved) <= 3


def test_retrieve_alone_ranks_the_passages_the_answer_draws_on(seed_bot):
    question = "Where was the 12th OTS Summit held?"
    hits = seed_bot.retrieve(question, top_k=3)
    assert 0 < len(hits) <= 3
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    answer = seed_bot.answer(question, top_k=3)
    assert [h.chunk for h in hits] == [r.chunk_id for r in answer.retrieved]
    assert "Gabala" in seed_bot.index.chunk_text(hits[0].chunk)
