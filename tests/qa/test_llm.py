"""LLM answers: the generator's plumbing with a scripted LLM, then end to end with the real
packaged Gemma 3 270M through llama.cpp (a weak base model: the tests check what must hold
whatever it writes — streaming, exact spans, verification — not its wisdom)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from llama_index.core.base.llms.types import CompletionResponse, LLMMetadata
from llama_index.core.llms import CustomLLM
from llama_index.core.llms.callbacks import llm_completion_callback

REPO = Path(__file__).resolve().parents[2]
OIL_Q = "How much Kazakh oil has been exported via the Baku-Tbilisi-Ceyhan pipeline since 2023?"
SEED_DOC = "000_5c5733213d75056c.txt"


def run_qa(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    full_env = {**os.environ, **env}
    return subprocess.run(
        [sys.executable, "-m", "qa", *args],
        cwd=REPO,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=600,
    )


class ScriptedLLM(CustomLLM):
    """A llama-index LLM whose reply is computed from the prompt, streamed word by word."""

    script: Callable[[str], str]
    prompts: list[str] = []

    @property
    def metadata(self) -> LLMMetadata:
        return LLMMetadata(context_window=4096, num_output=256, model_name="scripted")

    @llm_completion_callback()
    def complete(self, prompt: str, formatted: bool = False, **kwargs) -> CompletionResponse:
        self.prompts.append(prompt)
        return CompletionResponse(text=self.script(prompt))

    @llm_completion_callback()
    def stream_complete(self, prompt: str, formatted: bool = False, **kwargs):
        self.prompts.append(prompt)
        reply = self.script(prompt)

        def gen():
            text = ""
            for word in re.findall(r"\S+\s*", reply):
                text += word
                yield CompletionResponse(text=text, delta=word)

        return gen()


def source_number(prompt: str, needle: str) -> int:
    """The [n] of the source line in the (last) prompt that contains ``needle``."""
    block = prompt.rsplit("Sources:", 1)[1]
    for line in block.splitlines():
        m = re.match(r"\[(\d+)\] (.*)", line)
        if m and needle in m.group(2):
            return int(m.group(1))
    raise AssertionError(f"{needle!r} is in no source")


def scripted_bot(seed_index, embedder, script, **options):
    from qa import Assistant, llm_generator

    llm = ScriptedLLM(script=script, prompts=[])
    gen = llm_generator("openai-like", llm=llm, mode="completion", **options)
    return Assistant(seed_index, top_k=5, generator=gen, embedder=embedder), llm


# ---------------------------------------------------------------- scripted LLM


def test_llm_answer_is_verified_repointed_and_renumbered(seed_index, embedder, seed_text):
    def script(prompt: str) -> str:
        right = source_number(prompt, "3.4 million tons")
        wrong = 1 if right != 1 else 2
        return (
            f"Since 2023, approximately 3.4 million tons of Kazakh oil have been exported [{wrong}]. "
            f"By 2027 this is expected to reach 7 million tons annually [{right}]. "
            f"The pipeline also carried 12 million tons of gas in 2019 [{right}]."
        )

    bot, llm = scripted_bot(seed_index, embedder, script)
    answer = bot.answer(OIL_Q)
    prompt = llm.prompts[-1]
    assert "[1] " in prompt and prompt.rstrip().endswith("Answer:") and OIL_Q in prompt
    assert answer.generator == "openai-like" and not answer.abstained
    assert answer.draft and "12 million" in answer.draft
    assert "12 million" not in answer.text and "3.4 million tons" in answer.text
    kept = [s for s in answer.sentences if s.kept]
    dropped = [s for s in answer.sentences if not s.kept]
    assert len(kept) == 2 and len(dropped) == 1
    assert "re-cited" in kept[0].reason and dropped[0].citations == []
    assert dropped[0].reason == (
        "figure 2019 not found in the sources; figure 12 is in the sources, but not with what it says here"
    )
    assert [c.n for c in answer.citations] == list(range(1, len(answer.citations) + 1))
    for c in answer.citations:
        assert c.verified and c.doc == SEED_DOC and f"[{c.n}]" in answer.text
        assert seed_text[c.start : c.end] == c.quote
    assert any("3.4 million tons" in c.quote for c in answer.citations)


def test_unsupported_llm_answer_falls_back_to_the_extractive_answer(seed_index, embedder):
    bot, _ = scripted_bot(
        seed_index, embedder, lambda p: "The pipeline exported 99 million barrels in 1990 [1]."
    )
    answer = bot.answer(OIL_Q)
    assert answer.generator == "extractive"
    assert "3.4 million tons" in answer.text and answer.citations
    assert answer.sentences[0].kept is False and "99" in answer.sentences[0].reason
    assert answer.sentences[1].reason.startswith("extractive fallback")


def test_llm_abstention_is_honoured(seed_index, embedder):
    bot, _ = scripted_bot(seed_index, embedder, lambda p: "The documents do not say.")
    answer = bot.answer("What is the recipe for plov?")
    assert answer.abstained and answer.citations == [] and answer.text == "The documents do not say."


def test_no_verify_keeps_unsupported_sentences_unverified(seed_index, embedder):
    bot, _ = scripted_bot(
        seed_index, embedder, lambda p: "The pipeline exported 99 million barrels [1].", verify=False
    )
    answer = bot.answer(OIL_Q)
    assert "99 million" in answer.text
    assert answer.citations and not answer.citations[0].verified
    assert answer.sentences[0].kept and answer.sentences[0].support < 0.5


def test_follow_up_is_condensed_by_the_llm(seed_index, embedder):
    def script(prompt: str) -> str:
        if prompt.rstrip().endswith("Standalone question:"):
            return " How much Kazakh oil will be exported via the pipeline by 2027?\nUser: more"
        return "By 2027 this figure is expected to grow to 7 million tons annually."

    bot, llm = scripted_bot(seed_index, embedder, script)
    first = bot.answer(OIL_Q)
    follow = bot.answer("And by 2027?", history=[{"question": OIL_Q, "answer": first.text}])
    condense_prompt = llm.prompts[-2]
    assert "Last question: And by 2027?" in condense_prompt and f"User: {OIL_Q}" in condense_prompt
    assert "Assistant: By 2027 this figure" in condense_prompt  # the history's answers are used too
    assert follow.standalone_question == "How much Kazakh oil will be exported via the pipeline by 2027?"
    assert "7 million tons" in follow.text and follow.citations[0].verified


def test_a_rewrite_that_loses_the_question_s_figures_is_refused(seed_index, embedder):
    bot, _ = scripted_bot(
        seed_index,
        embedder,
        lambda p: "How much oil is exported?" if p.rstrip().endswith("Standalone question:") else "Nothing.",
    )
    answer = bot.answer("And by 2027?", history=[OIL_Q])
    assert answer.standalone_question == f"{OIL_Q} And by 2027?"  # the rule-based rewrite


@pytest.mark.llm
def test_backend_names_and_bad_configuration_are_one_line_errors(monkeypatch, tmp_path):
    from qa import Assistant, QAError, llm_generator

    monkeypatch.delenv("QA_LLM_BASE_URL", raising=False)
    with pytest.raises(QAError, match="QA_LLM_BASE_URL"):
        llm_generator("openai-like")
    with pytest.raises(QAError, match="no such file"):
        llm_generator("llamacpp", model=str(tmp_path / "missing.gguf"))
    with pytest.raises(QAError, match="max-tokens"):
        llm_generator("llamacpp", max_tokens=0)
    with pytest.raises(QAError, match="unknown answer generator"):
        Assistant(tmp_path, generator="gpt-17")


@pytest.mark.llm
def test_api_key_never_appears_in_reprs(monkeypatch):
    from qa import llm_generator

    monkeypatch.setenv("QA_LLM_API_KEY", "sk-very-secret-123")
    gen = llm_generator("openai-like", base_url="http://127.0.0.1:9/v1")
    assert gen.settings.api_key == "sk-very-secret-123"
    assert "sk-very-secret" not in repr(gen) and "sk-very-secret" not in repr(gen.settings)


# ---------------------------------------------------------------- the real GGUF model


@pytest.mark.llm
def test_packaged_model_is_cached_outside_the_repository(gguf_path):
    from qa._llm import cache_dir, packaged_model_path

    assert gguf_path.is_file() and gguf_path.suffix == ".gguf"
    assert cache_dir() in gguf_path.parents and REPO not in gguf_path.parents
    assert packaged_model_path() == gguf_path  # cached: no second assembly


def model_sentences(answer) -> list:
    """The draft's own sentences as verification judged them (not the extractive fallback's)."""
    return [s for s in answer.sentences if not s.reason.startswith("extractive fallback")]


@pytest.mark.llm
def test_llamacpp_answers_with_verified_exact_citations(llm_bot, seed_text):
    answer = llm_bot.answer(OIL_Q)
    assert answer.draft, "the model wrote nothing"
    assert not answer.abstained and answer.citations
    for c in answer.citations:
        assert c.verified and c.doc == SEED_DOC
        assert seed_text[c.start : c.end] == c.quote
        assert f"[{c.n}]" in answer.text
    # What the model wrote may or may not hold up, but who wrote the answer follows from the
    # judgment of each of its sentences: the model when one was kept, else the extractive answer.
    own = model_sentences(answer)
    kept = [s for s in own if s.kept]
    assert own, "every sentence of the draft is judged"
    assert answer.generator == ("llamacpp" if kept else "extractive")
    for s in kept:
        assert s.support >= 0.5 and s.citations and s.text in answer.text
    assert all(s.reason for s in own if not s.kept), "a dropped sentence says why"
    fallback = [s for s in answer.sentences if s.reason.startswith("extractive fallback")]
    assert bool(fallback) == (not kept)
    if not kept:
        assert "3.4 million tons" in answer.text


@pytest.mark.llm
def test_llamacpp_streams_tokens_then_the_verified_answer(llm_bot):
    from qa import Answer

    items = list(llm_bot.stream("Where was the 12th OTS Summit held?"))
    *deltas, final = items
    assert isinstance(final, Answer) and all(isinstance(d, str) for d in deltas)
    assert len(deltas) > 2, "tokens should arrive one by one"
    assert "".join(deltas).strip() == final.draft
    assert 0 < final.timings["first_token"] < final.timings["total"]
    assert final.citations and not final.abstained  # answered: by the model, or the extractive fallback
    assert all(c.verified for c in final.citations)


@pytest.mark.llm
def test_llamacpp_off_topic_answer_is_not_passed_off_as_grounded(llm_bot):
    answer = llm_bot.answer("What is the capital of France?")
    assert "Paris" not in answer.text
    # Nothing in the seed answers it, so the only right outcome is the decline: a sentence copied
    # from the sources (verified, but no answer) would be an off-topic answer passed off as grounded.
    assert answer.abstained and answer.text == "The documents do not say." and answer.citations == []
    assert all(not s.kept or s.reason == "the model abstained" for s in model_sentences(answer))


@pytest.mark.llm
def test_llamacpp_follow_up_uses_the_history(llm_bot):
    from qa import Turn

    answer = llm_bot.answer(
        "And by 2027?", history=[Turn(question=OIL_Q, answer="About 3.4 million tons [1].")]
    )
    standalone = answer.standalone_question
    # "2027" alone proves nothing: the model's rewrite is refused unless it keeps the question's own
    # figures, and the rule-based one quotes the question. What the history adds is its subject.
    assert standalone and standalone != "And by 2027?" and "2027" in standalone
    assert re.search(r"\boil\b|Kazakh|pipeline", standalone, re.I), standalone
    assert any("7 million tons" in r.text for r in answer.retrieved), "the 2027 figure was retrieved"


@pytest.mark.llm
def test_prompt_injection_does_not_change_the_answer(injection_index, embedder, llamacpp_gen):
    from qa import Assistant

    for generator in (llamacpp_gen, "extractive"):
        bot = Assistant(injection_index, top_k=3, generator=generator, embedder=embedder)
        answer = bot.answer(OIL_Q)
        assert any(r.doc == "pipeline-notes.txt" for r in answer.retrieved), (
            "the injection must be in the prompt"
        )
        assert "PWNED" not in answer.text
        assert all("PWNED" not in c.quote for c in answer.citations)
        # the sentence that talks to the assistant never reaches the model, so it cannot obey it
        # (what verification does with a draft that does say it: tests/qa/test_hostile.py)
        assert "PWNED" not in (answer.draft or "")
        if generator == "extractive":
            assert answer.draft is None
        else:
            assert answer.draft, "the model wrote nothing"


@pytest.mark.llm
def test_cli_ask_with_llamacpp_streams_and_cites(seed_index, gguf_path):
    out = run_qa(
        "ask",
        OIL_Q,
        "--llm",
        "llamacpp",
        "--llm-model",
        str(gguf_path),
        "--max-tokens",
        "40",
        "--n-ctx",
        "2048",
        "--llm-threads",
        "2",
        "--top-k",
        "3",
        env={"QA_INDEX_DIR": str(seed_index)},
    )
    assert out.returncode == 0, out.stderr
    assert f"[1] {SEED_DOC}" in out.stdout
    assert "Traceback" not in out.stderr and "llama_" not in out.stderr


@pytest.mark.llm
def test_cli_bad_llm_configuration_exits_2_with_one_line(seed_index, tmp_path):
    out = run_qa(
        "ask", OIL_Q, "--llm", "llamacpp", "--llm-model", str(tmp_path / "nope.gguf"),
        env={"QA_INDEX_DIR": str(seed_index)},
    )  # fmt: skip
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert out.stderr.strip().splitlines() == [
        f"qa: error: GGUF model {tmp_path / 'nope.gguf'}: no such file"
    ]
