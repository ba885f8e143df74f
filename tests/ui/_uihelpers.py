"""Helpers shared by the UI tests: start a real server (in process, or `qa serve` as a user
runs it), read gradio_client results."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from _servers import free_port as free_port  # re-exported: the UI tests take it from here
from _servers import stop

REPO = Path(__file__).resolve().parents[2]
SEEDS = REPO / "seeds"
UPLOAD_LIMIT_MB = 1.0
OIL_Q = "How much Kazakh oil has been exported via the Baku-Tbilisi-Ceyhan pipeline since 2023?"
OIL_QUOTE = (
    "Energy cooperation remains a cornerstone of the relationship: since 2023, approximately "
    "3.4 million tons of Kazakh oil have been exported via the Baku–Tbilisi–Ceyhan pipeline."
)


@dataclass
class Server:
    url: str
    docs: Path
    index: Path
    app: Any

    @property
    def service(self) -> Any:
        return self.app.qa_service

    def client(self):
        from gradio_client import Client

        return Client(self.url, verbose=False)


def start_server(docs: Path, index: Path, embedder) -> Server:
    import ui

    app = ui.build_app(docs, index, embedder=embedder, max_upload_mb=UPLOAD_LIMIT_MB, stream_delay=0.005)
    port = free_port()
    app.launch(
        server_name="127.0.0.1",
        server_port=port,
        prevent_thread_lock=True,
        quiet=True,
        **ui.launch_options(UPLOAD_LIMIT_MB, app=app),  # the HTTP API beside the chat, as qa serve
    )
    return Server(f"http://127.0.0.1:{port}/", docs, index, app)


def qa_env(**extra: str) -> dict[str, str]:
    """This environment without the settings a user's shell may hold (a login, folders, an LLM)."""
    drop = {"QA_AUTH", "QA_INDEX_DIR", "QA_DOCS_DIR"}
    env = {k: v for k, v in os.environ.items() if k not in drop and not k.startswith(("QA_LLM", "OPENAI_"))}
    return {**env, **extra}


def run_qa(*args: str, env: dict | None = None, timeout: float = 60) -> subprocess.CompletedProcess:
    """``qa ARGS`` in a subprocess, to its end."""
    return subprocess.run(
        [sys.executable, "-m", "qa", *args],
        cwd=REPO,
        env=qa_env(**(env or {})),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@contextlib.contextmanager
def qa_serve(*args: str, log: Path, env: dict | None = None, timeout: float = 300) -> Iterator[list[str]]:
    """``qa serve ARGS`` in a subprocess, from when it says where it runs until the block ends.

    Yields its output lines so far; the output goes to ``log``, so a chatty server never
    blocks on a full pipe.
    """
    with log.open("w", encoding="utf-8") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "qa", "serve", *args],
            cwd=REPO,
            env=qa_env(**(env or {})),
            stdout=out,
            stderr=subprocess.STDOUT,
            text=True,
        )
    try:
        deadline = time.time() + timeout
        text = ""
        while time.time() < deadline:
            text = log.read_text(encoding="utf-8", errors="replace")
            if "Running on" in text or proc.poll() is not None:
                break
            time.sleep(0.2)
        assert "Running on" in text, text
        yield text.splitlines(keepends=True)
    finally:
        stop(proc)


def reply_text(chat: list[dict]) -> str:
    """The last message's content, as gradio_client returns it."""
    content = chat[-1]["content"]
    if isinstance(content, list):
        return "".join(part.get("text", "") for part in content if isinstance(part, dict))
    return str(content)


def ask(client, question: str, top_k: int = 5) -> tuple[str, list[dict], str, str]:
    """(question box, chat, sources html, notice html) after the answer has finished streaming."""
    return client.predict(question, top_k, "extractive", api_name="/ask")


def unindexable_pdf(text: str = "Harbour survey notes") -> bytes:
    """A PDF that reads (pypdf extracts its text) but breaks indexing: its ToUnicode map turns
    "X" into a lone UTF-16 surrogate, which sentence splitting (sentencex) refuses
    (UnicodeEncodeError; the embedder's tokenizer would refuse it too, with a TypeError).

    The kind of file the upload check cannot catch, so the indexing run has to.
    """
    cmap = (
        b"/CIDInit /ProcSet findresource begin 12 dict begin begincmap\n"
        b"/CMapName /Bad def 1 begincodespacerange <00> <FF> endcodespacerange\n"
        b"1 beginbfchar <58> <D800> endbfchar\nendcmap CMapName currentdict /CMap defineresource pop end end\n"
    )
    content = f"BT /F1 12 Tf 72 720 Td ({text} X ok) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /ToUnicode 6 0 R >>",
        b"<< /Length %d >>\nstream\n" % len(cmap) + cmap + b"endstream",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for i, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % i + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for off in offsets:
        out += b"%010d 00000 n \n" % off
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)
