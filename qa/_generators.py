"""Answer generators behind one narrow interface, so LLM backends can plug in later."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from index import CorpusIndex

from ._extractive import ExtractiveSettings, extract_features, select
from ._retrieval import Hit

ABSTAIN_TEXT = "The documents do not say."

# What get_generator accepts; the web chat's settings offer exactly these.
GENERATOR_NAMES: tuple[str, ...] = ("extractive",)


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


@dataclass
class Generation:
    text: str  # with [n] markers; spans[n-1] is marker n
    abstained: bool
    spans: list[Span] = field(default_factory=list)
    confidence: float | None = None  # 0..1 support of the best candidate, answered or not


class Generator(Protocol):
    name: str

    def generate(self, request: GenerationRequest) -> Generation: ...


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
        parts, spans = [], []
        for n, (cand, conf) in enumerate(selection.picks, start=1):
            parts.append(f"{cand.text} [{n}]")
            spans.append(Span(cand.doc, cand.start, cand.end, round(conf, 4)))
        return Generation(" ".join(parts), False, spans, confidence)


def get_generator(name: str | Generator = "extractive") -> Generator:
    if not isinstance(name, str):
        return name
    if name == "extractive":
        return ExtractiveGenerator()
    raise ValueError(f"unknown answer generator {name!r}; available: {', '.join(GENERATOR_NAMES)}")
