"""Pure HTML rendering for the web chat: answers with ``[n]`` links, sources with ``<mark>``.

Everything that comes from a document or a user goes through :func:`html.escape`, so a
document holding ``<script>`` shows as text. No Gradio here: these are unit-tested alone.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from qa import Answer, Citation, RetrievedChunk, ShortAnswer

    from ._docs import Progress

MARKER = re.compile(r"\[(\d+)\]")

EMPTY_SOURCES = (
    '<div class="qa-sources qa-sources-empty"><p>Sources of the selected answer appear here. '
    "Click a <b>[n]</b> in an answer to jump to its passage; click an earlier answer to see "
    "its sources.</p></div>"
)


def esc(text: str) -> str:
    """Escape text for HTML, keeping line breaks visible."""
    return html.escape(text, quote=True).replace("\n", "<br>")


def source_id(turn: int, n: int) -> str:
    """The element id of citation ``n`` of answer ``turn`` in the sources panel."""
    return f"src-{turn}-{n}"


def question_html(question: str) -> str:
    return esc(question)


def answer_html(
    text: str, turn: int, n_citations: int, standalone: str | None = None, short: str | None = None
) -> str:
    """An answer's text, escaped, with each valid ``[n]`` a link to its source.

    The short answer the text leads with (``short``) is emphasised. Works on partial text
    too (while streaming): an incomplete marker stays plain text.
    """
    parts: list[str] = []
    pos = 0
    lead = f"{short.rstrip('.,;:')} \u2014 " if short else ""
    if lead and text.startswith(lead):
        parts.append(f'<strong class="qa-short">{esc(lead[:-3])}</strong> \u2014 ')
        pos = len(lead)
    for m in MARKER.finditer(text):
        n = int(m.group(1))
        if not 1 <= n <= n_citations:
            continue
        parts.append(esc(text[pos : m.start()]))
        parts.append(f'<a class="qa-cite" href="#{source_id(turn, n)}" title="show source [{n}]">[{n}]</a>')
        pos = m.end()
    parts.append(esc(text[pos:]))
    body = "".join(parts)
    if standalone:
        body += f'<div class="qa-standalone">Understood as: {esc(standalone)}</div>'
    return body


def abstain_html(text: str, standalone: str | None = None) -> str:
    """An abstention, styled apart from answers so nobody mistakes it for one."""
    body = (
        '<div class="qa-abstain"><span class="qa-abstain-label">No answer found</span> '
        f"{esc(text)}<br><small>Nothing in the indexed documents supports an answer; the closest "
        "passages are listed under Sources.</small></div>"
    )
    if standalone:
        body += f'<div class="qa-standalone">Understood as: {esc(standalone)}</div>'
    return body


def clarify_html(text: str, standalone: str | None = None) -> str:
    """A question back to the user, styled apart from answers and declines: nothing is cited."""
    body = (
        '<div class="qa-clarify"><span class="qa-clarify-label">Which one?</span> '
        f"{esc(text)}<br><small>Say which you mean and ask again; nothing is cited until then.</small></div>"
    )
    if standalone:
        body += f'<div class="qa-standalone">Understood as: {esc(standalone)}</div>'
    return body


def notice_html(message: str) -> str:
    """A friendly one-line problem (empty question, no documents...), never a traceback."""
    return f'<div class="qa-notice" role="status">{esc(message)}</div>' if message else ""


def pending_html() -> str:
    return '<span class="qa-pending">Searching the documents…</span>'


def passage_parts(citation: Citation, retrieved: Sequence[RetrievedChunk]) -> tuple[str, str, str]:
    """(before, quote, after): the retrieved chunk around the citation, split at its exact span.

    Falls back to the quote alone if no retrieved chunk holds the span.
    """
    for chunk in retrieved:
        if chunk.doc == citation.doc and chunk.start <= citation.start and citation.end <= chunk.end:
            a, b = citation.start - chunk.start, citation.end - chunk.start
            if chunk.text[a:b] == citation.quote:
                return chunk.text[:a], citation.quote, chunk.text[b:]
    return "", citation.quote, ""


def _meta(parts: Sequence[str]) -> str:
    return '<div class="qa-src-meta">' + " · ".join(parts) + "</div>"


def _quote_html(c: Citation, short: ShortAnswer | None) -> str:
    """The quote, escaped, with the short answer inside it emphasised when it lies there."""
    if short is None or short.n != c.n or not (c.start <= short.start and short.end <= c.end):
        return esc(c.quote)
    a, b = short.start - c.start, short.end - c.start
    return f'{esc(c.quote[:a])}<strong class="qa-short">{esc(c.quote[a:b])}</strong>{esc(c.quote[b:])}'


def _citation_html(
    c: Citation, turn: int, retrieved: Sequence[RetrievedChunk], short: ShortAnswer | None = None
) -> str:
    before, _, after = passage_parts(c, retrieved)
    meta = [f'<code class="qa-src-path">{esc(c.doc)}</code>']
    if c.page:
        meta.append(f"page {c.page}")
    meta.append(f"chars {c.start}–{c.end}")
    meta.append(f"support {c.score:.2f}")
    lead = "…" if before else ""
    tail = "…" if after else ""
    return (
        f'<section class="qa-src" id="{source_id(turn, c.n)}">'
        f'<div class="qa-src-head"><span class="qa-src-n">[{c.n}]</span> '
        f'<span class="qa-src-title">{esc(c.title)}</span></div>'
        f"{_meta(meta)}"
        f'<blockquote class="qa-passage">{lead}{esc(before)}<mark>{_quote_html(c, short)}</mark>{esc(after)}{tail}'
        "</blockquote></section>"
    )


def _retrieved_html(chunk: RetrievedChunk, rank: int) -> str:
    meta = [f'<code class="qa-src-path">{esc(chunk.doc)}</code>', f"chars {chunk.start}–{chunk.end}"]
    meta.append(f"rank {rank}, score {chunk.score:.3f}")
    return (
        f'<section class="qa-ret">{_meta(meta)}<blockquote class="qa-passage">{esc(chunk.text)}'
        "</blockquote></section>"
    )


def sources_html(answer: Answer | None, turn: int) -> str:
    """The sources panel for one answer: cited passages with the span marked, then the rest."""
    if answer is None:
        return EMPTY_SOURCES
    cited_chunks = set()
    for c in answer.citations:
        for r in answer.retrieved:
            if r.doc == c.doc and r.start <= c.start and c.end <= r.end:
                cited_chunks.add((r.doc, r.chunk_id))
    head = (
        f'<div class="qa-sources" data-turn="{turn}"><p class="qa-src-for">Sources for answer {turn + 1}: '
        f"<q>{esc(answer.question)}</q></p>"
    )
    if answer.abstained or not answer.citations:
        body = '<p class="qa-src-none">No passage supports an answer.</p>'
    else:
        body = "".join(
            _citation_html(c, turn, answer.retrieved, answer.short_answer) for c in answer.citations
        )
    dropped = [x for x in answer.sentences if not x.kept]
    if dropped:  # what an LLM wrote that no retrieved passage backs, and why
        body += (
            f'<details class="qa-dropped" open><summary>Dropped by verification ({len(dropped)})</summary>'
            + "".join(
                f'<p class="qa-drop"><s>{esc(x.text)}</s> <em>({esc(x.reason)})</em></p>' for x in dropped
            )
            + "</details>"
        )
    others = [
        (rank, r)
        for rank, r in enumerate(answer.retrieved, start=1)
        if (r.doc, r.chunk_id) not in cited_chunks
    ]
    if others:
        label = "Retrieved passages" if answer.abstained else "Other retrieved passages, not cited"
        body += (
            f'<details class="qa-others"><summary>{label} ({len(others)})</summary>'
            + "".join(_retrieved_html(r, rank) for rank, r in others)
            + "</details>"
        )
    return head + body + "</div>"


class TurnView(Protocol):
    """What the chat shows of a turn (a ``ui._conversation.ChatTurn``; named by shape, so that
    module, which renders through this one, is not imported back)."""

    question: str
    answer: Answer | None
    partial: str | None
    notice: str


def chat_messages(turns: Sequence[TurnView]) -> list[dict[str, str]]:
    """Messages for gr.Chatbot; message ``2*t + 1`` is always the reply to turn ``t``."""
    messages: list[dict[str, str]] = []
    for t, turn in enumerate(turns):
        messages.append({"role": "user", "content": question_html(turn.question)})
        a = turn.answer
        if turn.notice:
            content = notice_html(turn.notice)
        elif a is None and turn.partial:  # an LLM's draft as it is written, not yet verified
            content = answer_html(turn.partial, t, 0)
        elif a is None:
            content = pending_html()
        elif a.clarification is not None:
            content = clarify_html(a.text, a.standalone_question)
        elif a.abstained:
            content = abstain_html(a.text, a.standalone_question)
        elif turn.partial is not None:
            content = answer_html(turn.partial, t, len(a.citations))
        else:
            short = a.short_answer.text if a.short_answer else None
            content = answer_html(a.text, t, len(a.citations), a.standalone_question, short)
        messages.append({"role": "assistant", "content": content})
    return messages


def status_html(p: Progress) -> str:
    """The Documents tab's status line: busy, done or failed."""
    cls = "qa-busy" if not p.done else ("qa-ok" if p.ok else "qa-err")
    return f'<div class="{cls}" role="status">{esc(p.message)}</div>'
