"""The API's own documentation: ``/openapi.json`` and its Swagger page ``/docs``, offline.

FastAPI's ``get_swagger_ui_html`` loads Swagger UI's script and stylesheet from a CDN, which a
machine without internet cannot reach: the page stayed blank. Here they come from the
``swagger-ui-bundle-v2`` package (Swagger UI 5's dist files; 4.x cannot render OpenAPI 3.1),
served under ``/docs/static/`` by this same server, behind the same login as the rest.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.openapi.utils import get_openapi
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse

from ._api_base import APIError, ApiLogin

STATIC = "/docs/static"
# the files the page loads, with their content types; nothing else of the package is served
ASSETS = {
    "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
    "swagger-ui.css": "text/css; charset=utf-8",
    "favicon-32x32.png": "image/png",
}
TITLE = "qa HTTP API"
DESCRIPTION = (
    "Grounded, cited answers over the indexed documents; OpenAI-compatible chat completions under "
    "/v1. With a login configured, send HTTP basic auth or `Authorization: Bearer user:password` "
    "(or the password alone)."
)


def swagger_ui_dir() -> Path:
    """Where the installed ``swagger-ui-bundle-v2`` keeps Swagger UI's dist files."""
    from swagger_ui_bundle import swagger_ui_path

    return Path(str(swagger_ui_path))


def docs_page() -> HTMLResponse:
    """FastAPI's Swagger page with every URL on this server: no CDN, no online validator."""
    return get_swagger_ui_html(
        openapi_url="/openapi.json",
        title=TITLE,
        swagger_js_url=f"{STATIC}/swagger-ui-bundle.js",
        swagger_css_url=f"{STATIC}/swagger-ui.css",
        swagger_favicon_url=f"{STATIC}/favicon-32x32.png",
        swagger_ui_parameters={"validatorUrl": None},
    )


def docs_router(routes: list[Any], door: ApiLogin) -> APIRouter:
    """``/openapi.json`` (the API's routes only, not Gradio's), its Swagger page ``/docs`` and
    the page's script, stylesheet and icon under ``/docs/static/``."""
    router = APIRouter(dependencies=[Depends(door)], include_in_schema=False)
    cache: dict[str, Any] = {}

    @router.get("/openapi.json")
    def openapi() -> JSONResponse:
        if not cache:
            cache.update(get_openapi(title=TITLE, version="1", description=DESCRIPTION, routes=routes))
            if door.logins:
                cache.setdefault("components", {})["securitySchemes"] = {
                    "basic": {"type": "http", "scheme": "basic"},
                    "bearer": {"type": "http", "scheme": "bearer"},
                }
                cache["security"] = [{"basic": []}, {"bearer": []}]
        return JSONResponse(cache)

    @router.get("/docs")
    def docs() -> HTMLResponse:
        return docs_page()

    @router.get(STATIC + "/{name}")
    def asset(name: str) -> FileResponse:
        if name not in ASSETS:
            raise APIError(404, f"name: {name!r} is not a file of the docs page")
        headers = {"Cache-Control": "public, max-age=86400"}
        return FileResponse(swagger_ui_dir() / name, media_type=ASSETS[name], headers=headers)

    return router
