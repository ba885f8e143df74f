"""``qa mcp``: the assistant as an MCP server over stdio, with two tools, ``ask`` and ``search``.

An MCP client (Claude Desktop, an IDE, an agent) starts ``qa mcp`` as a subprocess and speaks
JSON-RPC over its stdin and stdout, so stdout carries the protocol and nothing else: the models
load (and any library prints or C-level writes happen) while file descriptor 1 points at
stderr, and while serving the SDK's stdio transport keeps fd 1 pointed at stderr itself.

Imported only when the command runs (``qa.cli`` imports it lazily): it pulls in the ``mcp`` SDK
(the ``mcp`` extra) and pydantic, and ``qa --help`` stays instant.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
from collections.abc import Iterator
from pathlib import PurePosixPath
from typing import Annotated, Any

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import CallToolResult, TextContent, ToolAnnotations
from pydantic import BaseModel, Field

from index import IndexError_

from ._abstain import ABSTAIN_TEXT
from ._build_answer import retrieved_chunk
from ._errors import QAError
from ._terminal import warn
from ._types import Clarification, Turn

MAX_SEARCH_TOP_K = 50
INSTRUCTIONS = (
    "Answers questions from the user's own indexed documents. `ask` gives a grounded answer: every "
    f"claim carries an [n] marker tied to a quoted span of a document, or it says '{ABSTAIN_TEXT}' "
    "(abstained), or it asks back which one is meant (clarification). `search` lists the ranked "
    "passages themselves. Pass earlier turns as `history` to ask a follow-up."
)


class McpCitation(BaseModel):
    """One [n] of the answer: the exact span of a document it stands on."""

    n: int = Field(description="the marker number in the answer text, 1-based")
    doc: str = Field(description="document path, relative to the indexed folder")
    title: str = Field(description="the document's title (its first heading, else its name)")
    page: int | None = Field(default=None, description="1-based page, for formats with pages (PDF)")
    start: int = Field(description="character offset of the quote in the document's text")
    end: int = Field(description="end offset (exclusive): quote == document text[start:end]")
    quote: str = Field(description="the cited text, exactly as in the document")


class AskResult(BaseModel):
    """A grounded answer, a decline, or a question back."""

    text: str = Field(description=f"the answer with [n] markers, '{ABSTAIN_TEXT}', or a question back")
    abstained: bool = Field(description="true when the documents do not support an answer; nothing is cited")
    clarification: Clarification | None = Field(
        default=None,
        description="set when the question could not be pinned down and text asks back which one is meant "
        "(readings: candidates from the documents; missing: what the user should name); nothing is cited",
    )
    standalone_question: str | None = Field(
        default=None, description="how a follow-up was understood from the history, when it differs"
    )
    citations: list[McpCitation] = Field(default_factory=list, description="citations[n-1] is marker [n]")


class Passage(BaseModel):
    """A retrieved passage, located in its document."""

    rank: int = Field(description="1-based rank")
    doc: str = Field(description="document path, relative to the indexed folder")
    title: str = Field(description="the document's title")
    page: int | None = Field(default=None, description="1-based page where the passage starts (PDF)")
    start: int = Field(description="character offset of the passage in the document's text")
    end: int = Field(description="end offset (exclusive): text == document text[start:end]")
    score: float = Field(
        description="retrieval score (dense + BM25 fused by reciprocal rank); higher is better"
    )
    text: str = Field(description="the passage")


class SearchResult(BaseModel):
    """The passages the retriever ranks highest for a query."""

    query: str
    passages: list[Passage]


class QAService:
    """One warmed-up Assistant behind both tools; calls run one at a time.

    A user mistake (no index yet, an empty question, a backend that fails) is raised as a
    ``ToolError``: the client gets ``isError`` with one line, the server goes on serving. A
    missing index is looked for again on every call, so ``qa index`` run meanwhile is picked up.
    """

    def __init__(self, bot: Any) -> None:
        self.bot = bot
        self._lock = threading.Lock()
        self._warm = False

    def warm_up(self) -> str | None:
        """Load the index and models now; the one-line reason when that cannot be done yet."""
        with self._lock:
            try:
                self._ensure_warm()
            except ToolError as exc:
                return str(exc)
        return None

    def _ensure_warm(self) -> None:
        if not self._warm:
            try:
                self.bot.warm_up()
            except (QAError, IndexError_) as exc:
                raise ToolError(_one_line(exc)) from exc
            self._warm = True

    @contextlib.contextmanager
    def _call(self) -> Iterator[None]:
        with self._lock, contextlib.redirect_stdout(sys.stderr):  # a stray print never reaches the wire
            self._ensure_warm()
            try:
                yield
            except (QAError, IndexError_) as exc:
                raise ToolError(_one_line(exc)) from exc

    def ask(self, question: str, history: list[Turn] | None = None) -> CallToolResult:
        with self._call():
            answer = self.bot.answer(question, history or None)
        result = AskResult(
            text=answer.text,
            abstained=answer.abstained,
            clarification=answer.clarification,
            standalone_question=answer.standalone_question,
            citations=[
                McpCitation(
                    n=c.n, doc=c.doc, title=c.title, page=c.page, start=c.start, end=c.end, quote=c.quote
                )
                for c in answer.citations
            ],
        )
        return CallToolResult(
            content=[TextContent(type="text", text=ask_text(result))],
            structured_content=result.model_dump(mode="json"),
        )

    def search(self, query: str, top_k: int = 5) -> CallToolResult:
        query = (query or "").strip()
        if not query:
            raise ToolError("the query is empty; say what to look for in the documents")
        if not 1 <= top_k <= MAX_SEARCH_TOP_K:
            raise ToolError(f"top_k must be between 1 and {MAX_SEARCH_TOP_K}, not {top_k}")
        if len(query) > self.bot.max_question_chars:
            raise ToolError(
                f"the query is {len(query):,} characters long; the limit is {self.bot.max_question_chars:,}"
            )
        with self._call():
            for _ in range(3):  # the hits index the generation they came from: reread if it was swapped
                index = self.bot.index
                hits = self.bot.retrieve(query, top_k=top_k)
                if self.bot.index is index:
                    break
            passages = [
                Passage(
                    rank=rank,
                    page=index.documents[hit.doc].page_at(hit.start),
                    **retrieved_chunk(index, hit).model_dump(exclude={"chunk_id"}),
                )
                for rank, hit in enumerate(hits, start=1)
            ]
        result = SearchResult(query=query, passages=passages)
        return CallToolResult(
            content=[TextContent(type="text", text=search_text(result))],
            structured_content=result.model_dump(mode="json"),
        )


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


def _source(title: str, doc: str, page: int | None, start: int, end: int) -> str:
    """``Title (doc.pdf, p. 3, chars 10-80)``; the title is left out when it is only the file's name."""
    where = f"{doc}, {f'p. {page}, ' if page else ''}chars {start}-{end}"
    return where if title in ("", PurePosixPath(doc).stem) else f"{title} ({where})"


def ask_text(result: AskResult) -> str:
    """The answer as a client shows it or a model reads it: the text, then each source quoted."""
    lines = [result.text]
    if result.standalone_question:
        lines.append(f"(understood as: {result.standalone_question})")
    if result.clarification is not None:
        lines.append("(asking back: say which you mean; nothing is cited until then)")
    if result.citations:
        lines.append("")
        lines.append("Sources:")
        for c in result.citations:
            lines.append(f"[{c.n}] {_source(c.title, c.doc, c.page, c.start, c.end)}")
            lines.append(f"    \u201c{c.quote}\u201d")
    return "\n".join(lines)


def search_text(result: SearchResult) -> str:
    if not result.passages:
        return "No passages found."
    lines = []
    for p in result.passages:
        lines.append(f"{p.rank}. {_source(p.title, p.doc, p.page, p.start, p.end)}, score {p.score:.4f}")
        lines.append(f"   {p.text}")
    return "\n".join(lines)


def build_server(service: QAService, *, default_top_k: int = 5) -> MCPServer:
    """The MCP server with the two tools, bound to ``service``."""
    try:
        from importlib.metadata import version

        qa_version = version("qa-docs")
    except Exception:  # run from a checkout
        qa_version = "0.1.0"
    server = MCPServer("qa", instructions=INSTRUCTIONS, version=qa_version, log_level="WARNING")
    read_only = ToolAnnotations(read_only_hint=True, idempotent_hint=True, open_world_hint=False)

    def ask(
        question: Annotated[str, Field(description="the question, in English")],
        history: Annotated[
            list[Turn] | None,
            Field(description="earlier turns of this conversation, oldest first, for a follow-up question"),
        ] = None,
    ) -> Annotated[CallToolResult, AskResult]:
        """Answer a question from the indexed documents. The answer cites each claim with [n], tied to
        the quoted span of a document (citations), or is ABSTAIN_TEXT (abstained), or asks
        back which one is meant (clarification)."""
        return service.ask(question, history)

    ask.__doc__ = (ask.__doc__ or "").replace("ABSTAIN_TEXT", repr(ABSTAIN_TEXT))  # the tool's description

    def search(
        query: Annotated[str, Field(description="what to look for")],
        top_k: Annotated[
            int,  # bounds published, checked by search() so a wrong one is a one-line error
            Field(
                description="how many passages to return",
                json_schema_extra={"minimum": 1, "maximum": MAX_SEARCH_TOP_K},
            ),
        ] = default_top_k,
    ) -> Annotated[CallToolResult, SearchResult]:
        """Find the passages of the indexed documents that best match a query, best first, each with its
        document, title and character span (text == document text[start:end])."""
        return service.search(query, top_k)

    server.add_tool(ask, title="Ask the documents", annotations=read_only)
    server.add_tool(search, title="Search the documents", annotations=read_only)
    return server


@contextlib.contextmanager
def stdout_to_stderr() -> Iterator[None]:
    """Point fd 1 (and ``sys.stdout``) at stderr for the block, then back at the client's pipe."""
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        os.dup2(2, 1)
        with contextlib.redirect_stdout(sys.stderr):
            yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)


def serve(bot: Any, *, top_k: int = 5) -> int:
    """Warm ``bot`` up, then serve MCP over stdin/stdout until the client closes stdin."""
    service = QAService(bot)
    with stdout_to_stderr():
        problem = service.warm_up()
        server = build_server(service, default_top_k=top_k)
    if problem:
        warn(f"{problem} (serving anyway: each call reports this until it is fixed)")
    server.run("stdio")  # the transport points fd 1 at stderr while it serves
    return 0
