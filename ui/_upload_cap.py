"""POST /v1/documents reads no more of a body than it may keep.

FastAPI parses a multipart body before the route runs, spooling each file to a temp file, so
the per-file limit (``--max-upload-mb``) checked afterwards came too late: a 5 GB upload was
read in full first. :class:`UploadCap` wraps that one route's ASGI app (through
:func:`capped_route`, FastAPI's ``route_class`` hook) and, before a byte of the body is read,
checks the login and ``Content-Length``; then, while the body streams in (chunked ones too), it
counts each part's bytes between the multipart boundaries and the request's in all, and stops at
the first one over its limit: a 413 with one line naming the file and the limit. Starlette's
parser closes (and so deletes) the temp files it had started when reading fails, and the route's
own temp folder is never made, so nothing refused stays on disk.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fastapi.routing import APIRoute
from starlette.datastructures import Headers

from ._api_base import APIError, ApiLogin, UploadTooLarge, error_response
from ._guard import ASGIApp, Message, Receive, Scope, Send
from ._uploads import human_size

MAX_UPLOAD_FILES = 10  # files one request may carry, each up to the per-file limit
PART_HEAD_MAX = 16_384  # a part's own headers (its field name, file name and type)
_FILENAME = re.compile(rb'filename\*?="?([^";\r\n]*)')


@dataclass(frozen=True)
class UploadLimits:
    """The per-file limit in bytes (and as the MB the user set), and what follows from it."""

    file_bytes: int
    file_mb: float

    @property
    def request_bytes(self) -> int:
        """A full request: every file at its limit, with its part headers and the boundaries."""
        return MAX_UPLOAD_FILES * (self.file_bytes + PART_HEAD_MAX) + PART_HEAD_MAX

    def per_request(self) -> str:
        return f"a request may carry {MAX_UPLOAD_FILES} files of at most {self.file_mb:g} MB each"


class PartCounter:
    """Bytes per multipart part (between two boundaries), fed the body chunk by chunk.

    Finds the delimiter also where two chunks split it, keeps each part's first bytes (its
    headers, for the file name), and raises :class:`UploadTooLarge` as soon as a part's content
    passes the per-file limit or a request holds more than :data:`MAX_UPLOAD_FILES` files.
    """

    def __init__(self, boundary: bytes, limits: UploadLimits) -> None:
        self.delimiter = b"--" + boundary
        self.limits = limits
        self._tail = b""  # the last bytes seen (already counted), in case they start a delimiter
        self._size = 0  # bytes of the current part so far, its headers included
        self._head = b""  # the current part's first bytes: its headers, then some content
        self._counted = False  # whether the current part's headers were read for a file name
        self._files = 0

    def feed(self, data: bytes) -> None:
        buf = self._tail + data
        pieces = buf.split(self.delimiter)
        if len(pieces) == 1:
            self._grow(data)
        else:  # the tail's bytes were counted already; those that began the delimiter are not the part's
            self._size += len(pieces[0]) - len(self._tail)
            for piece in pieces[1:]:
                self._check(closed=True)
                self._size, self._head, self._counted = 0, b"", False
                self._grow(piece)
        self._tail = buf[-(len(self.delimiter) - 1) :]
        self._check(closed=False)

    def _grow(self, data: bytes) -> None:
        self._size += len(data)
        if len(self._head) < PART_HEAD_MAX:
            self._head += data[: PART_HEAD_MAX - len(self._head)]

    def _check(self, closed: bool) -> None:
        """Refuse the current part when it is over a limit. Its last bytes are the CRLF before the
        next delimiter, and while it is open (``closed`` False) they may also be that delimiter's
        start: those do not count as the file's."""
        end = self._head.find(b"\r\n\r\n")
        if end < 0:
            if len(self._head) >= PART_HEAD_MAX:
                raise UploadTooLarge(f"files: a part's headers are over {PART_HEAD_MAX // 1024} KB")
            return
        name = _FILENAME.search(self._head[:end])
        if not self._counted:
            self._counted = True
            self._files += 1 if name else 0
            if self._files > MAX_UPLOAD_FILES:
                raise UploadTooLarge(f"files: {self.limits.per_request()}")
        content = self._size - (end + 4) - 2 - (0 if closed else len(self.delimiter) - 1)
        if content > self.limits.file_bytes:
            shown = name.group(1).decode("utf-8", "replace") if name else "a file"
            raise UploadTooLarge(
                f"files: {shown} is larger than {self.limits.file_mb:g} MB; "
                f"the limit is {self.limits.file_mb:g} MB per file"
            )


def multipart_boundary(headers: Headers) -> bytes | None:
    """The ``boundary`` of a ``multipart/form-data`` content type, None for any other body."""
    kind, _, params = headers.get("content-type", "").partition(";")
    if kind.strip().lower() != "multipart/form-data":
        return None
    match = re.search(r'boundary="?([^";]+)"?', params)
    return match.group(1).strip().encode("latin-1") if match else None


class UploadCap:
    """ASGI wrapper of the upload route: login, then ``Content-Length``, then the streamed body."""

    def __init__(self, app: ASGIApp, limits: Callable[[], UploadLimits], door: ApiLogin) -> None:
        self.app = app
        self.limits = limits
        self.door = door

    def _refusal(self, headers: Headers, client: str, limits: UploadLimits) -> APIError | None:
        """Why the request is refused before its body is read, if it is."""
        try:
            self.door.check(headers.get("authorization"), client)
        except APIError as exc:
            return exc
        try:
            length = int(headers.get("content-length", ""))
        except ValueError:
            return None
        if length > limits.request_bytes:
            return APIError(413, f"files: this upload is {human_size(length)}; {limits.per_request()}")
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("method") != "POST":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        limits = self.limits()
        refusal = self._refusal(headers, (scope.get("client") or ("unknown",))[0], limits)
        if refusal is not None:
            response = error_response(refusal.status, refusal.message, refusal.headers)
            await response(scope, receive, send)
            return
        boundary = multipart_boundary(headers)
        parts = PartCounter(boundary, limits) if boundary else None
        total = 0

        async def capped() -> Message:
            nonlocal total
            message = await receive()
            if message["type"] == "http.request":
                body = message.get("body", b"")
                total += len(body)
                if total > limits.request_bytes:
                    raise UploadTooLarge(
                        f"files: this upload is over {human_size(total)}; {limits.per_request()}"
                    )
                if parts is not None:
                    parts.feed(body)
            return message

        await self.app(scope, capped, send)


def capped_route(limits: Callable[[], UploadLimits], door: ApiLogin) -> type[APIRoute]:
    """An APIRoute class whose app is wrapped in :class:`UploadCap` (for ``route_class_override``)."""

    class CappedUploadRoute(APIRoute):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.app = UploadCap(self.app, limits, door)

    return CappedUploadRoute
