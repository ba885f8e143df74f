"""Sentence spans and sentence-aware chunks, both as character offsets into the document."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

_LINE = re.compile(r"[^\n]+")


@lru_cache(maxsize=1)
def _punkt():
    # An untrained Punkt model needs no data download (llama-index's default would try).
    from nltk.tokenize.punkt import PunktSentenceTokenizer

    return PunktSentenceTokenizer()


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """Sentences as ``(start, end)`` offsets; every line break also ends a sentence."""
    spans: list[tuple[int, int]] = []
    tokenizer = _punkt()
    for line in _LINE.finditer(text):
        base = line.start()
        for s, e in tokenizer.span_tokenize(line.group()):
            piece = text[base + s : base + e]
            lead = len(piece) - len(piece.lstrip())
            trail = len(piece) - len(piece.rstrip())
            if e - s - lead - trail > 0:
                spans.append((base + s + lead, base + e - trail))
    return spans


def split_sentences(text: str) -> list[str]:
    """The chunker's sentence splitter: same boundaries as :func:`sentence_spans`,
    but pieces keep their trailing whitespace so that joined pieces equal the text."""
    spans = sentence_spans(text)
    if not spans:
        return [text] if text else []
    pieces = []
    for i, (s, _) in enumerate(spans):
        start = 0 if i == 0 else s
        end = spans[i + 1][0] if i + 1 < len(spans) else len(text)
        pieces.append(text[start:end])
    return pieces


@dataclass(frozen=True)
class ChunkSpan:
    start: int
    end: int
    sentences: tuple[tuple[int, int], ...]  # absolute spans, clipped to the chunk


def chunk_document(
    text: str,
    chunk_size: int,
    chunk_overlap: int,
    count_tokens: Callable[[str], list],
) -> list[ChunkSpan]:
    """Chunk with llama-index's ``SentenceSplitter`` and locate every chunk in ``text``."""
    from llama_index.core.node_parser import SentenceSplitter

    splitter = SentenceSplitter(
        chunk_size=chunk_size,
        chunk_overlap=chunk_overlap,
        tokenizer=count_tokens,
        chunking_tokenizer_fn=split_sentences,
        paragraph_separator="\n\n",
    )
    sentences = sentence_spans(text)
    chunks: list[ChunkSpan] = []
    cursor = 0
    for piece in splitter.split_text(text):
        start = text.find(piece, cursor)
        if start < 0:  # whitespace was normalised inside the piece; fall back to a fuzzy find
            start = _fuzzy_find(text, piece, cursor)
            if start < 0:
                continue
            end = _fuzzy_end(text, piece, start)
        else:
            end = start + len(piece)
        cursor = start + 1
        inside = tuple((max(s, start), min(e, end)) for s, e in sentences if s < end and e > start)
        chunks.append(ChunkSpan(start, end, inside))
    return chunks


def _fuzzy_find(text: str, piece: str, cursor: int) -> int:
    head = piece.strip()[:40]
    return text.find(head, cursor) if head else -1


def _fuzzy_end(text: str, piece: str, start: int) -> int:
    tail = piece.strip()[-40:]
    pos = text.find(tail, start)
    return pos + len(tail) if pos >= 0 else min(len(text), start + len(piece))
