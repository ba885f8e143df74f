"""Two generators really running behind one `qa serve`: the extractive one and the openai-like
backend at a real llama-cpp-python server (the packaged Gemma 3 270M), chosen per request."""

from __future__ import annotations

import shutil
import threading
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from _uihelpers import OIL_Q, SEEDS, free_port, qa_serve

pytestmark = [pytest.mark.llm, pytest.mark.slow]

ROUNDS = 3
SEED_DOC = "000_5c5733213d75056c.txt"


@pytest.fixture(scope="module")
def llm_api(tmp_path_factory, llm_server, server_key):
    """``qa serve`` whose openai-like backend is the test LLM server (configured as a user does,
    through QA_LLM_BASE_URL and QA_LLM_API_KEY); extractive stays the default."""
    root = tmp_path_factory.mktemp("api-llm")
    shutil.copytree(SEEDS, root / "docs")
    port = free_port()
    args = ["--docs", str(root / "docs"), "--index-dir", str(root / "index"), "--port", str(port)]
    env = {"QA_LLM_BASE_URL": llm_server, "QA_LLM_API_KEY": server_key}
    with qa_serve(*args, log=root / "serve.log", env=env):
        yield f"http://127.0.0.1:{port}"


def _quoted_from_the_seed(citations: list[dict], seed_text: str) -> None:
    for c in citations:
        assert c["doc"] == SEED_DOC and seed_text[c["start"] : c["end"]] == c["quote"]


def test_concurrent_clients_each_get_the_generator_they_chose(llm_api, seed_text):
    """Three clients at once, several rounds each: extractive on /v1/answer, openai-like on
    /v1/answer, and qa-openai-like on /v1/chat/completions. The extractive client's answers never
    carry an LLM draft; the openai-like client's always do (the model really wrote), verified
    or, where verification dropped the draft, the extractive fallback saying so."""
    with httpx.Client(base_url=llm_api, timeout=60) as http:
        models = [m["id"] for m in http.get("/v1/models").json()["data"]]
    assert models[0] == "qa-extractive" and "qa-openai-like" in models
    start = threading.Barrier(3)

    def client(path: str, body: dict) -> list[httpx.Response]:
        with httpx.Client(base_url=llm_api, timeout=300) as http:
            start.wait()
            return [http.post(path, json=body) for _ in range(ROUNDS)]

    chat = {"model": "qa-openai-like", "messages": [{"role": "user", "content": OIL_Q}]}
    with ThreadPoolExecutor(3) as pool:
        extractive = pool.submit(client, "/v1/answer", {"question": OIL_Q, "generator": "extractive"})
        llm = pool.submit(client, "/v1/answer", {"question": OIL_Q, "generator": "openai-like"})
        chatted = pool.submit(client, "/v1/chat/completions", chat)
        results = {"extractive": extractive.result(), "llm": llm.result(), "chat": chatted.result()}

    for r in results["extractive"]:
        assert r.status_code == 200, r.text
        answer = r.json()
        assert answer["generator"] == "extractive" and answer["draft"] is None
        assert "3.4 million tons" in answer["text"] and answer["citations"]
        _quoted_from_the_seed(answer["citations"], seed_text)
    for r in results["llm"]:
        assert r.status_code == 200, r.text
        answer = r.json()
        assert answer["draft"] is not None, "the LLM wrote this answer's draft"
        if answer["generator"] == "extractive":  # the draft failed verification: the fallback says so
            assert any(s["reason"].startswith("extractive fallback") for s in answer["sentences"])
        else:
            assert answer["generator"] == "openai-like"
            assert all(c["verified"] for c in answer["citations"])
        _quoted_from_the_seed(answer["citations"], seed_text)
    for r in results["chat"]:
        assert r.status_code == 200, r.text
        completion = r.json()
        assert completion["model"] == "qa-openai-like"
        message = completion["choices"][0]["message"]
        assert message["content"].strip()
        _quoted_from_the_seed(message["citations"], seed_text)
