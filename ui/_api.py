"""The HTTP API on the web chat's own port: answers, documents and health under ``/v1``.

Mounted into Gradio's FastAPI app through ``launch(app_kwargs=...)`` (routes, exception
handlers), so ``qa serve`` serves the chat, this API and the OpenAI-compatible routes
(:mod:`ui._openai`) at one address. Every route goes through the same :class:`ChatService`
as the chat: the same Assistant and answering lock, the same checked uploads and indexing
(:class:`ui._docs.Library`). Each request passes its generator and top-k into its own call.
The schema is at ``/openapi.json``, the Swagger page at ``/docs`` (:mod:`ui._api_docs`).
"""

from __future__ import annotations

import shutil
import tempfile
from collections import deque
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, Depends, File, UploadFile
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from qa import Answer, Turn

from ._api_base import APIError, ApiLogin, UploadTooLarge, one_line
from ._docs import Progress, UnknownDocument
from ._upload_cap import MAX_UPLOAD_FILES, UploadLimits, capped_route

if TYPE_CHECKING:
    from ._service import ChatService

MAX_TOP_K = 50
MAX_HISTORY = 100
ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"description": why, "content": {"application/json": {"example": {"error": example}}}}
    for code, why, example in (
        (400, "an unknown or unavailable generator", "generator: unknown answer generator 'x'; ..."),
        (401, "a login is configured and the request has none, or a wrong one", "authorization: ..."),
        (422, "a missing, mistyped, empty or over-long field", "question: is required"),
        (429, "too many failed logins from this address", "authorization: too many failed logins ..."),
        (503, "nothing is indexed yet, or answering failed", "could not answer: ..."),
    )
}


class AnswerRequest(BaseModel):
    """A question, with the conversation so far for follow-ups."""

    model_config = ConfigDict(extra="forbid", strict=True)

    question: str = Field(description="the question; at most the server's --max-question-chars")
    history: list[Turn] = Field(
        default_factory=list,
        max_length=MAX_HISTORY,
        description="earlier turns, oldest first, as {question, answer}",
    )
    top_k: int | None = Field(default=None, ge=1, le=MAX_TOP_K, description="passages to retrieve")
    generator: str | None = Field(
        default=None, description="extractive (default), openai-like or llamacpp, when configured"
    )


class DocumentInfo(BaseModel):
    name: str = Field(description="path relative to the documents folder; DELETE /v1/documents/{name}")
    title: str
    chunks: int = Field(description="passages indexed")
    pages: int | None = Field(description="pages, for formats that have them")
    chars: int = Field(description="characters of extracted text")


class DocumentList(BaseModel):
    documents: list[DocumentInfo]


class FileResult(BaseModel):
    name: str = Field(description="the file name as uploaded")
    status: str = Field(description="added, unchanged, unsupported, too_large, unreadable or failed")
    saved_as: str | None = Field(default=None, description="its name in the documents folder")
    reason: str | None = Field(
        default=None, description="why it was not added; for unchanged, that it is there already"
    )


class UploadResult(BaseModel):
    message: str = Field(description="the status line the web chat shows for the same upload")
    files: list[FileResult]
    documents: int = Field(description="documents indexed now")


class RemoveResult(BaseModel):
    removed: str
    message: str
    documents: int


class Health(BaseModel):
    status: str = "ok"
    documents: int
    chunks: int
    reader: str | None = Field(description="version of the shipped reader")


def prepared(service: ChatService, question: str, generator: Any, field: str) -> tuple[str, Any]:
    """The checked question and this call's generator, or an :class:`APIError` naming the field."""
    from qa import QAError

    try:
        question = service.bot.check_question(question)
    except QAError as exc:
        raise APIError(422, f"question: {exc}") from exc
    try:
        generator = service.bot.generator_for(generator)
    except QAError as exc:
        raise APIError(400, f"{field}: {exc}") from exc
    if service.n_documents() == 0:
        why = "being indexed; ask again in a moment" if service.library.busy else "indexed yet"
        raise APIError(503, f"no documents are {why} (add some with POST /v1/documents)")
    return question, generator


def last(progress: Iterator[Progress]) -> Progress:
    """Run a Library job to its end: its last update is the outcome."""
    tail = deque(progress, maxlen=1)
    return tail[0] if tail else Progress("nothing happened", done=True, ok=False)


def _upload_status(files: list[FileResult]) -> int:
    """200 when a file went in (or was there already); else the refusal all of them share."""
    if not files or any(f.status in ("added", "unchanged") for f in files):
        return 200
    kinds = {f.status for f in files}
    return {"unsupported": 415, "too_large": 413}.get(kinds.pop(), 422) if len(kinds) == 1 else 422


def upload_documents(service: ChatService, files: list[UploadFile]) -> JSONResponse:
    """``POST /v1/documents``: the files saved aside, added through the Library, one result each."""
    if len(files) > MAX_UPLOAD_FILES:  # the streamed count's backstop, whatever the chunking
        limits = UploadLimits(service.library.max_bytes, service.library.max_upload_mb)
        raise UploadTooLarge(f"files: {limits.per_request()}")
    with tempfile.TemporaryDirectory(prefix="qa-api-upload-") as tmp:
        pairs = []
        for i, f in enumerate(files):
            path = Path(tmp) / str(i)
            with path.open("wb") as out:
                shutil.copyfileobj(f.file, out)
            pairs.append((path, f.filename or "document"))
        final = last(service.library.add(pairs))
    results = [
        FileResult(name=o.name, status=o.status, saved_as=o.saved_as, reason=o.reason) for o in final.files
    ]
    body = UploadResult(message=final.message, files=results, documents=service.n_documents())
    status = _upload_status(results)
    if status != 200:
        first = next((r.reason for r in results if r.reason), "no file was added")
        return JSONResponse({"error": f"files: {first}", **body.model_dump(mode="json")}, status)
    return JSONResponse(body.model_dump(mode="json"))


def native_router(service: ChatService, door: ApiLogin) -> APIRouter:
    """The routes under ``/v1``, each behind ``door`` (the login, when one is configured)."""
    router = APIRouter(prefix="/v1", tags=["qa"], dependencies=[Depends(door)], responses=ERRORS)

    @router.post("/answer", response_model=Answer, summary="Answer a question, with citations")
    def answer(body: AnswerRequest) -> JSONResponse:
        """Exactly the `Answer` JSON that `qa ask --json` prints."""
        question, generator = prepared(service, body.question, body.generator, "generator")
        result = service.answer(question, body.history, body.top_k, generator)
        return JSONResponse(result.model_dump(mode="json"))

    @router.get("/documents", response_model=DocumentList, summary="The indexed documents")
    def documents() -> DocumentList:
        return DocumentList(
            documents=[
                DocumentInfo(name=d.key, title=d.title, chunks=d.chunks, pages=d.pages, chars=d.chars)
                for d in service.library.documents()
            ]
        )

    def upload(
        files: Annotated[list[UploadFile], File(description=".txt .md .html .pdf .docx .png .jpg .jpeg")],
    ) -> JSONResponse:
        """The web chat's upload: the same checks (type, size, readable), names and indexing run.
        A body over the limits is refused as it streams in, before it is all read (413)."""
        return upload_documents(service, files)

    router.add_api_route(
        "/documents",
        upload,
        methods=["POST"],
        response_model=UploadResult,
        summary="Upload documents (multipart field `files`, one or more) and index them",
        responses={
            413: {"description": f"a file over --max-upload-mb, or more than {MAX_UPLOAD_FILES} files"},
            415: {"description": "unsupported types"},
        },
        route_class_override=capped_route(
            lambda: UploadLimits(service.library.max_bytes, service.library.max_upload_mb), door
        ),
    )

    @router.delete(
        "/documents/{name:path}",
        response_model=RemoveResult,
        summary="Remove a document from the folder and the index",
        responses={404: {"description": "no such document"}},
    )
    def remove(name: str) -> RemoveResult:
        try:
            service.library.locate(name)
        except UnknownDocument as exc:
            raise APIError(404, f"name: {one_line(str(exc))}") from exc
        final = last(service.library.remove(name))
        if not final.ok:
            raise APIError(500, final.message)
        return RemoveResult(removed=name, message=final.message, documents=service.n_documents())

    @router.get("/health", response_model=Health, summary="Documents and passages indexed, reader version")
    def health() -> Health:
        from qa._reader import reader_version

        docs = service.library.documents()
        return Health(documents=len(docs), chunks=sum(d.chunks for d in docs), reader=reader_version())

    return router
