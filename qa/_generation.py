"""What every answer generator shares: the request it gets, the generation it returns.

Only types live here, so the generators (the reader-based default, the LLM backends, the
verifier) import this module and never each other; the factory in ``_generators`` sits on top.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol, runtime_checkable

import numpy as np

from index import CorpusIndex

from ._abstain import ABSTAIN_TEXT
from ._retrieval import Hit
from ._types import AnswerSentence, Turn

if TYPE_CHECKING:
    from index import Embedder

__all__ = [
    "ABSTAIN_TEXT",
    "GENERATOR_NAMES",
    "Generation",
    "GenerationRequest",
    "Generator",
    "ShortSpan",
    "Span",
    "StreamingGenerator",
]

# What get_generator accepts; the web chat's settings offer exactly these.
GENERATOR_NAMES: tuple[str, ...] = ("extractive", "openai-like", "llamacpp")


@dataclass
class Span:
    """A cited passage: document row in the index and exact character span."""

    doc: int
    start: int
    end: int
    score: float


@dataclass
class ShortSpan:
    """The answer itself: a span inside the quote of citation ``n`` (1-based)."""

    n: int
    start: int  # character offsets in the document
    end: int


@dataclass
class GenerationRequest:
    question: str  # as asked
    standalone: str  # resolved with the history
    query_vec: np.ndarray
    hits: list[Hit]
    index: CorpusIndex
    embedder: Embedder | None = None  # for verifying LLM output; the Assistant passes its own
    previous: str | None = None  # the previous turn, for a reader that takes it


@dataclass
class Generation:
    text: str  # with [n] markers; spans[n-1] is marker n
    abstained: bool
    spans: list[Span] = field(default_factory=list)
    sentences: list[AnswerSentence] | None = None  # per-sentence support, dropped ones included
    draft: str | None = None  # an LLM's raw output, before verification
    generator: str | None = None  # who wrote ``text``, when not the generator asked (a fallback)
    verified: list[bool] | None = None  # per span: checked to support its sentence
    confidence: float | None = None  # 0..1 support of the best candidate, answered or not
    short: ShortSpan | None = None  # the short answer, when the generator found one
    reader: str | None = None  # version of the reader that read the passages
    score: float | None = None  # the raw decision score (the answerer's fit tool sweeps it)


class Generator(Protocol):
    name: str

    def generate(self, request: GenerationRequest) -> Generation: ...


@runtime_checkable
class StreamingGenerator(Generator, Protocol):
    """A generator that can also stream its draft and rewrite follow-ups (the LLM backends).

    ``stream`` yields text deltas as they are produced, then exactly one :class:`Generation`.
    """

    def stream(self, request: GenerationRequest) -> Iterator[str | Generation]: ...

    def condense(self, question: str, history: Sequence[Turn | dict | str]) -> str | None: ...
