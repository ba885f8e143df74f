"""Answer generators behind one narrow interface: the extractive default and LLM backends."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol, runtime_checkable

import numpy as np

from index import CorpusIndex

from ._extractive import ExtractiveSettings, extract_features, select
from ._retrieval import Hit
from ._types import AnswerSentence, Turn

if TYPE_CHECKING:
    from index import Embedder

ABSTAIN_TEXT = "The documents do not say."

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
class GenerationRequest:
    question: str  # as asked
    standalone: str  # resolved with the history
    query_vec: np.ndarray
    hits: list[Hit]
    index: CorpusIndex
    embedder: Embedder | None = None  # for verifying LLM output; the Assistant passes its own


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


class ExtractiveGenerator:
    """Quotes the best-supported sentences, or abstains.

    >>> gen = ExtractiveGenerator()
    >>> gen.name
    'extractive'
    """

    name = "extractive"

    def __init__(self, settings: ExtractiveSettings | None = None) -> None:
        self.settings = settings or ExtractiveSettings()

    def generate(self, request: GenerationRequest) -> Generation:
        scored = extract_features(
            request.index, request.standalone, request.question, request.query_vec, request.hits
        )
        selection = select(scored, self.settings)
        confidence = self.settings.confidence(selection.best_score)
        if selection.abstained:
            return Generation(ABSTAIN_TEXT, True, confidence=confidence)
        parts, spans, sentences = [], [], []
        for n, (cand, conf) in enumerate(selection.picks, start=1):
            parts.append(f"{cand.text} [{n}]")
            spans.append(Span(cand.doc, cand.start, cand.end, round(conf, 4)))
            sentences.append(
                AnswerSentence(
                    text=cand.text, citations=[n], support=round(conf, 4), kept=True, reason="quoted verbatim"
                )
            )
        return Generation(" ".join(parts), False, spans, sentences, confidence=confidence)


GENERATORS = GENERATOR_NAMES  # the name the LLM step used


def get_generator(name: str | Generator = "extractive", **options) -> Generator:
    """A generator by name (``options`` go to the LLM backends), or ``name`` itself if it is one."""
    if not isinstance(name, str):
        return name
    if name == "extractive":
        return ExtractiveGenerator(**options)
    if name in GENERATOR_NAMES:
        from ._llm import make_generator

        return make_generator(name, **options)
    raise ValueError(f"unknown answer generator {name!r}; available: {', '.join(GENERATOR_NAMES)}")
