"""`qa serve` as a user starts it: option errors, and a real server behind a login."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time

import pytest
from _uihelpers import OIL_Q, REPO, SEEDS, free_port, reply_text


def run_qa(*args: str, env: dict | None = None, timeout: float = 60) -> subprocess.CompletedProcess:
    full_env = {k: v for k, v in os.environ.items() if k not in {"QA_AUTH", "QA_INDEX_DIR", "QA_DOCS_DIR"}}
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "qa", *args],
        cwd=REPO,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        (["--port", "70000"], {}, "--port must be between 1 and 65535"),
        (["--max-upload-mb", "lots"], {}, "must be a number of megabytes"),
        ([], {"QA_MAX_UPLOAD_MB": "-3"}, "--max-upload-mb must be more than 0"),
        ([], {"QA_AUTH": "no-colon"}, "QA_AUTH must hold user:password"),
        (["--auth-file", "/nonexistent/logins"], {}, "--auth-file /nonexistent/logins"),
        (["--docs", "/nonexistent/docs"], {}, "--docs /nonexistent/docs: no such folder"),
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
    for option in ("--docs", "--index-dir", "--host", "--port", "--auth-file", "--max-upload-mb"):
        assert option in out.stdout


def test_serve_with_login_indexes_and_answers(tmp_path):
    """The whole path: QA_AUTH parsed, docs indexed at start, Gradio's login in front."""
    from gradio_client import Client

    docs = tmp_path / "docs"
    shutil.copytree(SEEDS, docs)
    port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if k not in {"QA_INDEX_DIR", "QA_DOCS_DIR"}},
        "QA_AUTH": "reader:s3cret",
    }
    args = ["serve", "--docs", str(docs), "--index-dir", str(tmp_path / "index"), "--port", str(port)]
    proc = subprocess.Popen(
        [sys.executable, "-m", "qa", *args],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        lines = []
        deadline = time.time() + 240
        while time.time() < deadline:
            line = proc.stdout.readline()
            if not line and proc.poll() is not None:
                break
            lines.append(line)
            if "Running on" in line:
                break
        assert any("Running on" in ln for ln in lines), "".join(lines)
        assert any("1 indexed" in ln for ln in lines), "".join(lines)
        url = f"http://127.0.0.1:{port}/"
        with pytest.raises(Exception):  # noqa: B017 - whatever the client raises, it must not get in
            Client(url, verbose=False).predict(OIL_Q, 5, "extractive", api_name="/ask")
        client = Client(url, auth=("reader", "s3cret"), verbose=False)
        _, chat, _, _ = client.predict(OIL_Q, 5, "extractive", api_name="/ask")
        assert "3.4 million tons" in reply_text(chat)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
