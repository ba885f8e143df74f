"""`qa serve` as a user starts it: option errors, and a real server behind a login."""

from __future__ import annotations

import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from _uihelpers import OIL_Q, SEEDS, free_port, qa_serve, reply_text, run_qa, unindexable_pdf


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        (["--port", "70000"], {}, "--port must be between 1 and 65535"),
        (["--max-upload-mb", "lots"], {}, "must be a number of megabytes"),
        ([], {"QA_MAX_UPLOAD_MB": "-3"}, "--max-upload-mb must be more than 0"),
        ([], {"QA_AUTH": "no-colon"}, "QA_AUTH must hold user:password"),
        (["--auth-file", "/nonexistent/logins"], {}, "--auth-file /nonexistent/logins"),
        (["--docs", "/nonexistent/docs"], {}, "--docs /nonexistent/docs: no such folder"),
        (["--max-question-chars", "long"], {}, "must be a whole number of characters"),
        ([], {"QA_MAX_QUESTION_CHARS": "0"}, "--max-question-chars must be at least 1"),
    ],
)
def test_serve_option_mistakes_are_one_line_errors(args, env, message):
    out = run_qa("serve", *args, env=env)
    assert out.returncode == 2
    assert out.stderr.startswith("qa: error: ") and message in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1 and "Traceback" not in out.stderr


def test_serve_help_is_instant_and_documents_the_options():
    started = time.perf_counter()
    out = run_qa("serve", "--help")
    assert out.returncode == 0, (
        "qa serve is registered through the qa.commands entry point; if it is missing, "
        f"the installed metadata predates it: run make setup\n{out.stderr}"
    )
    assert time.perf_counter() - started < 10
    options = ("--docs", "--index-dir", "--host", "--port", "--auth-file", "--max-upload-mb", "--rebuild")
    for option in (*options, "--max-question-chars"):
        assert option in out.stdout


def test_max_question_chars_default_matches_qa():
    import qa
    from ui.cli import DEFAULT_MAX_QUESTION_CHARS

    assert DEFAULT_MAX_QUESTION_CHARS == qa.MAX_QUESTION_CHARS


USER, PASSWORD = "reader", "s3cret"
QUESTION_LIMIT = 300


@dataclass
class Served:
    url: str
    lines: list[str]
    no_rebuild: subprocess.CompletedProcess
    temp: Path
    client: object  # a logged-in gradio_client.Client
    http: httpx.Client  # logged in too (its cookie), for the raw endpoints


@pytest.fixture(scope="module")
def served(tmp_path_factory, embedder):
    """`qa serve` as a user runs it: a login, a folder with a file that breaks indexing left in
    it, an index built from another folder (so it needs --rebuild), its own Gradio temp folder."""
    from gradio_client import Client

    from index import update_index

    root = tmp_path_factory.mktemp("serve")
    shutil.copytree(SEEDS, root / "other")
    update_index(root / "other", root / "index", embedder=embedder, show_progress=False)
    docs = root / "docs"
    shutil.copytree(SEEDS, docs)
    (docs / "leftover.pdf").write_bytes(unindexable_pdf())
    logins = root / "logins"
    logins.write_text(f"# who may ask\n{USER}:{PASSWORD}\n", encoding="utf-8")
    temp = root / "gradio-temp"
    port = free_port()
    args = ["serve", "--docs", str(docs), "--index-dir", str(root / "index"), "--port", str(port)]
    args += ["--auth-file", str(logins), "--max-upload-mb", "1", "--max-question-chars", str(QUESTION_LIMIT)]
    no_rebuild = run_qa(*args, timeout=240)
    env = {"GRADIO_TEMP_DIR": str(temp)}
    with qa_serve(*args[1:], "--rebuild", log=root / "serve.log", env=env) as lines:
        url = f"http://127.0.0.1:{port}/"
        client = Client(url, auth=(USER, PASSWORD), verbose=False)
        with httpx.Client(base_url=url, timeout=60) as http:
            assert http.post("login", data={"username": USER, "password": PASSWORD}).status_code == 200
            yield Served(url, lines, no_rebuild, temp, client, http)


def test_without_rebuild_the_error_says_so_in_one_line(served):
    out = served.no_rebuild
    assert out.returncode == 2, out.stderr
    assert out.stderr.startswith("qa: error: ") and "use --rebuild" in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1 and "Traceback" not in out.stderr


def test_startup_names_the_file_that_breaks_indexing_and_serves_the_rest(served):
    text = "".join(served.lines)
    assert "Traceback" not in text and "cannot serve" not in text
    warnings = [ln for ln in served.lines if "leftover.pdf" in ln]
    assert len(warnings) == 1, text
    assert warnings[0].startswith("qa: warning: skipped leftover.pdf: failed while chunking it (UnicodeEncodeError")
    assert any("1 indexed" in ln for ln in served.lines), text


def test_login_is_required_and_the_logged_in_user_gets_answers(served):
    from gradio_client import Client
    from gradio_client.exceptions import AuthenticationError

    # the page's config answers 401 without a login, so the client cannot even connect
    with pytest.raises(AuthenticationError, match="as credentials were not provided"):
        Client(served.url, verbose=False)
    with httpx.Client(base_url=served.url, timeout=30) as anonymous:
        assert anonymous.get("config").status_code == 401
        call = anonymous.post("gradio_api/call/ask", json={"data": [OIL_Q, 5, "extractive"]})
        assert call.status_code == 401
    _, chat, _, _ = served.client.predict(OIL_Q, 5, "extractive", api_name="/ask")
    assert "3.4 million tons" in reply_text(chat)


def test_the_question_limit_setting_is_applied(served):
    question = ("why " * QUESTION_LIMIT)[:QUESTION_LIMIT] + "?"
    _, chat, _, notice = served.client.predict(question, 5, "extractive", api_name="/ask")
    assert f"the limit is {QUESTION_LIMIT:,}" in notice and "\n" not in notice
    assert not any(question in str(m["content"]) for m in chat)


def _temp_files(temp: Path) -> dict[str, bytes]:
    return {str(p.relative_to(temp)): p.read_bytes() for p in temp.rglob("*") if p.is_file()}


def test_upload_endpoint_refuses_other_types_and_oversize_and_keeps_nothing(served, tmp_path):
    from gradio_client import handle_file

    csv = ("table.csv", b"port,tons\nAktau,3400000\n", "text/csv")
    big = ("big.txt", b"many words here " * 70_000, "text/plain")  # 1.1 MB, the limit is 1 MB
    for name, data, kind in (csv, big):
        r = served.http.post("gradio_api/upload", files=[("files", (name, data, kind))])
        assert r.status_code == (415 if name == "table.csv" else 413), r.text
        assert "\n" not in r.text.strip() and "Traceback" not in r.text
    assert (
        "table.csv: unsupported file type .csv"
        in served.http.post("gradio_api/upload", files=[("files", csv)]).text
    )
    assert "the limit is 1 MB per file" in served.http.post("gradio_api/upload", files=[("files", big)]).text

    good = tmp_path / "tug log.txt"
    good.write_text("The tug Kestrel towed 14 barges to Aktau in March 2025.", encoding="utf-8")
    status, *_ = served.client.predict([handle_file(str(good))], api_name="/add_documents")
    assert "added tug log.txt" in status
    left = _temp_files(served.temp)
    ours = {"table.csv", "big.txt", "tug log.txt"}
    assert not [p for p in left if Path(p).name in ours], left.keys()
    assert not [p for p, data in left.items() if data in (csv[1], big[1], good.read_bytes())]


def test_failed_logins_are_throttled(served):
    """Last in this module: it locks 127.0.0.1 out of logging in for a minute."""
    wrong = {"username": USER, "password": "guess"}
    with httpx.Client(base_url=served.url, timeout=30) as guesser:
        codes = [guesser.post("login", data=wrong).status_code for _ in range(5)]
        assert codes == [400] * 5
        started = time.perf_counter()
        r = guesser.post("login", data=wrong)
        assert r.status_code == 429 and 50 <= int(r.headers["retry-after"]) <= 60
        assert "Too many failed logins" in r.json()["detail"]
        right = guesser.post("login", data={"username": USER, "password": PASSWORD})
        assert right.status_code == 429, "while throttled, even the right password waits"
        assert time.perf_counter() - started < 5
    _, chat, _, _ = served.client.predict(OIL_Q, 5, "extractive", api_name="/ask")
    assert "3.4 million tons" in reply_text(chat), "a session already logged in is not affected"
