"""The domain types every surface shares: the CLI, the web chat, the eval harness, scripts."""

from __future__ import annotations

from pydantic import BaseModel, Field


class Citation(BaseModel):
    """One ``[n]`` in the answer: the exact span of a document it points to."""

    n: int = Field(description="the marker number used in Answer.text, 1-based")
    doc: str = Field(description="document path, relative to the indexed folder")
    title: str
    page: int | None = Field(default=None, description="1-based page, when the format has pages")
    start: int = Field(description="character offset of the quote in the document's text")
    end: int
    quote: str = Field(description="the cited text, exactly document.text[start:end]")
    score: float = Field(description="how strongly this passage supports the answer (0..1)")
    verified: bool = Field(
        default=True,
        description="the quoted span was checked to support the sentence citing it (extractive "
        "quotes are verbatim, so always true; false only for unchecked LLM output, --no-verify)",
    )


class RetrievedChunk(BaseModel):
    """A passage the retriever ranked, cited or not."""

    doc: str
    title: str = Field(default="", description="the document's title (its first heading, else its name)")
    chunk_id: int
    start: int
    end: int
    score: float
    text: str


class Turn(BaseModel):
    """One exchange of a conversation, as history for a follow-up question."""

    question: str
    answer: str = ""


class AnswerSentence(BaseModel):
    """One sentence of the generated answer and what the verifier made of it.

    Dropped sentences (``kept`` false) stay listed, with the reason, so a user can see
    what the model said that the documents do not back.
    """

    text: str = Field(description="the sentence, without citation markers")
    citations: list[int] = Field(
        default_factory=list, description="marker numbers in Answer.text (empty when dropped)"
    )
    cited_sources: list[int] = Field(
        default_factory=list,
        description="the [n] the generator wrote; n indexes Answer.retrieved, 1-based",
    )
    support: float = Field(description="how well its best passage supports it (0..1)")
    kept: bool = Field(description="false when the sentence was dropped from Answer.text")
    reason: str = Field(description="why it was kept, re-cited or dropped, in a few words")


class ShortAnswer(BaseModel):
    """The answer itself (a name, date or figure): a span inside the quote of citation ``n``."""

    text: str = Field(description="exactly the document's text[start:end]")
    n: int = Field(description="the citation whose quote holds it")
    doc: str
    start: int = Field(description="character offset in the document's text")
    end: int


class Clarification(BaseModel):
    """A question back to the user when the turn cannot be pinned down.

    Either the documents answer clearly different readings of it (``readings``: their
    subjects or titles, at least two), or the turn refers to something the conversation
    does not contain (``missing``: what the user should name).
    """

    readings: list[str] = Field(
        default_factory=list, description="candidate readings taken from the documents (titles or subjects)"
    )
    missing: str | None = Field(
        default=None,
        description="what the turn refers to that neither the conversation nor the documents pin down",
    )


class Answer(BaseModel):
    """What :func:`qa.answer` returns.

    ``text`` carries ``[n]`` markers; ``citations[n-1]`` is marker ``n``. When the
    documents do not support an answer, ``abstained`` is true and nothing is cited. When
    the turn is ambiguous, ``clarification`` is set and ``text`` is a question back to the
    user; nothing is cited and ``abstained`` is false (it is neither an answer nor a decline).
    ``sentences`` says, per sentence, how well the sources support it, including the
    sentences an LLM wrote that verification dropped; ``draft`` is the LLM's raw text.
    """

    question: str
    text: str
    abstained: bool
    citations: list[Citation] = Field(default_factory=list)
    retrieved: list[RetrievedChunk] = Field(default_factory=list)
    confidence: float | None = Field(
        default=None,
        description="0..1: how strongly the best passage answers (the reader's span against its "
        "no-answer score); below 0.5 the extractive generator declines",
    )
    timings: dict[str, float] = Field(default_factory=dict, description="seconds per stage")
    standalone_question: str | None = Field(
        default=None, description="the question as resolved from the history, when it differs"
    )
    sentences: list[AnswerSentence] = Field(default_factory=list)
    generator: str = Field(default="extractive", description="the generator that wrote the text")
    short_answer: ShortAnswer | None = Field(
        default=None,
        description="the answer itself (a name, date or figure), when the reader found one; "
        "what SQuAD's exact_match and f1 score",
    )
    reader: str | None = Field(
        default=None, description="version of the reader that read the passages, if one did"
    )
    draft: str | None = Field(
        default=None, description="an LLM's unverified output (what was streamed), if any"
    )
    clarification: Clarification | None = Field(
        default=None,
        description="set when text is a clarifying question (the turn is ambiguous), not an answer",
    )

    def to_json(self, **kwargs) -> str:
        return self.model_dump_json(**kwargs)

    def sources_text(self) -> str:
        """Numbered sources for a terminal: document, location and quote."""
        lines = []
        for c in self.citations:
            where = f"p. {c.page}, " if c.page else ""
            unchecked = "" if c.verified else " [not verified]"
            lines.append(f"[{c.n}] {c.doc} ({where}chars {c.start}-{c.end}){unchecked}")
            lines.append(f"    \u201c{c.quote}\u201d")
        return "\n".join(lines)
