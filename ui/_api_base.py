"""What every HTTP API route shares: one-line JSON errors and the login check.

Every refusal is ``{"error": "FIELD: reason"}`` on one line with a 4xx status, never a stack
trace: pydantic's validation errors, ``qa.QAError`` and :class:`APIError` each have a handler.
The handlers only reshape answers to the API's own paths (``/v1/...``, ``/docs``,
``/openapi.json``); Gradio's routes keep FastAPI's usual error bodies.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import logging
from typing import Any

from fastapi import Request
from fastapi.exception_handlers import http_exception_handler, request_validation_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from ._guard import LoginThrottle

log = logging.getLogger("qa.ui.api")

API_PATHS = ("/v1/", "/docs", "/openapi.json")
CHALLENGE = {"WWW-Authenticate": 'Basic realm="qa", charset="UTF-8"'}
_MAX_ERROR = 400


class APIError(Exception):
    """A refusal with its status and one line (``"field: reason"``), answered as ``{"error": ...}``."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = one_line(message)
        self.headers = headers


class UploadTooLarge(StarletteHTTPException):
    """An upload passed a limit while its body streamed in (raised from the body's ``receive``,
    see :mod:`ui._upload_cap`): 413, its detail the whole one-line message."""

    def __init__(self, message: str) -> None:
        super().__init__(status_code=413, detail=one_line(message))


def one_line(message: str) -> str:
    """A message as one short line, its first letter lowercased unless it starts a name (PDF, BTC)."""
    text = " ".join(str(message).split())
    if text[:1].isupper() and text[1:2].islower():
        text = text[0].lower() + text[1:]
    return text if len(text) <= _MAX_ERROR else text[: _MAX_ERROR - 1].rstrip() + "…"


def error_response(status: int, message: str, headers: dict[str, str] | None = None, **extra: Any):
    return JSONResponse({"error": one_line(message), **extra}, status_code=status, headers=headers)


def _ours(request: Request) -> bool:
    path = str(request.scope.get("path", ""))
    return path.startswith(API_PATHS)


def field_name(loc: tuple | list) -> str:
    """``("body", "history", 0, "answer")`` as ``history[0].answer``; the body itself as ``body``."""
    parts = list(loc[1:] if loc and loc[0] in ("body", "query", "path", "header") else loc)
    name = ""
    for part in parts:
        name += f"[{part}]" if isinstance(part, int) else (f".{part}" if name else str(part))
    return name or "body"


def describe(errors: list[dict[str, Any]]) -> str:
    """The first validation error as ``field: reason`` (and how many more there are)."""
    if not errors:
        return "body: invalid request"
    first = errors[0]
    kind, field = first.get("type", ""), field_name(first.get("loc", ()))
    if kind == "missing":
        reason = "is required"
    elif kind == "json_invalid":
        field, reason = "body", f"is not valid JSON ({first.get('ctx', {}).get('error', 'parse error')})"
    elif kind == "extra_forbidden":
        reason = "is not a field of this request"
    else:
        reason = one_line(str(first.get("msg", "is invalid")))
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return f"{field}: {reason}{more}"


async def on_validation_error(request: Request, exc: RequestValidationError):
    if not _ours(request):
        return await request_validation_exception_handler(request, exc)
    return error_response(422, describe(list(exc.errors())))


async def on_http_error(request: Request, exc: StarletteHTTPException):
    if not _ours(request):
        return await http_exception_handler(request, exc)
    reason = exc.detail if isinstance(exc.detail, str) else "refused"
    return error_response(exc.status_code, f"{request.method} {request.url.path}: {reason}", exc.headers)


async def on_api_error(request: Request, exc: APIError):
    return error_response(exc.status, exc.message, exc.headers)


async def on_upload_too_large(request: Request, exc: UploadTooLarge):
    return error_response(exc.status_code, str(exc.detail))


async def on_qa_error(request: Request, exc: Exception):
    """A QAError no route turned into a 4xx (the index or an LLM backend failing): 503, one line."""
    return error_response(503, f"could not answer: {exc}")


async def on_unexpected(request: Request, exc: Exception):
    """A bug: the log has the traceback, the client one line (Gradio's routes: Starlette's text)."""
    if not _ours(request):
        return PlainTextResponse("Internal Server Error", status_code=500)
    log.error("%s %s failed", request.method, request.url.path, exc_info=exc)
    return error_response(500, "internal error; the server log has the details")


def exception_handlers() -> dict[Any, Any]:
    """For ``FastAPI(exception_handlers=...)`` (passed through Gradio's ``app_kwargs``)."""
    from qa import QAError

    return {
        RequestValidationError: on_validation_error,
        StarletteHTTPException: on_http_error,
        APIError: on_api_error,
        UploadTooLarge: on_upload_too_large,
        QAError: on_qa_error,
        Exception: on_unexpected,
    }


class ApiLogin:
    """The API's door: with logins configured (``qa serve --auth-file`` / ``$QA_AUTH``) every
    request carries one, as HTTP basic auth (``user:password``) or ``Authorization: Bearer
    TOKEN`` where TOKEN is ``user:password`` or a login's password (what OpenAI clients send as
    their API key). Wrong credentials count in the web chat's login throttle: after
    ``LOGIN_FAILURES`` within the window a client address gets 429 until it is over.
    """

    def __init__(self, logins: list[tuple[str, str]] | None, throttle: LoginThrottle | None = None):
        self.logins = list(logins or [])
        self.throttle = throttle or LoginThrottle()

    def _valid(self, authorization: str) -> bool:
        scheme, _, value = authorization.strip().partition(" ")
        value = value.strip()
        if scheme.lower() == "basic":
            try:
                pair = base64.b64decode(value, validate=True).decode("utf-8")
            except (binascii.Error, UnicodeDecodeError):
                return False
            candidates = [f"{user}:{password}" for user, password in self.logins]
        elif scheme.lower() == "bearer":
            pair = value
            candidates = [f"{user}:{password}" for user, password in self.logins]
            candidates += [password for _, password in self.logins]
        else:
            return False
        given = pair.encode()
        matches = [hmac.compare_digest(given, c.encode()) for c in candidates]  # no early exit
        return any(matches)

    def check(self, authorization: str | None, client: str) -> None:
        """Nothing when the request may pass; :class:`APIError` (401 or 429) otherwise."""
        if not self.logins:
            return
        wait = self.throttle.retry_after(client)
        if wait > 0:
            seconds = max(1, round(wait))
            raise APIError(
                429,
                f"authorization: too many failed logins from {client}; try again in {seconds} s",
                {"Retry-After": str(seconds)},
            )
        if not authorization:
            raise APIError(
                401,
                "authorization: a login is required (HTTP basic auth, or Authorization: Bearer "
                "user:password)",
                CHALLENGE,
            )
        if not self._valid(authorization):
            self.throttle.failed(client)
            raise APIError(401, "authorization: wrong user or password", CHALLENGE)
        self.throttle.succeeded(client)

    async def __call__(self, request: Request) -> None:
        """The FastAPI dependency every API route has."""
        client = request.client.host if request.client else "unknown"
        self.check(request.headers.get("authorization"), client)
