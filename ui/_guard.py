"""The web chat's doors, checked in front of Gradio: the upload endpoint and the login route.

Gradio's ``/gradio_api/upload`` stores files of any type, and its ``/login`` answers every
guess at full speed. This ASGI middleware (passed to ``launch(app_kwargs=...)``, Gradio's
public way to configure its FastAPI app) refuses upload types the chat cannot index,
removes what such an upload wrote, turns the size cap's 413 into a one-line message, and
answers 429 to a client after too many failed logins.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable, MutableMapping
from pathlib import Path
from typing import Any

from ._uploads import discard_upload

LOGIN_FAILURES = 5  # failed logins allowed per client within LOGIN_WINDOW_S
LOGIN_WINDOW_S = 60.0

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class LoginThrottle:
    """Failed logins per client address in a sliding window; thread-safe, in memory."""

    def __init__(
        self,
        limit: int = LOGIN_FAILURES,
        window_s: float = LOGIN_WINDOW_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limit = limit
        self.window_s = window_s
        self._clock = clock
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, client: str, now: float) -> deque[float]:
        times = self._failures.setdefault(client, deque())
        while times and now - times[0] >= self.window_s:
            times.popleft()
        return times

    def retry_after(self, client: str) -> float:
        """Seconds until ``client`` may try again; 0 when it may try now."""
        now = self._clock()
        with self._lock:
            times = self._recent(client, now)
            if len(times) < self.limit:
                if not times:
                    self._failures.pop(client, None)
                return 0.0
            return max(0.0, self.window_s - (now - times[-self.limit]))

    def failed(self, client: str) -> None:
        now = self._clock()
        with self._lock:
            self._recent(client, now).append(now)

    def succeeded(self, client: str) -> None:
        with self._lock:
            self._failures.pop(client, None)


async def _reply(
    send: Send, status: int, body: bytes, content_type: bytes, extra: list | None = None
) -> None:
    headers = [(b"content-type", content_type), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers + (extra or [])})
    await send({"type": "http.response.body", "body": body})


async def _text(send: Send, status: int, message: str, extra: list | None = None) -> None:
    await _reply(send, status, message.encode(), b"text/plain; charset=utf-8", extra)


class DoorGuard:
    """ASGI middleware: checked uploads and throttled logins; every other request passes untouched."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        allowed_suffixes: tuple[str, ...],
        max_upload_mb: float,
        throttle: LoginThrottle | None = None,
    ) -> None:
        self.app = app
        self.allowed = tuple(s.lower() for s in allowed_suffixes)
        self.max_upload_mb = max_upload_mb
        self.throttle = throttle or LoginThrottle()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("method") != "POST":
            await self.app(scope, receive, send)
            return
        path = str(scope.get("path", "")).rstrip("/")
        if path.endswith("/gradio_api/upload"):
            await self._upload(scope, receive, send)
        elif path.endswith("/login"):
            await self._login(scope, receive, send)
        else:
            await self.app(scope, receive, send)

    async def _captured(self, scope: Scope, receive: Receive) -> tuple[Message, bytes]:
        """Run Gradio's handler (and its background tasks) and keep its whole response."""
        start: Message = {"type": "http.response.start", "status": 500, "headers": []}
        body: list[bytes] = []

        async def capture(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                start = message
            elif message["type"] == "http.response.body":
                body.append(message.get("body", b""))

        await self.app(scope, receive, capture)
        return start, b"".join(body)

    async def _upload(self, scope: Scope, receive: Receive, send: Send) -> None:
        start, body = await self._captured(scope, receive)
        status = start["status"]
        if status == 413:
            await _text(send, 413, f"Upload refused: the limit is {self.max_upload_mb:g} MB per file.")
            return
        if status == 200:
            try:
                paths = [str(p) for p in json.loads(body)]
            except (ValueError, TypeError):
                paths = []
            bad = [p for p in paths if Path(p).suffix.lower() not in self.allowed]
            if bad:
                for p in paths:  # the whole request is refused: nothing of it stays on disk
                    discard_upload(p)
                name = Path(bad[0]).name
                suffix = Path(bad[0]).suffix.lower() or "(no extension)"
                kinds = ", ".join(s for s in self.allowed if s != ".htm")
                await _text(send, 415, f"{name}: unsupported file type {suffix}; upload one of {kinds}")
                return
        await send(start)
        await send({"type": "http.response.body", "body": body})

    async def _login(self, scope: Scope, receive: Receive, send: Send) -> None:
        client = (scope.get("client") or ("unknown",))[0]
        wait = self.throttle.retry_after(client)
        if wait > 0:
            seconds = max(1, round(wait))
            message = f"Too many failed logins from {client}; try again in {seconds} s."
            body = json.dumps({"detail": message}).encode()
            await _reply(send, 429, body, b"application/json", [(b"retry-after", str(seconds).encode())])
            return
        start, body = await self._captured(scope, receive)
        if start["status"] in (400, 401, 403):
            self.throttle.failed(client)
        elif 200 <= start["status"] < 300:
            self.throttle.succeeded(client)
        await send(start)
        await send({"type": "http.response.body", "body": body})


def guard_middleware(max_upload_mb: float, throttle: LoginThrottle | None = None) -> Any:
    """The ``starlette`` Middleware entry for ``launch(app_kwargs={"middleware": [...]})``;
    ``throttle`` is shared with the HTTP API's login check, so both doors count one client's failures."""
    from starlette.middleware import Middleware

    from qa import SUPPORTED_SUFFIXES

    return Middleware(
        DoorGuard,
        allowed_suffixes=tuple(SUPPORTED_SUFFIXES),
        max_upload_mb=max_upload_mb,
        throttle=throttle,
    )
