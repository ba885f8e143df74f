"""The Gradio app: chat with streamed, cited answers, a sources panel, and a Documents tab.

State that belongs to one browser session (its conversation) lives
in ``gr.State``; the models, the index and the docs folder are shared by all sessions.
"""

from __future__ import annotations

import contextlib
import copy
import logging
import os
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

# Before gradio imports huggingface_hub, which reads these once: no analytics calls from
# the server, and no model-loading progress bars on the user's terminal.
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")

import gradio as gr  # noqa: E402

from . import _render as R  # noqa: E402
from ._docs import Progress
from ._page import launch_options  # noqa: F401 - re-exported for ui.launch_options
from ._service import ChatService
from ._uploads import UPLOAD_EXPIRY, discard_upload

if TYPE_CHECKING:
    from qa import Answer

log = logging.getLogger("qa.ui")

DOC_HEADERS = ["Document", "Title", "Passages", "Pages", "Characters"]
ASK_CONCURRENCY = 16  # answering itself is serialised; this only lets streams interleave


@dataclass
class ChatTurn:
    """One question of a session and what became of it."""

    question: str
    answer: Answer | None = None
    partial: str | None = None  # the text shown so far while streaming
    notice: str = ""  # a problem shown instead of an answer


class Conversation:
    """One browser session's chat. Handlers change it in place, never replace it, so two
    events of the same session (an example click and an Enter) see the same turns.

    A plain class, not a dataclass: Gradio serialises dataclass values into the page config.
    """

    def __init__(self, turns: list[ChatTurn] | None = None, epoch: int = 0, shown: int | None = None):
        self.turns: list[ChatTurn] = turns if turns is not None else []
        self.epoch = epoch  # bumped by "New chat", so a stream that started before it stops
        self.shown = shown  # the turn whose sources the panel shows
        self.lock = threading.Lock()

    def __deepcopy__(self, memo: dict) -> Conversation:
        """gr.State copies its initial value per session; each copy gets its own lock."""
        return Conversation(copy.deepcopy(self.turns, memo), self.epoch, self.shown)

    @contextlib.contextmanager
    def one_question_at_a_time(self, timeout: float = 300.0) -> Iterator[None]:
        """A question asked while another streams waits, then sees it in its history.

        Without this, two events of one session (an example click, then Enter) would
        interleave, and the browser keeps only the newer event's updates.
        """
        got = self.lock.acquire(timeout=timeout)
        try:
            yield
        finally:
            if got:
                self.lock.release()

    def sources(self) -> str:
        """The sources panel for the shown turn; any event of the session may render it."""
        t = self.shown
        if t is None or not 0 <= t < len(self.turns) or self.turns[t].answer is None:
            return R.EMPTY_SOURCES
        return R.sources_html(self.turns[t].answer, t)


def stream_text(text: str, delay: float, max_seconds: float = 1.0, max_steps: int = 24) -> Iterator[str]:
    """The answer so far, a few words at a time (``delay`` seconds per word, at most ``max_seconds``).

    The extractive generator returns whole answers; an LLM backend will hand its token
    stream to the same loop instead. Steps are bounded because each one re-sends the chat.
    """
    words = re.findall(r"\S+\s*", text)
    if not words:
        return
    per_step = -(-len(words) // max_steps)  # ceil
    steps = -(-len(words) // per_step)
    pause = min(delay * per_step, max_seconds / steps)
    for i in range(per_step, len(words) + per_step, per_step):
        yield "".join(words[:i]).rstrip()
        if pause and i < len(words):
            time.sleep(pause)


def chat_messages(turns: list[ChatTurn]) -> list[dict[str, str]]:
    """Messages for gr.Chatbot; message ``2*t + 1`` is always the reply to turn ``t``."""
    messages: list[dict[str, str]] = []
    for t, turn in enumerate(turns):
        messages.append({"role": "user", "content": R.question_html(turn.question)})
        a = turn.answer
        if turn.notice:
            content = R.notice_html(turn.notice)
        elif a is None and turn.partial:  # an LLM's draft as it is written, not yet verified
            content = R.answer_html(turn.partial, t, 0)
        elif a is None:
            content = R.pending_html()
        elif a.clarification is not None:
            content = R.clarify_html(a.text, a.standalone_question)
        elif a.abstained:
            content = R.abstain_html(a.text, a.standalone_question)
        elif turn.partial is not None:
            content = R.answer_html(turn.partial, t, len(a.citations))
        else:
            short = a.short_answer.text if a.short_answer else None
            content = R.answer_html(a.text, t, len(a.citations), a.standalone_question, short)
        messages.append({"role": "assistant", "content": content})
    return messages


def _status_html(p: Progress) -> str:
    cls = "qa-busy" if not p.done else ("qa-ok" if p.ok else "qa-err")
    return f'<div class="{cls}" role="status">{R.esc(p.message)}</div>'


def _example_text(evt: gr.SelectData) -> str:
    """The question of a clicked example, put into the question box."""
    return evt.value["text"] if isinstance(evt.value, dict) else str(evt.value)


def build_blocks(service: ChatService) -> gr.Blocks:
    """Lay out the page and wire its events; every event has an ``api_name`` for clients."""
    from qa import GENERATOR_NAMES, SUPPORTED_SUFFIXES, QAError, Turn

    def ask(question: str, top_k: float, generator: str, conv: Conversation):
        with conv.one_question_at_a_time():
            yield from answer_turn(question, top_k, generator, conv)

    def answer_turn(question: str, top_k: float, generator: str, conv: Conversation):
        q = (question or "").strip()
        if not q:
            msg = "Type a question about your documents first."
            yield question, chat_messages(conv.turns), gr.skip(), R.notice_html(msg)
            return
        try:  # too long: refused before it enters the conversation or any queue
            service.bot.check_question(q)
        except QAError as exc:
            yield gr.skip(), chat_messages(conv.turns), gr.skip(), R.notice_html(f"Could not answer: {exc}")
            return
        if service.n_documents() == 0:
            msg = (
                "The documents are still being indexed; ask again in a moment."
                if service.library.busy
                else "No documents are indexed yet. Add some in the Documents tab, then ask again."
            )
            conv.turns.append(ChatTurn(q, notice=msg))
            yield "", chat_messages(conv.turns), R.EMPTY_SOURCES, R.notice_html(msg)
            return
        epoch = conv.epoch
        history = [Turn(question=x.question, answer=x.answer.text) for x in conv.turns if x.answer]
        turn = ChatTurn(q)
        conv.turns.append(turn)
        t = len(conv.turns) - 1
        yield "", chat_messages(conv.turns), gr.skip(), ""
        keep = gr.skip()  # the box was cleared once; the user may be typing the next question
        try:
            if (generator or "extractive") == "extractive":
                answer = service.answer(q, history, top_k, generator)
            else:  # a real token stream: show the draft as it is written
                last = 0.0
                for item in service.stream(q, history, top_k, generator):
                    if not isinstance(item, str):
                        answer = item
                        break
                    turn.partial = (turn.partial or "") + item
                    if conv.epoch == epoch and time.monotonic() - last > 0.2:
                        last = time.monotonic()
                        yield keep, chat_messages(conv.turns), gr.skip(), ""
                turn.partial = None
        except (QAError, ValueError) as exc:
            turn.notice = f"Could not answer: {exc}"
        except Exception:  # a bug must not show a traceback to the user; the log has it
            log.exception("answering %r failed", q)
            turn.notice = "Something went wrong while answering; the server log has the details."
        if turn.notice:
            if conv.epoch == epoch:
                yield keep, chat_messages(conv.turns), gr.skip(), R.notice_html(turn.notice)
            return
        turn.answer = answer
        conv.shown = t  # the newest answer's sources, until the user picks another answer
        sent = None

        def sources_update() -> Any:
            # The panel follows the conversation, not this event: another event of the
            # session (or a click on an older answer) may have changed what it shows.
            nonlocal sent
            html = conv.sources()
            if html == sent:
                return gr.skip()
            sent = html
            return html

        if not answer.abstained and answer.generator == "extractive":
            for partial in stream_text(answer.text, service.stream_delay):
                if conv.epoch != epoch:  # "New chat" was pressed meanwhile
                    return
                turn.partial = partial
                yield keep, chat_messages(conv.turns), sources_update(), ""
        turn.partial = None
        if conv.epoch == epoch:  # the last step carries every value, for API clients
            yield keep, chat_messages(conv.turns), conv.sources(), ""

    def select_answer(conv: Conversation, evt: gr.SelectData):
        index = evt.index[0] if isinstance(evt.index, (list, tuple)) else evt.index
        t = int(index) // 2
        if 0 <= t < len(conv.turns) and conv.turns[t].answer is not None:
            conv.shown = t
            return conv.sources()
        return gr.skip()

    def new_chat(conv: Conversation):
        conv.turns.clear()
        conv.epoch += 1
        conv.shown = None
        return "", [], R.EMPTY_SOURCES, ""

    def docs_outputs() -> tuple[Any, Any]:
        table = service.documents_table()
        keys = [row[0] for row in table]
        return table, gr.Dropdown(choices=keys, value=None)

    def run_job(progress: Iterator[Progress]):
        for p in progress:
            if p.done:
                table, choices = docs_outputs()
                yield _status_html(p), table, choices, None
            else:
                yield _status_html(p), gr.skip(), gr.skip(), gr.skip()

    def add_documents(files: list[str] | None):
        pairs = [(Path(f), Path(f).name) for f in files or []]
        try:
            yield from run_job(service.library.add(pairs))
        finally:  # the docs folder has its copy now; Gradio's temp copy must not pile up
            for f in files or []:
                discard_upload(f)

    def remove_document(key: str | None):
        yield from run_job(service.library.remove(key))

    def list_documents():
        return docs_outputs()

    def follow_folder(seen: str):  # qa serve --watch: a new generation, a fresh list
        live = service.generation()
        if live == seen:
            return gr.skip(), gr.skip(), gr.skip()
        table = service.documents_table()
        return table, gr.Dropdown(choices=[row[0] for row in table]), live

    mb = service.library.max_upload_mb
    kinds = ".txt .md .html .pdf .docx .png .jpg"
    # Uploads never handed to an event (a client can POST to the endpoint alone) expire.
    blocks_options: dict[str, Any] = {"delete_cache": UPLOAD_EXPIRY}
    with gr.Blocks(title="qa — answers with sources", analytics_enabled=False, **blocks_options) as demo:
        conv = gr.State(Conversation())  # per browser session; handlers change it in place
        gr.Markdown(
            "## Ask your documents\nEvery answer quotes its sources; click **[n]** to see the passage."
        )
        with gr.Tabs():
            with gr.Tab("Chat", id="chat"), gr.Row(equal_height=False):
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
                        top_k = gr.Slider(
                            1, 20, value=service.top_k, step=1, label="Passages to retrieve (top-k)"
                        )
                        generator = gr.Dropdown(
                            choices=list(GENERATOR_NAMES),
                            value=GENERATOR_NAMES[0],
                            label="Answer generator",
                            info="extractive quotes the best-supported sentences, or says the documents do not say",
                        )
                with gr.Column(scale=2, min_width=320):
                    gr.Markdown("### Sources")
                    sources = gr.HTML(R.EMPTY_SOURCES, label="Sources", elem_id="qa-sources", js_on_load=None)
            with gr.Tab("Documents", id="documents"):
                gr.Markdown(
                    f"Add {kinds} files (up to {mb:g} MB each). They are copied into "
                    f"`{service.docs_dir}` and indexed; questions keep working meanwhile."
                )
                files = gr.File(
                    file_count="multiple",
                    file_types=list(SUPPORTED_SUFFIXES),
                    type="filepath",
                    label=f"Add documents ({kinds})",
                    elem_id="qa-upload",
                )
                status = gr.HTML("", label="Status", elem_id="qa-doc-status", js_on_load=None)
                table = gr.Dataframe(
                    headers=DOC_HEADERS, interactive=False, label="Indexed documents", elem_id="qa-docs"
                )
                with gr.Row():
                    to_remove = gr.Dropdown(
                        choices=[],
                        label="Document to remove",
                        allow_custom_value=True,
                        scale=4,
                        elem_id="qa-remove-doc",
                    )
                    remove_btn = gr.Button("Remove", variant="stop", scale=1, elem_id="qa-remove")
                    refresh_btn = gr.Button("Refresh list", scale=1)

        ask_io = {
            "fn": ask,
            "inputs": [question, top_k, generator, conv],
            "outputs": [question, chatbot, sources, notice],
            "concurrency_limit": ASK_CONCURRENCY,
        }
        # A question asked while the previous answer streams waits for it, so a session's
        # history stays in order ("always_last": the box keeps what the user typed).
        gr.on([ask_btn.click, question.submit], **ask_io, api_name="ask", trigger_mode="always_last")
        chatbot.example_select(_example_text, None, question, api_visibility="private").then(
            **ask_io, api_visibility="private"
        )
        chatbot.select(select_answer, [conv], [sources], api_visibility="private")
        chat_reset = [question, chatbot, sources, notice]
        new_btn.click(new_chat, [conv], chat_reset, api_name="new_chat")
        chatbot.clear(new_chat, [conv], chat_reset, api_visibility="private")  # its own trash button

        docs_out = [status, table, to_remove, files]
        files.upload(add_documents, files, docs_out, api_name="add_documents", concurrency_id="index")
        remove_btn.click(
            remove_document, to_remove, docs_out, api_name="remove_document", concurrency_id="index"
        )
        refresh_btn.click(list_documents, None, [table, to_remove], api_name="list_documents")
        demo.load(list_documents, None, [table, to_remove], api_visibility="private")
        if service.watcher is not None:
            seen = gr.State(service.generation())  # per session: the generation its list shows
            gr.Timer(2.0).tick(follow_folder, seen, [table, to_remove, seen], api_visibility="private")
    demo.queue(default_concurrency_limit=8)
    return demo
