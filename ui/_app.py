"""The Gradio app: chat with streamed, cited answers, a sources panel, and a Documents tab.

This module wires the page (:mod:`ui._layout`) to its events (:mod:`ui._chat_events`,
:mod:`ui._doc_events`). State that belongs to one browser session (its
:class:`~ui._conversation.Conversation`) lives in ``gr.State``; the models, the index and the
docs folder are shared by all sessions.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

# Before gradio imports huggingface_hub, which reads these once: no analytics calls from
# the server, and no model-loading progress bars on the user's terminal.
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")

import gradio as gr  # noqa: E402

from ._chat_events import ChatEvents  # noqa: E402
from ._doc_events import DocumentEvents  # noqa: E402
from ._layout import ChatPage, lay_out  # noqa: E402
from ._page import launch_options  # noqa: E402, F401 - re-exported for ui.launch_options
from ._uploads import UPLOAD_EXPIRY  # noqa: E402

if TYPE_CHECKING:
    from ._service import ChatService

ASK_CONCURRENCY = 16  # answering itself is serialised; this only lets streams interleave


def _example_text(evt: gr.SelectData) -> str:
    """The question of a clicked example, put into the question box."""
    return evt.value["text"] if isinstance(evt.value, dict) else str(evt.value)


def build_blocks(service: ChatService) -> gr.Blocks:
    """Lay out the page and wire its events; every event has an ``api_name`` for clients."""
    # Uploads never handed to an event (a client can POST to the endpoint alone) expire.
    blocks_options: dict[str, Any] = {"delete_cache": UPLOAD_EXPIRY}
    with gr.Blocks(title="qa — answers with sources", analytics_enabled=False, **blocks_options) as demo:
        page = lay_out(service)
        _wire_chat(page, ChatEvents(service))
        _wire_documents(demo, page, DocumentEvents(service), service)
    demo.queue(default_concurrency_limit=8)
    return demo


def _wire_chat(page: ChatPage, chat: ChatEvents) -> None:
    ask_io: dict[str, Any] = {
        "fn": chat.ask,
        "inputs": [page.question, page.top_k, page.generator, page.conv],
        "outputs": [page.question, page.chatbot, page.sources, page.notice],
        "concurrency_limit": ASK_CONCURRENCY,
    }
    # A question asked while the previous answer streams waits for it, so a session's
    # history stays in order ("always_last": the box keeps what the user typed).
    gr.on([page.ask_btn.click, page.question.submit], **ask_io, api_name="ask", trigger_mode="always_last")
    page.chatbot.example_select(_example_text, None, page.question, api_visibility="private").then(
        **ask_io, api_visibility="private"
    )
    page.chatbot.select(chat.select_answer, [page.conv], [page.sources], api_visibility="private")
    chat_reset = [page.question, page.chatbot, page.sources, page.notice]
    page.new_btn.click(chat.new_chat, [page.conv], chat_reset, api_name="new_chat")
    page.chatbot.clear(chat.new_chat, [page.conv], chat_reset, api_visibility="private")  # its trash button


def _wire_documents(demo: gr.Blocks, page: ChatPage, docs: DocumentEvents, service: ChatService) -> None:
    docs_out = [page.status, page.table, page.to_remove, page.files]
    lists = [page.table, page.to_remove]
    page.files.upload(
        docs.add_documents, page.files, docs_out, api_name="add_documents", concurrency_id="index"
    )
    page.remove_btn.click(
        docs.remove_document, page.to_remove, docs_out, api_name="remove_document", concurrency_id="index"
    )
    page.refresh_btn.click(docs.list_documents, None, lists, api_name="list_documents")
    demo.load(docs.list_documents, None, lists, api_visibility="private")
    if service.watcher is not None:  # qa serve --watch
        seen = gr.State(service.generation())  # per session: the generation its list shows
        gr.Timer(2.0).tick(docs.follow_folder, seen, [*lists, seen], api_visibility="private")
