"""The web chat in a real browser (Debian's chromium through Playwright).

Not skipped when chromium is missing: ``make test`` installs it, so a missing browser
is a broken setup and fails loudly.
"""

from __future__ import annotations

import os
import shutil
from urllib.parse import urlparse

import pytest
from _uihelpers import OIL_Q, OIL_QUOTE

CHROMIUM = os.environ.get("QA_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
TIMEOUT_MS = 60_000  # a shared 2-core machine can be slow; these are upper bounds, not targets

XSS_DOC = (
    "Zephyr pump manual.\n\n"
    "The Zephyr valve must be inspected every 90 days <script>window.__pwned=1</script> by a "
    "certified inspector.\n\nInspectors log each check in the green binder."
)
XSS_Q = "How often must the Zephyr valve be inspected?"


@pytest.fixture(scope="module")
def browser():
    if not (os.path.exists(CHROMIUM) or shutil.which("chromium")):
        pytest.fail(
            f"chromium not found at {CHROMIUM}: run `make test` as root (it installs it) or "
            "`apt-get install -y chromium`",
            pytrace=False,
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture()
def page(browser, server):
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    pg = context.new_page()
    pg.set_default_timeout(TIMEOUT_MS)
    pg.requests = []  # every URL the page asks for
    pg.on("request", lambda r: pg.requests.append(r.url))
    pg.goto(server.url, wait_until="domcontentloaded")
    pg.wait_for_selector("#qa-question textarea")
    yield pg
    context.close()


def _ask(page, question: str, turn: int) -> None:
    page.fill("#qa-question textarea", question)
    page.click("#qa-ask")
    # the reply to turn t is finished when its sources panel is in place and the box is clear
    page.wait_for_selector(f'#qa-chat a.qa-cite[href="#src-{turn}-1"]')
    page.wait_for_selector(f"#src-{turn}-1 mark")


def _in_viewport(locator) -> bool:
    return locator.evaluate(
        "e => { const r = e.getBoundingClientRect();"
        " return r.height > 0 && r.top >= 0 && r.bottom <= window.innerHeight; }"
    )


def test_click_on_citation_shows_the_highlighted_passage(page, server, tmp_path):
    _ask(page, "Where will the hot-briquetted-iron plant be located?", 0)
    _ask(page, OIL_Q, 1)
    reply = page.locator("#qa-chat .bot").last
    assert "3.4 million tons" in reply.inner_text()

    # the earlier answer's [1]: the panel switches to that answer and brings its passage into view
    page.locator('#qa-chat a.qa-cite[href="#src-0-1"]').click()
    mark = page.locator("#src-0-1 mark")
    mark.wait_for()
    page.wait_for_function(
        "() => { const m = document.querySelector('#src-0-1 mark');"
        " const r = m && m.getBoundingClientRect();"
        " return r && r.top >= 0 && r.bottom <= window.innerHeight; }"
    )
    assert "Shamkir" in mark.inner_text()

    # and the latest answer's [1]: its exact quote, highlighted and visible
    page.locator('#qa-chat a.qa-cite[href="#src-1-1"]').click()
    mark = page.locator("#src-1-1 mark")
    mark.wait_for()
    page.wait_for_function(
        "() => { const m = document.querySelector('#src-1-1 mark');"
        " const r = m && m.getBoundingClientRect();"
        " return r && r.top >= 0 && r.bottom <= window.innerHeight; }"
    )
    assert mark.inner_text().strip() == OIL_QUOTE
    assert _in_viewport(mark)
    shot = tmp_path / "citation-click.png"
    page.screenshot(path=str(shot))
    assert shot.stat().st_size > 10_000

    foreign = {urlparse(u).hostname for u in page.requests if urlparse(u).hostname != "127.0.0.1"}
    assert not foreign - {None}, f"the page fetched from the internet: {sorted(foreign)}"


def test_example_question_then_abstention_then_new_chat(page, server, monkeypatch):
    # a first-time user clicks an example, then asks the next question while it streams
    monkeypatch.setattr(server.service, "stream_delay", 0.05)  # about a second of streaming
    page.get_by_text("Where was the 12th OTS Summit held?").click()
    page.wait_for_selector("#qa-chat .bot")
    page.fill("#qa-question textarea", "What is the recipe for plov?")
    page.press("#qa-question textarea", "Enter")
    page.wait_for_selector("#qa-chat .qa-abstain")
    page.wait_for_function("() => document.querySelectorAll('#qa-chat .bot').length === 2")
    page.wait_for_function(
        "() => document.querySelector('#qa-sources').innerText.includes('Sources for answer 2')"
    )
    bots = page.locator("#qa-chat .bot")
    assert "Gabala" in bots.nth(0).inner_text()
    assert "do not say" in bots.nth(1).locator(".qa-abstain").inner_text()
    assert "No passage supports an answer" in page.locator("#qa-sources").inner_text()

    page.click("#qa-new")
    page.wait_for_selector("#qa-chat .qa-abstain", state="detached")
    assert "appear here" in page.locator("#qa-sources").inner_text()


def test_document_with_script_shows_as_text(page, server, tmp_path):
    doc = tmp_path / "zephyr.txt"
    doc.write_text(XSS_DOC, encoding="utf-8")
    page.get_by_role("tab", name="Documents").click()
    page.locator("#qa-upload input[type=file]").set_input_files(str(doc))
    page.wait_for_selector("#qa-doc-status .qa-ok")
    assert "added zephyr.txt" in page.locator("#qa-doc-status").inner_text()
    page.wait_for_selector("#qa-docs :text('zephyr.txt')")

    page.get_by_role("tab", name="Chat").click()
    _ask(page, XSS_Q, 0)
    page.locator('#qa-chat a.qa-cite[href="#src-0-1"]').click()
    sources = page.locator("#qa-sources")
    assert "<script>window.__pwned=1</script>" in sources.inner_text()
    assert "<script>" in page.locator("#qa-chat .bot").last.inner_text()
    assert page.evaluate("() => typeof window.__pwned") == "undefined"
    assert page.locator("#qa-sources script, #qa-chat script").count() == 0

    # leave the shared server as we found it
    status, _, _, _ = server.client().predict("zephyr.txt", api_name="/remove_document")
    assert "removed zephyr.txt" in status


def test_upload_of_an_unsupported_type_is_refused_in_the_page(page, server, tmp_path):
    """The picker offers only the indexable types; a file given anyway is refused with a message."""
    page.get_by_role("tab", name="Documents").click()
    accept = page.locator("#qa-upload input[type=file]").get_attribute("accept") or ""
    assert ".pdf" in accept and ".docx" in accept and ".csv" not in accept
    table = tmp_path / "tonnage.csv"
    table.write_text("port,tons\nAktau,3400000\n", encoding="utf-8")
    page.locator("#qa-upload input[type=file]").set_input_files(str(table))
    message = page.wait_for_selector("text=/unsupported|Invalid file type/i").inner_text()
    assert "tonnage.csv" in message and "\n" not in message.strip()  # Gradio's own one-line check
    assert not (server.docs / "tonnage.csv").exists()
    assert "Traceback" not in page.content()


def test_swagger_page_renders_the_api_offline(browser, server):
    """/docs with every request to another host refused, as on a machine without internet:
    Swagger UI (served by this server) still lists the API's operations."""
    context = browser.new_context()
    refused: list[str] = []

    def offline(route) -> None:
        if urlparse(route.request.url).hostname == "127.0.0.1":
            route.continue_()
        else:
            refused.append(route.request.url)
            route.abort()

    context.route("**/*", offline)
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    try:
        page.goto(server.url + "docs", wait_until="domcontentloaded")
        page.wait_for_selector('.opblock-summary-path[data-path="/v1/answer"]')
        shown = page.locator(".opblock-summary-path")  # the path as text, with a <wbr> at each /
        paths = {shown.nth(i).inner_text().replace("\u200b", "") for i in range(shown.count())}
        assert {"/v1/answer", "/v1/documents", "/v1/chat/completions"} <= paths
        assert "Unable to render" not in page.content()
    finally:
        context.close()
    assert not refused, f"the docs page reached for the internet: {refused}"
