"""``qa mcp`` as an MCP client runs it: a real ``python -m qa mcp`` subprocess, driven over
stdio by the official SDK's client (``stdio_client`` + ``ClientSession``).

One server for the whole module: ``_conversation`` runs every call once and the tests read
what came back. The server starts on an index folder that does not exist yet (so the first
``ask`` must be a one-line tool error), then the seed index is copied in and the same server
answers from it (a missing index is looked for again on every call).
"""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("mcp", reason="qa mcp needs the mcp extra (pip install -e '.[mcp]')")

REPO = Path(__file__).resolve().parents[2]
QUESTION = "How much Kazakh oil has been exported via the Baku-Tbilisi-Ceyhan pipeline since 2023?"
FOLLOW_UP = "And by 2027?"
SEARCH = "the 12th OTS Summit in Gabala"


async def _conversation(index_dir: Path, seed_index: Path, errlog) -> dict:
    from mcp import ClientSession, StdioServerParameters, stdio_client

    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "qa", "mcp", "--index-dir", str(index_dir)],
        env={"PYTHONPATH": str(REPO), "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"},
        cwd=str(index_dir.parent),
    )
    stray: list[Exception] = []  # what the client could not read as JSON-RPC (see the stdout test)

    async def on_message(message) -> None:
        if isinstance(message, Exception):
            stray.append(message)

    got: dict = {"stray": stray}
    t0 = time.perf_counter()
    async with (
        stdio_client(params, errlog=errlog) as (read, write),
        ClientSession(read, write, message_handler=on_message) as session,
    ):
        await session.initialize()
        got["started_s"] = time.perf_counter() - t0
        got["tools"] = {t.name: t for t in (await session.list_tools()).tools}
        got["no_index"] = await session.call_tool("ask", {"question": QUESTION})
        shutil.copytree(seed_index, index_dir)  # `qa index` ran meanwhile
        t1 = time.perf_counter()
        got["ask"] = await session.call_tool("ask", {"question": QUESTION})
        got["ask_s"] = time.perf_counter() - t1
        history = [{"question": QUESTION, "answer": got["ask"].structured_content["text"]}]
        got["follow_up"] = await session.call_tool("ask", {"question": FOLLOW_UP, "history": history})
        got["search"] = await session.call_tool("search", {"query": SEARCH, "top_k": 3})
        got["empty"] = await session.call_tool("ask", {"question": "   "})
        got["empty_query"] = await session.call_tool("search", {"query": ""})
        got["bad_top_k"] = await session.call_tool("search", {"query": SEARCH, "top_k": 0})
    got["total_s"] = time.perf_counter() - t0
    return got


@pytest.fixture(scope="module")
def mcp_run(seed_index, tmp_path_factory) -> dict:
    work = tmp_path_factory.mktemp("mcp")
    with open(work / "stderr.log", "w+", encoding="utf-8") as errlog:
        got = asyncio.run(asyncio.wait_for(_conversation(work / "index", seed_index, errlog), timeout=300))
        errlog.seek(0)
        got["stderr"] = errlog.read()
    print(f"qa mcp: started {got['started_s']:.1f} s, ask {got['ask_s']:.2f} s, all {got['total_s']:.1f} s")
    return got


@pytest.fixture(scope="module")
def documents(seed_index) -> dict[str, str]:
    from qa import CorpusIndex

    return {d.key: d.text for d in CorpusIndex.open(seed_index).documents}


def _text(result) -> str:
    (block,) = result.content
    return block.text


def test_lists_both_tools_with_their_input_and_output_schemas(mcp_run):
    tools = mcp_run["tools"]
    assert set(tools) == {"ask", "search"}
    ask = tools["ask"].input_schema
    assert ask["required"] == ["question"] and ask["properties"]["question"]["type"] == "string"
    (turns, _none) = ask["properties"]["history"]["anyOf"]
    assert turns["type"] == "array" and set(ask["$defs"]["Turn"]["properties"]) == {"question", "answer"}
    search = tools["search"].input_schema
    assert search["required"] == ["query"]
    assert search["properties"]["top_k"] == {
        "default": 5,
        "description": "how many passages to return",
        "maximum": 50,
        "minimum": 1,
        "title": "Top K",
        "type": "integer",
    }
    assert {"text", "abstained", "clarification", "citations"} <= set(
        tools["ask"].output_schema["properties"]
    )
    passage = tools["search"].output_schema["$defs"]["Passage"]["properties"]
    assert {"doc", "title", "start", "end", "score", "text"} <= set(passage)
    assert all(t.annotations.read_only_hint for t in tools.values())


def test_ask_answers_with_a_citation_that_quotes_the_document_at_its_span(mcp_run, documents, seed_text):
    result = mcp_run["ask"]
    assert not result.is_error, _text(result)
    answer = result.structured_content
    assert answer["abstained"] is False and answer["clarification"] is None
    assert "3.4 million tons" in answer["text"] and "[1]" in answer["text"]
    assert answer["citations"], answer
    for c in answer["citations"]:
        assert c["quote"] == documents[c["doc"]][c["start"] : c["end"]]
        assert c["title"] and c["page"] is None  # a .txt has no pages
    first = answer["citations"][0]
    assert first["doc"] == "000_5c5733213d75056c.txt" and first["n"] == 1
    assert first["quote"] == seed_text[first["start"] : first["end"]]  # the cleaned text is the file's here
    readable = _text(result)  # what a client shows, or a model reads
    assert readable.startswith(answer["text"]) and f"\u201c{first['quote']}\u201d" in readable
    assert f"[1] {first['doc']}, chars {first['start']}-{first['end']}" in readable


def test_a_follow_up_is_read_with_the_history(mcp_run, documents):
    result = mcp_run["follow_up"]
    assert not result.is_error, _text(result)
    answer = result.structured_content
    assert "7 million tons" in answer["text"] and answer["standalone_question"]
    assert "(understood as: " in _text(result)
    for c in answer["citations"]:
        assert c["quote"] == documents[c["doc"]][c["start"] : c["end"]]


def test_search_ranks_passages_whose_spans_locate_them(mcp_run, documents):
    result = mcp_run["search"]
    assert not result.is_error, _text(result)
    found = result.structured_content
    assert found["query"] == SEARCH
    passages = found["passages"]
    assert [p["rank"] for p in passages] == [1, 2, 3]
    assert [p["score"] for p in passages] == sorted((p["score"] for p in passages), reverse=True)
    for p in passages:
        assert p["text"] and p["text"] == documents[p["doc"]][p["start"] : p["end"]]
        assert p["title"] == "000_5c5733213d75056c"
    assert "12th OTS Summit in Gabala" in passages[0]["text"]
    assert _text(result).startswith(f"1. {passages[0]['doc']}, chars {passages[0]['start']}-")


@pytest.mark.parametrize(
    ("call", "says"),
    [
        ("no_index", "no index at "),
        ("empty", "the question is empty"),
        ("empty_query", "the query is empty"),
        ("bad_top_k", "top_k must be between 1 and 50, not 0"),
    ],
)
def test_user_mistakes_are_one_line_tool_errors(mcp_run, call, says):
    result = mcp_run[call]
    assert result.is_error and result.structured_content is None
    message = _text(result)
    assert says in message and len(message.splitlines()) == 1, message
    assert "Traceback" not in message
    if call == "no_index":
        assert "qa index" in message  # it says what to do


def test_stdout_carries_only_the_protocol(mcp_run):
    """Nothing but JSON-RPC may reach the server's stdout: a model load's print, a progress bar
    or a library warning there is a line the client cannot parse. This SDK's client logs such a
    line and hands it to ``message_handler`` as an exception, then reads on, so the session
    itself would not fail: the test records those exceptions and fails on any. (A client that
    treats a bad line as a broken connection would drop the session.) Logs and warnings go to
    stderr, and the one warning expected there is the missing index at startup."""
    assert mcp_run["stray"] == []
    assert "Traceback" not in mcp_run["stderr"], mcp_run["stderr"]
    warnings = [line for line in mcp_run["stderr"].splitlines() if line.startswith("qa: warning: ")]
    assert len(warnings) == 1 and "no index at " in warnings[0] and "serving anyway" in warnings[0]


def test_help_lists_mcp_without_importing_the_sdk():
    out = subprocess.run([sys.executable, "-m", "qa", "--help"], cwd=REPO, capture_output=True, text=True)
    assert out.returncode == 0 and "mcp" in out.stdout
    code = "import sys, qa.cli; qa.cli.build_parser(); print('mcp' in sys.modules, 'pydantic' in sys.modules)"
    probe = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True)
    assert probe.stdout.strip() == "False False", probe.stderr
