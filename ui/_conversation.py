"""One browser session's chat: its turns, which answer's sources the panel shows, its lock.

Apart from the events that change it (:mod:`ui._chat_events`) and the page (:mod:`ui._layout`)
because it is the state every chat event of a session shares through ``gr.State``.
"""

from __future__ import annotations

import contextlib
import copy
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from . import _render as R

if TYPE_CHECKING:
    from qa import Answer


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
