"""The :class:`Answer` from one :class:`Generation`: spans turned into citations, hits into passages.

Apart from the conversation and retrieval flow (:mod:`qa._assistant`) because every surface
builds its answers here, and the MCP ``search`` tool locates its passages the same way.
"""

from __future__ import annotations

from index import CorpusIndex

from ._abstain import ABSTAIN_TEXT
from ._generation import Generation, Span
from ._retrieval import Hit
from ._types import Answer, Citation, Clarification, RetrievedChunk, ShortAnswer


def retrieved_chunk(index: CorpusIndex, hit: Hit) -> RetrievedChunk:
    """A retrieved passage located in its document: key, title, span and exact text."""
    doc = index.documents[hit.doc]
    return RetrievedChunk(
        doc=doc.key,
        title=doc.title,
        chunk_id=hit.chunk,
        start=hit.start,
        end=hit.end,
        score=round(float(hit.score), 6),
        text=doc.text[hit.start : hit.end],
    )


def build_answer(
    question: str,
    standalone: str,
    hits: list[Hit],
    gen: Generation,
    generator_name: str,
    timings: dict[str, float],
    index: CorpusIndex,
    clarification: Clarification | None = None,
) -> Answer:
    """The :class:`Answer` every surface gets from one generation; nothing is cited when it abstains
    (``Assistant.build_answer``: ``eval.fit_answerer`` composes generations under many settings
    and scores each through this)."""
    citations = [_citation(index, gen, n, span) for n, span in enumerate(gen.spans, start=1)]
    return Answer(
        question=question,
        text=gen.text if not gen.abstained else (gen.text or ABSTAIN_TEXT),
        abstained=gen.abstained,
        citations=citations if not gen.abstained else [],
        confidence=gen.confidence,
        retrieved=[retrieved_chunk(index, hit) for hit in hits],
        timings={k: round(v, 6) for k, v in timings.items()},
        standalone_question=standalone if standalone != question else None,
        sentences=gen.sentences or [],
        generator=gen.generator or generator_name,
        draft=gen.draft,
        short_answer=_short_answer(index, gen, citations),
        reader=gen.reader,
        clarification=clarification,
    )


def _citation(index: CorpusIndex, gen: Generation, n: int, span: Span) -> Citation:
    """Marker ``n`` of the generation: its span's document, page and exact quote."""
    doc = index.documents[span.doc]
    return Citation(
        n=n,
        doc=doc.key,
        title=doc.title,
        page=doc.page_at(span.start),
        start=span.start,
        end=span.end,
        quote=doc.text[span.start : span.end],
        score=span.score,
        verified=gen.verified[n - 1] if gen.verified else True,
    )


def _short_answer(index: CorpusIndex, gen: Generation, citations: list[Citation]) -> ShortAnswer | None:
    """The answer itself, inside the quote of the citation it names; None when it abstains."""
    if gen.short is None or gen.abstained or not 0 < gen.short.n <= len(citations):
        return None
    cited = citations[gen.short.n - 1]
    doc = index.documents[gen.spans[gen.short.n - 1].doc]
    return ShortAnswer(
        text=doc.text[gen.short.start : gen.short.end],
        n=gen.short.n,
        doc=cited.doc,
        start=gen.short.start,
        end=gen.short.end,
    )
