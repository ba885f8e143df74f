"""The HTTP API and the OpenAI-compatible routes of a live `qa serve`, behind a login.

One server for the module (a temp copy of seeds/, the real embedder and index), started as a
user starts it; the official `openai` client, httpx and `qa ask --json` talk to it.
"""

from __future__ import annotations

import json
import shutil
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from _uihelpers import OIL_Q, SEEDS, free_port, qa_serve, run_qa

USER, PASSWORD = "reader", "s3cret"
QUESTION_LIMIT = 300
SEED_DOC = "000_5c5733213d75056c.txt"
FERRY = (
    "The Caspian ferry line between Aktau and Alat carried 40,000 trucks in 2024. "
    "Port officials in Aktau expect the number of trucks to double by 2028."
)
FERRY_Q = "How many trucks did the Caspian ferry line between Aktau and Alat carry in 2024?"


@dataclass
class Api:
    base: str  # http://127.0.0.1:PORT
    docs: Path
    index: Path
    http: httpx.Client  # logged in (HTTP basic auth)

    def openai(self, api_key: str = f"{USER}:{PASSWORD}"):
        from openai import OpenAI

        return OpenAI(base_url=f"{self.base}/v1", api_key=api_key, max_retries=0, timeout=120)


@pytest.fixture(scope="module")
def api(tmp_path_factory):
    root = tmp_path_factory.mktemp("api")
    shutil.copytree(SEEDS, root / "docs")
    logins = root / "logins"
    logins.write_text(f"{USER}:{PASSWORD}\n", encoding="utf-8")
    port = free_port()
    args = ["--docs", str(root / "docs"), "--index-dir", str(root / "index"), "--port", str(port)]
    args += ["--auth-file", str(logins), "--max-upload-mb", "1", "--max-question-chars", str(QUESTION_LIMIT)]
    with (
        qa_serve(*args, log=root / "serve.log"),
        httpx.Client(base_url=f"http://127.0.0.1:{port}", auth=(USER, PASSWORD), timeout=120) as http,
    ):
        yield Api(f"http://127.0.0.1:{port}", root / "docs", root / "index", http)


def one_line_error(r: httpx.Response, status: int) -> str:
    """The refusal's message, after checking it is ``{"error": "..."}`` on one line."""
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/json")
    assert "\n" not in r.text.strip() and "Traceback" not in r.text
    return r.json()["error"]


def ask(api: Api, question: str, **fields) -> dict:
    r = api.http.post("/v1/answer", json={"question": question, **fields})
    assert r.status_code == 200, r.text
    return r.json()


def test_openai_client_gets_a_cited_answer(api, seed_text):
    client = api.openai()
    assert [m.id for m in client.models.list()][0] == "qa-extractive"
    completion = client.chat.completions.create(
        model="qa-extractive", messages=[{"role": "user", "content": OIL_Q}]
    )
    message = completion.choices[0].message
    assert completion.object == "chat.completion" and completion.model == "qa-extractive"
    assert "3.4 million tons" in message.content and "[1]" in message.content
    text, sources = message.content.split("\n\nSources:\n")
    cited = message.citations  # the extension field: the sources as data
    assert cited and cited[0]["n"] == 1 and cited[0]["doc"] == SEED_DOC
    for c in cited:
        assert seed_text[c["start"] : c["end"]] == c["quote"]
        assert f'[{c["n"]}] {c["title"]} ({c["doc"]}): "{c["quote"]}"' in sources
    assert text == ask(api, OIL_Q)["text"]


def test_openai_client_streams_the_same_answer(api, seed_text):
    client = api.openai()
    plain = client.chat.completions.create(
        model="qa-extractive", messages=[{"role": "user", "content": OIL_Q}]
    )
    chunks = list(
        client.chat.completions.create(
            model="qa-extractive", messages=[{"role": "user", "content": OIL_Q}], stream=True
        )
    )
    assert all(c.object == "chat.completion.chunk" and c.id == chunks[0].id for c in chunks)
    assert chunks[0].choices[0].delta.role == "assistant"
    pieces = [c.choices[0].delta.content for c in chunks if c.choices[0].delta.content]
    assert len(pieces) > 3, "the text should arrive in several chunks"
    assert "".join(pieces) == plain.choices[0].message.content
    last = chunks[-1].choices[0]
    assert last.finish_reason == "stop" and [c.choices[0].finish_reason for c in chunks[:-1]] == [None] * (
        len(chunks) - 1
    )
    assert last.delta.citations == plain.choices[0].message.citations
    assert all(seed_text[c["start"] : c["end"]] == c["quote"] for c in last.delta.citations)
    body = {"model": "qa-extractive", "stream": True, "messages": [{"role": "user", "content": OIL_Q}]}
    with api.http.stream("POST", "/v1/chat/completions", json=body) as r:
        assert r.headers["content-type"].startswith("text/event-stream")
        lines = [ln for ln in r.iter_lines() if ln]
    assert lines[-1] == "data: [DONE]" and all(ln.startswith("data: ") for ln in lines)


def test_earlier_messages_are_the_history(api):
    first = api.openai().chat.completions.create(
        messages=[{"role": "user", "content": OIL_Q}], model="qa-extractive"
    )
    reply = first.choices[0].message.content
    messages = [
        {"role": "system", "content": "You are a helpful assistant."},
        {"role": "user", "content": OIL_Q},
        {"role": "assistant", "content": reply},
        {"role": "user", "content": [{"type": "text", "text": "And by 2027?"}]},
    ]
    follow = api.openai().chat.completions.create(model="qa-extractive", messages=messages)
    native = ask(api, "And by 2027?", history=[{"question": OIL_Q, "answer": reply.split("\n\nSources:")[0]}])
    assert "7 million tons" in native["text"] and native["standalone_question"]
    assert follow.choices[0].message.content.split("\n\nSources:\n")[0] == native["text"]


def test_a_decline_is_the_text_alone(api):
    messages = [{"role": "user", "content": "What is the capital of Peru?"}]
    plain = api.openai().chat.completions.create(model="qa-extractive", messages=messages)
    assert plain.choices[0].message.content == "The documents do not say."
    assert plain.choices[0].message.citations == []
    chunks = list(api.openai().chat.completions.create(model="qa-extractive", messages=messages, stream=True))
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == "The documents do not say."
    assert chunks[-1].choices[0].delta.citations == []


def test_answer_is_what_qa_ask_json_prints(api):
    out = run_qa("ask", "--json", "--index-dir", str(api.index), OIL_Q, timeout=180)
    assert out.returncode == 0, out.stderr
    cli = json.loads(out.stdout)
    served = ask(api, OIL_Q)
    assert set(served) == set(cli)
    assert {k: v for k, v in served.items() if k != "timings"} == {
        k: v for k, v in cli.items() if k != "timings"
    }
    assert served["citations"] and served["generator"] == "extractive" and served["reader"]


def test_health_and_documents(api):
    """What the web chat's list shows, from the index itself."""
    from qa import CorpusIndex
    from qa._reader import reader_version

    index = CorpusIndex.open(api.index)
    doc, counts = index.documents[0], index.manifest["documents"][SEED_DOC]
    docs = api.http.get("/v1/documents").json()["documents"]
    assert docs == [
        {
            "name": SEED_DOC,
            "title": doc.title,
            "chunks": counts["n_chunks"],
            "pages": None,
            "chars": len(doc.text),
        }
    ]
    health = api.http.get("/v1/health").json()
    assert health == {
        "status": "ok",
        "documents": 1,
        "chunks": counts["n_chunks"],
        "reader": reader_version(),
    }


def test_uploaded_document_answers_then_removed_it_is_not_cited(api, tmp_path):
    files = [
        ("files", ("ferry.txt", FERRY.encode(), "text/plain")),
        ("files", ("table.csv", b"port,tons\nAktau,3400000\n", "text/csv")),
    ]
    r = api.http.post("/v1/documents", files=files)
    assert r.status_code == 200, r.text
    result = r.json()
    by_name = {f["name"]: f for f in result["files"]}
    assert by_name["ferry.txt"] == {
        "name": "ferry.txt",
        "status": "added",
        "saved_as": "ferry.txt",
        "reason": None,
    }
    assert by_name["table.csv"]["status"] == "unsupported" and ".csv" in by_name["table.csv"]["reason"]
    assert result["documents"] == 2 and "added ferry.txt" in result["message"]
    assert (api.docs / "ferry.txt").is_file() and not (api.docs / "table.csv").exists()
    assert "ferry.txt" in [d["name"] for d in api.http.get("/v1/documents").json()["documents"]]

    answer = ask(api, FERRY_Q)
    assert "40,000 trucks" in answer["text"] and answer["citations"][0]["doc"] == "ferry.txt"

    r = api.http.delete("/v1/documents/ferry.txt")
    assert r.status_code == 200, r.text
    assert r.json()["removed"] == "ferry.txt" and r.json()["documents"] == 1
    assert not (api.docs / "ferry.txt").exists()
    assert [d["name"] for d in api.http.get("/v1/documents").json()["documents"]] == [SEED_DOC]
    after = ask(api, FERRY_Q)
    assert all(c["doc"] != "ferry.txt" for c in after["citations"])
    assert all(c["doc"] != "ferry.txt" for c in after["retrieved"])


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        ({}, 422, "question: is required"),
        ({"question": 5}, 422, "question: input should be a valid string"),
        ({"question": "   "}, 422, "question: the question is empty"),
        ({"question": "why " * 100}, 422, f"the limit is {QUESTION_LIMIT}"),
        ({"question": "Where?", "top_k": "five"}, 422, "top_k: input should be a valid integer"),
        ({"question": "Where?", "top_k": 0}, 422, "top_k: input should be greater than or equal to 1"),
        ({"question": "Where?", "history": "none"}, 422, "history: input should be a valid list"),
        ({"question": "Where?", "history": [{"answer": "x"}]}, 422, "history[0].question: is required"),
        ({"question": "Where?", "topk": 3}, 422, "topk: is not a field of this request"),
        ({"question": "Where?", "generator": "gpt-9"}, 400, "generator: unknown answer generator 'gpt-9'"),
    ],
)
def test_bad_answer_requests_are_one_line_errors(api, body, status, message):
    assert message in one_line_error(api.http.post("/v1/answer", json=body), status)


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        ({"model": "qa-extractive", "messages": []}, 422, "messages: list should have at least 1 item"),
        (
            {"model": "gpt-4o", "messages": [{"role": "user", "content": "Hi?"}]},
            400,
            "model: unknown model 'gpt-4o'",
        ),
        (
            {"messages": [{"role": "assistant", "content": "Hi"}]},
            422,
            "messages[0].role: the last message must be",
        ),
        ({"messages": [{"role": "user", "content": ""}]}, 422, "question: the question is empty"),
        (
            {"messages": [{"role": "user"}], "top_k": -1},
            422,
            "top_k: input should be greater than or equal to 1",
        ),
    ],
)
def test_bad_chat_requests_are_one_line_errors(api, body, status, message):
    assert message in one_line_error(api.http.post("/v1/chat/completions", json=body), status)


def test_other_bad_requests_are_one_line_errors(api):
    r = api.http.post("/v1/answer", content=b"{not json", headers={"content-type": "application/json"})
    assert one_line_error(r, 422).startswith("body: is not valid JSON")
    r = api.http.delete("/v1/documents/nowhere.txt")
    assert one_line_error(r, 404) == "name: there is no indexed document named nowhere.txt."
    r = api.http.post("/v1/documents", files=[("files", ("table.csv", b"a,b\n", "text/csv"))])
    assert one_line_error(r, 415).startswith("files: table.csv: unsupported file type .csv")
    assert r.json()["files"][0]["status"] == "unsupported"
    big = ("big.txt", b"many words here " * 70_000, "text/plain")  # 1.1 MB, the limit is 1 MB
    r = api.http.post("/v1/documents", files=[("files", big)])
    assert "the limit is 1 MB per file" in one_line_error(r, 413)
    assert one_line_error(api.http.post("/v1/documents"), 422) == "files: is required"
    assert one_line_error(api.http.get("/v1/nothing-here"), 404) == "GET /v1/nothing-here: Not Found"
    assert sorted(p.name for p in api.docs.iterdir()) == [SEED_DOC], "nothing refused entered the folder"


def test_each_request_gets_its_own_generator_and_options(api):
    """Three clients at once, each several times: extractive with top-k 1, the default generator
    with top-k 3, and openai-like, which this server has no LLM server for. Each gets its own
    every time: the extractive ones with their own number of passages, openai-like its one-line
    refusal, never another client's answer. (tests/ui/test_api_llm.py runs two real generators
    side by side, with an LLM server behind openai-like.)"""
    models = [m.id for m in api.openai().models.list()]
    assert "qa-extractive" in models and "qa-openai-like" not in models
    rounds, start = 4, threading.Barrier(3)

    def client(body: dict, path: str = "/v1/answer") -> list[httpx.Response]:
        with httpx.Client(base_url=api.base, auth=(USER, PASSWORD), timeout=120) as http:
            start.wait()
            return [http.post(path, json=body) for _ in range(rounds)]

    chat = {"model": "qa-openai-like", "messages": [{"role": "user", "content": OIL_Q}]}
    with ThreadPoolExecutor(3) as pool:
        one = pool.submit(client, {"question": OIL_Q, "generator": "extractive", "top_k": 1})
        three = pool.submit(client, {"question": OIL_Q, "top_k": 3})
        llm = pool.submit(client, chat, "/v1/chat/completions")
        results = {"one": one.result(), "three": three.result(), "llm": llm.result()}
    for name, k in (("one", 1), ("three", 3)):
        for r in results[name]:
            assert r.status_code == 200, r.text
            answer = r.json()
            assert answer["generator"] == "extractive" and answer["draft"] is None
            assert len(answer["retrieved"]) == k and "3.4 million tons" in answer["text"]
    for r in results["llm"]:
        assert one_line_error(r, 400).startswith("model: the openai-like backend")


def test_a_per_call_generator_instance_answers_that_call_only(seed_bot, seed_text):
    """The Assistant underneath: a tiny real generator (it quotes the top passage's first
    sentence) passed to one call answers that call; the Assistant's own is untouched."""
    from qa import Generation
    from qa._generation import Span

    class FirstSentence:
        name = "first-sentence"

        def generate(self, request):
            hit = request.hits[0]
            text = request.index.documents[hit.doc].text
            end = text.find(". ", hit.start, hit.end) + 1 or hit.end
            return Generation(
                f"{text[hit.start : end]} [1]", False, spans=[Span(hit.doc, hit.start, end, 1.0)]
            )

    own = seed_bot.generator
    mine = seed_bot.answer(OIL_Q, generator=FirstSentence())
    theirs = seed_bot.answer(OIL_Q)
    assert mine.generator == "first-sentence" and theirs.generator == "extractive"
    assert seed_text[mine.citations[0].start : mine.citations[0].end] == mine.citations[0].quote
    assert seed_bot.generator is own and seed_bot.generator_for("extractive") is own
    assert seed_bot.generator_for(None) is own


def test_every_route_needs_the_login(api):
    from openai import AuthenticationError

    schema = api.http.get("/openapi.json").json()
    routes = [(m.upper(), p.replace("{name}", "x.txt")) for p, ops in schema["paths"].items() for m in ops]
    assert len(routes) >= 7
    with httpx.Client(base_url=api.base, timeout=30) as anonymous:
        for method, path in [
            *routes,
            ("GET", "/openapi.json"),
            ("GET", "/docs"),
            ("GET", "/docs/static/x.css"),
        ]:
            r = anonymous.request(method, path, json={} if method == "POST" else None)
            assert "login is required" in one_line_error(r, 401), (method, path)
            assert r.headers["www-authenticate"].startswith("Basic")
        r = anonymous.get("/v1/health", headers={"Authorization": f"Bearer {PASSWORD}"})
        assert r.status_code == 200 and r.json()["status"] == "ok"
        r = anonymous.get("/v1/health", headers={"Authorization": f"Bearer {USER}:{PASSWORD}"})
        assert r.status_code == 200
        assert "wrong user or password" in one_line_error(
            anonymous.get("/v1/health", auth=(USER, "nope")), 401
        )
    assert "Answer" in schema["components"]["schemas"] and "/v1/chat/completions" in schema["paths"]
    assert "swagger" in api.http.get("/docs").text.lower()
    with pytest.raises(AuthenticationError):
        api.openai(api_key="guess").models.list()


def test_failed_api_logins_are_throttled(api):
    """Last in this module: it locks 127.0.0.1 out for a minute."""
    with httpx.Client(base_url=api.base, timeout=30) as guesser:
        assert (
            guesser.get("/v1/health", auth=(USER, PASSWORD)).status_code == 200
        )  # a success resets the count
        codes = [guesser.get("/v1/health", auth=(USER, "guess")).status_code for _ in range(5)]
        assert codes == [401] * 5
        r = guesser.get("/v1/health", auth=(USER, "guess"))
        assert "too many failed logins" in one_line_error(r, 429)
        assert 50 <= int(r.headers["retry-after"]) <= 60
        right = guesser.get("/v1/health", auth=(USER, PASSWORD))
        assert right.status_code == 429, "while throttled, even the right password waits"
