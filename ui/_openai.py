"""OpenAI-compatible routes, so Open WebUI, LibreChat or any OpenAI SDK can use the assistant.

``POST /v1/chat/completions`` (plain, or Server-Sent Events with ``stream: true``) and
``GET /v1/models``: one model per generator this server can run, ``qa-extractive`` and the
LLM ones when configured; ``model`` picks the generator. The last user message is the
question, the earlier user/assistant turns are the history. The reply's content is the
answer with its ``[n]`` markers, then a ``Sources:`` list; the citations also travel as data
in ``citations`` (on the choice's ``message``, and on the last streamed chunk's ``delta``).
A clarifying question or a decline is the text alone, with no sources.

The stream carries the *verified* answer only: an LLM's draft is never sent, because a
client cannot take back text it has shown, and verification may drop sentences of it.
"""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from qa import Answer, Turn

from ._api import ERRORS, MAX_TOP_K, prepared
from ._api_base import APIError, ApiLogin, one_line

if TYPE_CHECKING:
    from ._service import ChatService

log = logging.getLogger("qa.ui.api")

PREFIX = "qa-"
SOURCES_HEADING = "\n\nSources:\n"
_WORDS_PER_CHUNK = 4


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="allow")

    role: str = Field(description="system, developer, user, assistant or tool")
    content: str | list[dict[str, Any]] | None = Field(
        default=None, description="text, or content parts (their `text` parts are read)"
    )


class ChatCompletionRequest(BaseModel):
    """OpenAI's request; fields this assistant has no use for (temperature, ...) are accepted."""

    model_config = ConfigDict(extra="allow")

    model: str | None = Field(default=None, description="qa-extractive (default), or another from /v1/models")
    messages: list[ChatMessage] = Field(min_length=1)
    stream: bool = False
    top_k: int | None = Field(default=None, ge=1, le=MAX_TOP_K, description="extension: passages to retrieve")


class SourceCitation(BaseModel):
    """Marker ``[n]`` of the content: the exact span of a document it quotes."""

    n: int
    doc: str
    title: str
    page: int | None = None
    start: int = Field(description="character offsets in the document's text")
    end: int
    quote: str = Field(description="exactly the document's text[start:end]")


class AssistantMessage(BaseModel):
    role: str = "assistant"
    content: str = Field(description="the answer with [n] markers, then 'Sources:' and one line per source")
    citations: list[SourceCitation] = Field(
        default_factory=list, description="extension: the sources as data"
    )


class Choice(BaseModel):
    index: int = 0
    message: AssistantMessage
    finish_reason: str = "stop"


class ChatCompletion(BaseModel):
    id: str
    object: str = "chat.completion"
    created: int
    model: str
    choices: list[Choice]
    usage: dict[str, int] | None = Field(default=None, description="not counted: no tokens are billed")


class Model(BaseModel):
    id: str
    object: str = "model"
    created: int = 0
    owned_by: str = "qa"


class ModelList(BaseModel):
    object: str = "list"
    data: list[Model]


def content_text(content: str | list[dict[str, Any]] | None) -> str:
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    return "".join(str(p.get("text", "")) for p in content if p.get("type", "text") == "text")


def conversation(messages: list[ChatMessage]) -> tuple[str, list[Turn]]:
    """The question (the last message, a user's) and the earlier user/assistant turns as history.

    System and tool messages are not part of the conversation; an assistant reply loses the
    sources list this server appended to it.
    """
    if messages[-1].role != "user":
        raise APIError(
            422, f"messages[{len(messages) - 1}].role: the last message must be the user's question"
        )
    turns: list[Turn] = []
    asked: str | None = None
    for m in messages[:-1]:
        text = content_text(m.content)
        if m.role == "user":
            if asked is not None:
                turns.append(Turn(question=asked))
            asked = text
        elif m.role == "assistant" and asked is not None:
            turns.append(Turn(question=asked, answer=text.split(SOURCES_HEADING, 1)[0]))
            asked = None
    if asked is not None:
        turns.append(Turn(question=asked))
    return content_text(messages[-1].content), turns


def offered(service: ChatService) -> list[str]:
    """The generators this server can run now (an LLM one only when installed and configured)."""
    from qa import GENERATOR_NAMES, QAError

    names = []
    for name in GENERATOR_NAMES:
        try:
            service.bot.generator_for(name)
        except QAError:
            continue
        names.append(name)
    return names


def generator_name(service: ChatService, model: str | None) -> str:
    from qa import GENERATOR_NAMES

    if model is None:
        return service.bot.generator.name
    name = model.removeprefix(PREFIX)
    if name not in GENERATOR_NAMES:
        models = ", ".join(PREFIX + n for n in offered(service))
        raise APIError(400, f"model: unknown model {model!r}; this server offers {models}")
    return name


def citations(answer: Answer) -> list[SourceCitation]:
    if answer.abstained or answer.clarification is not None:
        return []
    return [
        SourceCitation(**c.model_dump(include=set(SourceCitation.model_fields))) for c in answer.citations
    ]


def message_text(answer: Answer) -> str:
    """The answer, then ``[n] title (doc, p. N): "quote"`` per source; a question back or a decline alone."""
    cited = citations(answer)
    if not cited:
        return answer.text
    lines = []
    for c in cited:
        where = f"{c.doc}, p. {c.page}" if c.page else c.doc
        lines.append(f'[{c.n}] {c.title} ({where}): "{c.quote}"')
    return answer.text + SOURCES_HEADING + "\n".join(lines)


def _event(data: dict[str, Any]) -> str:
    return f"data: {json.dumps(data, ensure_ascii=False)}\n\n"


def sse(service: ChatService, ask: dict[str, Any], head: dict[str, Any]) -> Iterator[str]:
    """``chat.completion.chunk`` events: the role, the verified text a few words at a time, then
    the citations with ``finish_reason: stop``, then ``[DONE]``. A failure is an error event."""
    from qa import QAError

    def chunk(delta: dict[str, Any], finish: str | None = None) -> str:
        choice = {"index": 0, "delta": delta, "finish_reason": finish}
        return _event({**head, "object": "chat.completion.chunk", "choices": [choice]})

    yield chunk({"role": "assistant", "content": ""})
    try:
        answer = service.answer(**ask)
    except QAError as exc:
        yield _event({"error": {"message": one_line(f"could not answer: {exc}"), "type": "server_error"}})
        yield "data: [DONE]\n\n"
        return
    except Exception:  # a bug: the log has it; the client gets one line
        log.exception("streaming an answer failed")
        yield _event(
            {"error": {"message": "internal error; the server log has the details", "type": "server_error"}}
        )
        yield "data: [DONE]\n\n"
        return
    words = re.findall(r"\s*\S+", message_text(answer))
    for i in range(0, len(words), _WORDS_PER_CHUNK):
        yield chunk({"content": "".join(words[i : i + _WORDS_PER_CHUNK])})
    yield chunk({"citations": [c.model_dump(mode="json") for c in citations(answer)]}, "stop")
    yield "data: [DONE]\n\n"


def openai_router(service: ChatService, door: ApiLogin) -> APIRouter:
    router = APIRouter(
        prefix="/v1", tags=["OpenAI-compatible"], dependencies=[Depends(door)], responses=ERRORS
    )

    @router.get("/models", response_model=ModelList, summary="One model per generator this server runs")
    def models() -> ModelList:
        return ModelList(data=[Model(id=PREFIX + name) for name in offered(service)])

    @router.post(
        "/chat/completions",
        response_model=ChatCompletion,
        summary="Chat completion (OpenAI's format); `stream: true` for Server-Sent Events",
        responses={200: {"content": {"text/event-stream": {"description": "chat.completion.chunk events"}}}},
    )
    def chat_completions(body: ChatCompletionRequest):
        question, history = conversation(body.messages)
        name = generator_name(service, body.model)
        question, generator = prepared(service, question, name, "model")
        model = PREFIX + name
        ask = {"question": question, "history": history, "top_k": body.top_k, "generator": generator}
        head = {"id": f"chatcmpl-{uuid.uuid4().hex}", "created": int(time.time()), "model": model}
        if body.stream:
            headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
            return StreamingResponse(sse(service, ask, head), media_type="text/event-stream", headers=headers)
        answer = service.answer(**ask)
        message = AssistantMessage(content=message_text(answer), citations=citations(answer))
        completion = ChatCompletion(**head, choices=[Choice(message=message)])
        return JSONResponse(completion.model_dump(mode="json"))

    return router
