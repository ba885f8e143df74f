"""Helpers shared by the UI tests: start a real server, read gradio_client results."""

from __future__ import annotations

import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(docs: Path, index: Path, embedder) -> Server:
    import ui

    app = ui.build_app(docs, index, embedder=embedder, max_upload_mb=UPLOAD_LIMIT_MB, stream_delay=0.005)
    port = free_port()
    app.launch(
        server_name="127.0.0.1",
        server_port=port,
        prevent_thread_lock=True,
        quiet=True,
        **ui.launch_options(UPLOAD_LIMIT_MB),
    )
    return Server(f"http://127.0.0.1:{port}/", docs, index, app)


def reply_text(chat: list[dict]) -> str:
    """The last message's content, as gradio_client returns it."""
    content = chat[-1]["content"]
    if isinstance(content, list):
        return "".join(part.get("text", "") for part in content if isinstance(part, dict))
    return str(content)


def ask(client, question: str, top_k: int = 5) -> tuple[str, list[dict], str, str]:
    """(question box, chat, sources html, notice html) after the answer has finished streaming."""
    return client.predict(question, top_k, "extractive", api_name="/ask")
