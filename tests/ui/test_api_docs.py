"""The Swagger page at /docs works offline: every script, stylesheet and icon it loads comes
from this same server (the in-process one of tests/ui/conftest.py, the API beside the chat)."""

from __future__ import annotations

from html.parser import HTMLParser
from urllib.parse import urljoin, urlparse

import httpx

EXPECTED_TYPES = {".js": "text/javascript", ".css": "text/css", ".png": "image/png"}


class _Links(HTMLParser):
    """Every URL the page loads: script src, link href, img src."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        wanted = {"script": "src", "link": "href", "img": "src"}.get(tag)
        self.urls += [v for k, v in attrs if k == wanted and v]


def test_docs_page_loads_only_from_this_server(server):
    with httpx.Client(base_url=server.url, timeout=30) as http:
        page = http.get("/docs")
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        links = _Links()
        links.feed(page.text)
        assert len(links.urls) >= 3, links.urls  # script, stylesheet, icon
        assert "cdn.jsdelivr" not in page.text and "validator.swagger.io" not in page.text
        for url in links.urls:
            absolute = urlparse(urljoin(server.url, url))
            assert (absolute.hostname, absolute.port) == ("127.0.0.1", urlparse(server.url).port), url
            r = http.get(url)
            assert r.status_code == 200, (url, r.text[:200])
            suffix = "." + url.rsplit(".", 1)[-1]
            assert r.headers["content-type"].startswith(EXPECTED_TYPES[suffix]), (url, r.headers)
            assert len(r.content) > 500
        assert "SwaggerUIBundle" in http.get("/docs/static/swagger-ui-bundle.js").text
        r = http.get("/docs/static/swagger-ui-bundle.js.map")
        assert r.status_code == 404 and r.json()["error"].startswith(
            "name: 'swagger-ui-bundle.js.map' is not"
        )
        assert http.get("/openapi.json").json()["openapi"].startswith("3.1")
