"""Every HTTP route served beside the web chat, assembled for Gradio's ``launch(app_kwargs=...)``:
the native API (``ui._api``), the OpenAI-compatible one (``ui._openai``) and their docs page."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._api import native_router
from ._api_base import ApiLogin, exception_handlers
from ._api_docs import docs_router
from ._guard import LoginThrottle
from ._openai import openai_router

if TYPE_CHECKING:
    from ._service import ChatService


def api_app_kwargs(
    service: ChatService, logins: list[tuple[str, str]] | None, throttle: LoginThrottle
) -> dict[str, Any]:
    """What Gradio's ``launch(app_kwargs=...)`` gets to serve the API beside the chat: the routes
    (ahead of Gradio's own), the one-line error handlers, and no FastAPI schema of Gradio's routes."""
    door = ApiLogin(logins, throttle)
    routes = [*native_router(service, door).routes, *openai_router(service, door).routes]
    routes += docs_router(routes, door).routes
    return {"routes": routes, "exception_handlers": exception_handlers(), "openapi_url": None}
