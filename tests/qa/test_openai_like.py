"""The OpenAI-compatible backend against a real server on 127.0.0.1 (llama-cpp-python's,
serving the packaged model, started with an API key), including what users get wrong."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.llm  # a llama-cpp-python server, and llama-index's OpenAILike

REPO = Path(__file__).resolve().parents[2]
OIL_Q = "How much Kazakh oil has been exported via the Baku-Tbilisi-Ceyhan pipeline since 2023?"


def bot_for(index, embedder, **options):
    from qa import Assistant, llm_generator

    options.setdefault("max_tokens", 40)
    return Assistant(index, top_k=3, generator=llm_generator("openai-like", **options), embedder=embedder)


def run_qa(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("QA_LLM", "OPENAI_"))}
    full_env.update(env)
    return subprocess.run(
        [sys.executable, "-m", "qa", *args],
        cwd=REPO,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_completion_mode_streams_a_verified_answer(llm_server, server_key, seed_index, embedder, seed_text):
    from qa import Answer

    bot = bot_for(seed_index, embedder, base_url=llm_server, api_key=server_key, mode="completion")
    *deltas, answer = list(bot.stream(OIL_Q))
    assert isinstance(answer, Answer) and all(isinstance(d, str) for d in deltas)
    assert len(deltas) > 2, "tokens should arrive one by one over HTTP"
    assert "".join(deltas).strip() == answer.draft
    assert answer.generator in ("openai-like", "extractive")
    assert bot.generator.llm.model.endswith(".gguf")  # no model given: the server's first one
    assert answer.citations and not answer.abstained
    for c in answer.citations:
        assert c.verified and seed_text[c.start : c.end] == c.quote


def test_chat_mode_goes_through_the_chat_endpoint(llm_server, server_key, seed_index, embedder):
    # a base model behind a chat template writes little of use; the path must still hold up
    bot = bot_for(seed_index, embedder, base_url=llm_server, api_key=server_key, model="gemma", max_tokens=24)
    assert bot.generator.settings.mode == "chat"
    answer = bot.answer("Where was the 12th OTS Summit held?")
    assert answer.draft is not None and answer.generator in ("openai-like", "extractive")
    assert all(c.verified for c in answer.citations)


def test_environment_configures_the_backend(llm_server, server_key, seed_index, embedder, monkeypatch):
    monkeypatch.setenv("QA_LLM_BASE_URL", llm_server)
    monkeypatch.setenv("QA_LLM_API_KEY", server_key)
    monkeypatch.setenv("QA_LLM_MODEL", "whatever-the-server-serves")
    bot = bot_for(seed_index, embedder, mode="completion", max_tokens=8)
    assert bot.answer("Where was the 12th OTS Summit held?").draft is not None


def test_server_down_is_a_quick_one_line_error(seed_index, embedder, dead_url):
    from qa import QAError

    url = dead_url
    bot = bot_for(seed_index, embedder, base_url=url, api_key="k", model="m")
    started = time.monotonic()
    with pytest.raises(QAError) as err:
        bot.answer(OIL_Q)
    assert time.monotonic() - started < 30
    assert str(err.value) == f"cannot reach the LLM server at {url}; is it running?"


def test_bad_api_key_is_a_one_line_error_without_the_key(llm_server, server_key, seed_index, embedder):
    from qa import QAError

    bot = bot_for(seed_index, embedder, base_url=llm_server, api_key="wrong-key-77", model="m")
    with pytest.raises(QAError) as err:
        bot.answer(OIL_Q)
    message = str(err.value)
    assert "refused the API key (HTTP 401)" in message and "QA_LLM_API_KEY" in message
    assert "wrong-key-77" not in message and "\n" not in message


def test_cli_with_the_openai_like_backend(llm_server, server_key, seed_index, dead_url):
    env = {"QA_INDEX_DIR": str(seed_index), "QA_LLM_BASE_URL": llm_server}
    question_args = ("ask", OIL_Q, "--llm", "openai-like", "--llm-mode", "completion", "--max-tokens", "24")

    ok = run_qa(*question_args, env={**env, "QA_LLM_API_KEY": server_key})
    assert ok.returncode == 0, ok.stderr
    assert "[1] 000_5c5733213d75056c.txt" in ok.stdout and server_key not in ok.stdout + ok.stderr

    bad_key = run_qa(*question_args, env={**env, "QA_LLM_API_KEY": "wrong-key-77"})
    assert bad_key.returncode == 2
    assert bad_key.stderr.strip().splitlines() == [
        f"qa: error: the LLM server at {llm_server} refused the API key (HTTP 401); set QA_LLM_API_KEY"
    ]
    assert "wrong-key-77" not in bad_key.stdout + bad_key.stderr

    down = dead_url
    no_server = run_qa(*question_args, "--llm-base-url", down, env={**env, "QA_LLM_API_KEY": "k"})
    assert no_server.returncode == 2
    assert no_server.stderr.strip().splitlines() == [
        f"qa: error: cannot reach the LLM server at {down}; is it running?"
    ]

    no_url = run_qa("ask", OIL_Q, "--llm", "openai-like", env={"QA_INDEX_DIR": str(seed_index)})
    assert no_url.returncode == 2 and "QA_LLM_BASE_URL" in no_url.stderr
    assert len(no_url.stderr.strip().splitlines()) == 1
