"""A real `qa serve --watch`: files added, edited, renamed and deleted in its folder become
answerable (or gone) through the HTTP API, and the Documents tab follows without a click."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import _servers
import httpx
import pytest
from _uihelpers import free_port, qa_serve

LIMIT = 90.0  # seconds per change: generous for a loaded 2-core machine (a change takes ~2 s)
KILN = "The Ostrava glass kiln of the Pellam works runs at 1,460 degrees for nine hours."
LIGHTHOUSE = "The Quillan lighthouse on Dremmel Point has 207 steps and was first lit in 1887."
LIGHTHOUSE_EDITED = "The Quillan lighthouse on Dremmel Point has 309 steps and was first lit in 1887."
QUESTION = "How many steps does the Quillan lighthouse have?"
FERRY = "The Brannock ferry carries 65 cars on each crossing of the Lusk estuary."


@dataclass
class Watched:
    docs: Path
    log: Path
    http: httpx.Client
    url: str

    def names(self) -> set[str]:
        return {d["name"] for d in self.http.get("/v1/documents").json()["documents"]}

    def answer(self) -> dict:
        r = self.http.post("/v1/answer", json={"question": QUESTION})
        assert r.status_code == 200, r.text
        return r.json()

    def cited(self) -> set[str]:
        return {c["doc"] for c in self.answer()["citations"]}

    def logged(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")


def wait_until(what: str, check: Callable[[], bool], limit: float = LIMIT) -> None:
    _servers.wait_until(what, check, limit, every=0.25)


@pytest.fixture(scope="module")
def watched(tmp_path_factory) -> Iterator[Watched]:
    root = tmp_path_factory.mktemp("watch-serve")
    docs = root / "docs"
    docs.mkdir()
    (docs / "kiln.txt").write_text(KILN, encoding="utf-8")
    port = free_port()
    args = ["--watch", "--docs", str(docs), "--index-dir", str(root / "index")]
    args += ["--port", str(port), "--host", "127.0.0.1"]
    log = root / "serve.log"
    with (
        qa_serve(*args, log=log) as lines,
        httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=120) as http,
    ):
        assert any(line.startswith("watching ") for line in lines), lines
        yield Watched(docs, log, http, f"http://127.0.0.1:{port}/")


@pytest.mark.slow
def test_added_edited_renamed_deleted_files_are_answered_or_gone(watched):
    w = watched
    assert w.names() == {"kiln.txt"}
    (w.docs / "lighthouse.txt").write_text(LIGHTHOUSE, encoding="utf-8")
    wait_until("an answer citing lighthouse.txt", lambda: "lighthouse.txt" in w.cited())
    assert "207 steps" in w.answer()["text"]

    (w.docs / "lighthouse.txt").write_text(LIGHTHOUSE_EDITED, encoding="utf-8")
    wait_until("the edited figure answered", lambda: "309 steps" in w.answer()["text"])

    os.rename(w.docs / "lighthouse.txt", w.docs / "beacons.txt")
    wait_until("the new name listed, the old gone", lambda: w.names() == {"kiln.txt", "beacons.txt"})
    assert w.cited() == {"beacons.txt"} and "309 steps" in w.answer()["text"]

    (w.docs / "beacons.txt").unlink()
    wait_until("beacons.txt unlisted", lambda: w.names() == {"kiln.txt"})
    after = w.answer()
    assert "309 steps" not in after["text"] and all(c["doc"] == "kiln.txt" for c in after["citations"])

    log = w.logged()
    for line in (
        "added lighthouse.txt",
        "updated lighthouse.txt",
        "renamed lighthouse.txt -> beacons.txt",
        "removed beacons.txt",
    ):
        assert f"\n{line}\n" in log, log
    assert "Traceback" not in log and "warning" not in log, log


@pytest.mark.slow
def test_an_upload_and_the_watcher_do_not_fight(watched):
    """The upload indexes its file itself; the watcher then sees the same file and finds nothing
    to do, or waits for the upload's run: either way no error reaches anyone."""
    w = watched
    r = w.http.post("/v1/documents", files=[("files", ("ferry.txt", FERRY.encode(), "text/plain"))])
    assert r.status_code == 200, r.text
    assert r.json()["files"][0]["status"] == "added" and "added ferry.txt" in r.json()["message"]
    r = w.http.delete("/v1/documents/ferry.txt")
    assert r.status_code == 200, r.text
    assert "ferry.txt" not in w.names()
    time.sleep(3)  # the watcher's own update of the same changes, after its quiet spell
    assert "ferry.txt" not in w.names()
    log = w.logged()
    assert "Traceback" not in log and "warning" not in log and "error" not in log, log


@pytest.mark.browser
def test_the_documents_tab_follows_the_folder(watched):
    from playwright.sync_api import sync_playwright
    from test_browser import CHROMIUM, CHROMIUM_ARGS

    w = watched
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.set_default_timeout(int(LIMIT * 1000))
            page.goto(w.url, wait_until="domcontentloaded")
            page.get_by_role("tab", name="Documents").click()
            listed = "name => document.querySelector('#qa-docs').innerText.includes(name)"
            page.wait_for_function(listed, arg="kiln.txt")
            (w.docs / "harbour.txt").write_text(FERRY, encoding="utf-8")
            page.wait_for_function(listed, arg="harbour.txt")  # no click on "Refresh list"
            (w.docs / "harbour.txt").unlink()
            page.wait_for_function(f"name => !({listed})(name)", arg="harbour.txt")
        finally:
            browser.close()
