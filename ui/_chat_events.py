"""The chat's events: ask (answer and stream a question), pick an answer's sources, new chat.

Apart from the page (:mod:`ui._layout`) and the wiring (:mod:`ui._app`) so each handler is a
method of one object holding the :class:`ChatService`, not a closure over a dozen locals.
Every handler yields ``(question box, chat messages, sources panel, notice)``.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import gradio as gr

from . import _render as R
from ._conversation import ChatTurn, Conversation
from ._render import chat_messages

if TYPE_CHECKING:
    from qa import Answer, Turn

    from ._service import ChatService

log = logging.getLogger("qa.ui")

Update = tuple[Any, Any, Any, Any]  # question box, chat messages, sources panel, notice


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


class _SourcesPanel:
    """The panel's next value while an answer streams: sent only when it changed.

    The panel follows the conversation, not this event: another event of the session (or a
    click on an older answer) may have changed what it shows.
    """

    def __init__(self, conv: Conversation) -> None:
        self.conv = conv
        self.sent: str | None = None

    def update(self) -> Any:
        html = self.conv.sources()
        if html == self.sent:
            return gr.skip()
        self.sent = html
        return html


class ChatEvents:
    """The chat tab's handlers, over the service every session shares.

    The handlers wired to events say why in comments, not docstrings: Gradio publishes a
    handler's docstring as its endpoint's description in the API page.
    """

    def __init__(self, service: ChatService) -> None:
        self.service = service

    def ask(self, question: str, top_k: float, generator: str, conv: Conversation) -> Iterator[Update]:
        with conv.one_question_at_a_time():
            yield from self.answer_turn(question, top_k, generator, conv)

    def answer_turn(
        self, question: str, top_k: float, generator: str, conv: Conversation
    ) -> Iterator[Update]:
        """Refuse the question in one line, or answer it: the draft, then the verified answer."""
        from qa import Turn

        q = (question or "").strip()
        refused = self._refusal(question, q, conv)
        if refused is not None:
            yield refused
            return
        epoch = conv.epoch
        history = [Turn(question=x.question, answer=x.answer.text) for x in conv.turns if x.answer]
        turn = ChatTurn(q)
        conv.turns.append(turn)
        t = len(conv.turns) - 1
        yield "", chat_messages(conv.turns), gr.skip(), ""
        # from here on the box is left alone: the user may be typing the next question
        answer = yield from self._generate(q, history, top_k, generator, conv, turn, epoch)
        if turn.notice:
            if conv.epoch == epoch:
                yield gr.skip(), chat_messages(conv.turns), gr.skip(), R.notice_html(turn.notice)
            return
        assert answer is not None
        turn.answer = answer
        conv.shown = t  # the newest answer's sources, until the user picks another answer
        yield from self._reveal(answer, conv, turn, epoch)

    def _refusal(self, question: str, q: str, conv: Conversation) -> Update | None:
        """The one update for a question (``q``: stripped) that is not answered: empty, too long,
        nothing indexed."""
        from qa import QAError

        if not q:
            msg = "Type a question about your documents first."
            return question, chat_messages(conv.turns), gr.skip(), R.notice_html(msg)
        try:  # too long: refused before it enters the conversation or any queue
            self.service.bot.check_question(q)
        except QAError as exc:
            return gr.skip(), chat_messages(conv.turns), gr.skip(), R.notice_html(f"Could not answer: {exc}")
        if self.service.n_documents() == 0:
            msg = (
                "The documents are still being indexed; ask again in a moment."
                if self.service.library.busy
                else "No documents are indexed yet. Add some in the Documents tab, then ask again."
            )
            conv.turns.append(ChatTurn(q, notice=msg))
            return "", chat_messages(conv.turns), R.EMPTY_SOURCES, R.notice_html(msg)
        return None

    def _generate(
        self,
        q: str,
        history: list[Turn],
        top_k: float,
        generator: str,
        conv: Conversation,
        turn: ChatTurn,
        epoch: int,
    ) -> Iterator[Update]:
        """Answer ``q``, showing an LLM's draft as it is written; returns the answer, or None with
        ``turn.notice`` saying why there is none (never a traceback: the log has those)."""
        from qa import QAError

        answer: Answer | None = None
        try:
            if (generator or "extractive") == "extractive":
                answer = self.service.answer(q, history, top_k, generator)
            else:  # a real token stream: show the draft as it is written
                last = 0.0
                for item in self.service.stream(q, history, top_k, generator):
                    if not isinstance(item, str):
                        answer = item
                        break
                    turn.partial = (turn.partial or "") + item
                    if conv.epoch == epoch and time.monotonic() - last > 0.2:
                        last = time.monotonic()
                        yield gr.skip(), chat_messages(conv.turns), gr.skip(), ""
                turn.partial = None
        except (QAError, ValueError) as exc:
            turn.notice = f"Could not answer: {exc}"
        except Exception:  # a bug must not show a traceback to the user; the log has it
            log.exception("answering %r failed", q)
            turn.notice = "Something went wrong while answering; the server log has the details."
        return answer

    def _reveal(self, answer: Answer, conv: Conversation, turn: ChatTurn, epoch: int) -> Iterator[Update]:
        """An extractive answer a few words at a time, then every value once more for API clients."""
        panel = _SourcesPanel(conv)
        if not answer.abstained and answer.generator == "extractive":
            for partial in stream_text(answer.text, self.service.stream_delay):
                if conv.epoch != epoch:  # "New chat" was pressed meanwhile
                    return
                turn.partial = partial
                yield gr.skip(), chat_messages(conv.turns), panel.update(), ""
        turn.partial = None
        if conv.epoch == epoch:  # the last step carries every value, for API clients
            yield gr.skip(), chat_messages(conv.turns), conv.sources(), ""

    def select_answer(self, conv: Conversation, evt: gr.SelectData) -> Any:
        # a click on an answer shows its sources
        index = evt.index[0] if isinstance(evt.index, (list, tuple)) else evt.index
        t = int(index) // 2
        if 0 <= t < len(conv.turns) and conv.turns[t].answer is not None:
            conv.shown = t
            return conv.sources()
        return gr.skip()

    def new_chat(self, conv: Conversation) -> Update:
        # forget the session's turns; a stream still running stops at its next step
        conv.turns.clear()
        conv.epoch += 1
        conv.shown = None
        return "", [], R.EMPTY_SOURCES, ""
