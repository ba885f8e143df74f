"""The web chat's page: the Chat tab (conversation, question box, settings, sources panel) and
the Documents tab (upload, table, remove), as Gradio components and nothing else.

Apart from the events (:mod:`ui._chat_events`, :mod:`ui._doc_events`) and their wiring
(:mod:`ui._app`) so the page reads as a page; :class:`ChatPage` names each component the
wiring needs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import gradio as gr

from . import _render as R
from ._conversation import Conversation

if TYPE_CHECKING:
    from ._service import ChatService

DOC_HEADERS = ["Document", "Title", "Passages", "Pages", "Characters"]
KINDS = ".txt .md .html .pdf .docx .png .jpg"  # what the Documents tab says it takes


@dataclass
class ChatPage:
    """The components the events read and write."""

    conv: gr.State  # per browser session; handlers change its Conversation in place
    chatbot: gr.Chatbot
    question: gr.Textbox
    ask_btn: gr.Button
    new_btn: gr.Button
    notice: gr.HTML
    top_k: gr.Slider
    generator: gr.Dropdown
    sources: gr.HTML
    files: gr.File
    status: gr.HTML
    table: gr.Dataframe
    to_remove: gr.Dropdown
    remove_btn: gr.Button
    refresh_btn: gr.Button


def lay_out(service: ChatService) -> ChatPage:
    """Create the page's components inside the open ``gr.Blocks``."""
    conv = gr.State(Conversation())
    gr.Markdown("## Ask your documents\nEvery answer quotes its sources; click **[n]** to see the passage.")
    with gr.Tabs():
        with gr.Tab("Chat", id="chat"), gr.Row(equal_height=False):
            chat = _chat_column(service)
            with gr.Column(scale=2, min_width=320):
                gr.Markdown("### Sources")
                sources = gr.HTML(R.EMPTY_SOURCES, label="Sources", elem_id="qa-sources", js_on_load=None)
        with gr.Tab("Documents", id="documents"):
            docs = _documents_tab(service)
    return ChatPage(conv=conv, sources=sources, **chat, **docs)


def _chat_column(service: ChatService) -> dict[str, Any]:
    """The conversation, the question box with its buttons, the notice line and the settings."""
    from qa import GENERATOR_NAMES

    with gr.Column(scale=3, min_width=360):
        chatbot = gr.Chatbot(
            label="Conversation",
            elem_id="qa-chat",
            height=520,
            render_markdown=False,  # content is our own escaped HTML
            sanitize_html=True,
            latex_delimiters=[],
            buttons=[],
            feedback_options=None,
            examples=service.examples() or None,
            placeholder="Ask a question about your documents. Follow-up questions use the conversation so far.",
        )
        with gr.Row():
            question = gr.Textbox(
                label="Question",
                show_label=False,
                placeholder="Ask a question…",
                elem_id="qa-question",
                scale=6,
                max_lines=4,
                max_length=service.max_question_chars,  # the server checks it too
                autofocus=True,
            )
            ask_btn = gr.Button("Ask", variant="primary", scale=1, elem_id="qa-ask", min_width=80)
            new_btn = gr.Button("New chat", scale=1, elem_id="qa-new", min_width=120)
        notice = gr.HTML("", label="Notice", elem_id="qa-notice", js_on_load=None)
        with gr.Accordion("Settings", open=False):
            top_k = gr.Slider(1, 20, value=service.top_k, step=1, label="Passages to retrieve (top-k)")
            generator = gr.Dropdown(
                choices=list(GENERATOR_NAMES),
                value=GENERATOR_NAMES[0],
                label="Answer generator",
                info="extractive quotes the best-supported sentences, or says the documents do not say",
            )
    return {
        "chatbot": chatbot,
        "question": question,
        "ask_btn": ask_btn,
        "new_btn": new_btn,
        "notice": notice,
        "top_k": top_k,
        "generator": generator,
    }


def _documents_tab(service: ChatService) -> dict[str, Any]:
    """The upload box, its status line, the table of indexed documents and the remove row."""
    from qa import SUPPORTED_SUFFIXES

    gr.Markdown(
        f"Add {KINDS} files (up to {service.library.max_upload_mb:g} MB each). They are copied into "
        f"`{service.docs_dir}` and indexed; questions keep working meanwhile."
    )
    files = gr.File(
        file_count="multiple",
        file_types=list(SUPPORTED_SUFFIXES),
        type="filepath",
        label=f"Add documents ({KINDS})",
        elem_id="qa-upload",
    )
    status = gr.HTML("", label="Status", elem_id="qa-doc-status", js_on_load=None)
    table = gr.Dataframe(headers=DOC_HEADERS, interactive=False, label="Indexed documents", elem_id="qa-docs")
    with gr.Row():
        to_remove = gr.Dropdown(
            choices=[], label="Document to remove", allow_custom_value=True, scale=4, elem_id="qa-remove-doc"
        )
        remove_btn = gr.Button("Remove", variant="stop", scale=1, elem_id="qa-remove")
        refresh_btn = gr.Button("Refresh list", scale=1)
    return {
        "files": files,
        "status": status,
        "table": table,
        "to_remove": to_remove,
        "remove_btn": remove_btn,
        "refresh_btn": refresh_btn,
    }
