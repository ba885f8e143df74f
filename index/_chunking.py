"""Sentence spans and sentence-aware chunks, both as character offsets into the document."""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from sentencex import segment

# Bounds that keep sentence splitting linear on any input (a 20 MB line, no punctuation,
# no spaces): the segmenter never sees more than MAX_SEGMENT_CHARS at once, no sentence is longer
# than MAX_SENTENCE_CHARS (cut at a space), and no run without whitespace is longer than
# MAX_WORD_CHARS (so the chunker never has to fall back to splitting it character by character).
MAX_SEGMENT_CHARS = 5000
MAX_SENTENCE_CHARS = 2000
MAX_WORD_CHARS = 200
# A chunk's characters per token of its size; beyond it the "words" are junk the tokenizer
# counts as one [UNK] each (a 20 MB run of letters is one token), and the chunk is cut
# at sentence bounds instead.
MAX_CHARS_PER_TOKEN = 16

_LINE = re.compile(r"[^\n]+")
_SENTENCE_END = re.compile(r"[.!?][\"')\]\u2019\u201d]*\s")
_LONG_WORD = re.compile(rf"\S{{{MAX_WORD_CHARS + 1},}}")


def _segment(text: str, lo: int, hi: int) -> Iterator[tuple[int, int]]:
    """Sentences of ``text[lo:hi]`` by sentencex (Wikimedia's rule-based segmenter, with
    abbreviation lists and no model to download). An untrained Punkt, used before, broke
    "Dr. Smith", "9 a.m. on Mondays", "the U.S. office" and "Jan. 2020" in two: in 60 SQuAD
    train articles, 571 of its 14,718 sentence ends (3.9%) were ends sentencex does not make,
    most of them such abbreviations."""
    pos = lo
    for piece in segment("en", text[lo:hi]):
        if not text.startswith(piece, pos):  # pieces concatenate to the text; never trust it blindly
            found = text.find(piece.strip(), pos, hi)
            if found < 0:
                continue
            pos = found
        yield pos, pos + len(piece)
        pos += len(piece)


def _windows(text: str, start: int, end: int) -> Iterator[tuple[int, int]]:
    """``text[start:end]`` in pieces of at most MAX_SEGMENT_CHARS, cut after a likely sentence end
    (else at a space) in the second half of each piece, so that the segmenter's work stays bounded."""
    pos = start
    while end - pos > MAX_SEGMENT_CHARS:
        lo, hi = pos + MAX_SEGMENT_CHARS // 2, pos + MAX_SEGMENT_CHARS
        cut = -1
        for match in _SENTENCE_END.finditer(text, lo, hi):
            cut = match.end()
        if cut < 0:
            cut = text.rfind(" ", lo, hi) + 1 or hi
        yield pos, cut
        pos = cut
    if pos < end:
        yield pos, end


def _bounded(text: str, start: int, end: int) -> Iterator[tuple[int, int]]:
    """A sentence span, cut at spaces into pieces of at most MAX_SENTENCE_CHARS, with runs of
    more than MAX_WORD_CHARS non-space characters cut into pieces of that length."""
    if end - start <= MAX_WORD_CHARS:
        yield start, end
        return
    pos = start
    for match in _LONG_WORD.finditer(text, start, end):
        yield from _by_length(text, pos, match.start())
        for piece in range(match.start(), match.end(), MAX_WORD_CHARS):
            yield piece, min(piece + MAX_WORD_CHARS, match.end())
        pos = match.end()
    yield from _by_length(text, pos, end)


def _by_length(text: str, start: int, end: int) -> Iterator[tuple[int, int]]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    while end - start > MAX_SENTENCE_CHARS:
        cut = text.rfind(" ", start + MAX_SENTENCE_CHARS // 2, start + MAX_SENTENCE_CHARS)
        cut = cut if cut > start else start + MAX_SENTENCE_CHARS
        piece_end = cut
        while piece_end > start and text[piece_end - 1].isspace():
            piece_end -= 1
        yield start, piece_end
        start = cut
        while start < end and text[start].isspace():
            start += 1
    if end > start:
        yield start, end


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """Sentences as ``(start, end)`` offsets; every line break also ends a sentence.

    Readers join wrapped lines first (``index/_text.py``), so the line breaks left are
    real ones (headings, list items, table rows). Work is linear in ``len(text)``.
    """
    spans: list[tuple[int, int]] = []
    for line in _LINE.finditer(text):
        for lo, hi in _windows(text, line.start(), line.end()):
            for s, e in _segment(text, lo, hi):
                piece = text[s:e]
                lead = len(piece) - len(piece.lstrip())
                trail = len(piece) - len(piece.rstrip())
                if e - s - lead - trail > 0:
                    spans.extend(_bounded(text, s + lead, e - trail))
    return spans


def split_sentences(text: str) -> list[str]:
    """The chunker's sentence splitter: same boundaries as :func:`sentence_spans`,
    but pieces keep their trailing whitespace so that joined pieces equal the text."""
    return _pieces(text, sentence_spans(text))


def _pieces(text: str, spans: list[tuple[int, int]]) -> list[str]:
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

    sentences = sentence_spans(text)

    def split(piece: str) -> list[str]:  # a text with no paragraph break is split once, not twice
        return (
            _pieces(text, sentences) if len(piece) == len(text) and piece == text else split_sentences(piece)
        )

    splitter = SentenceSplitter(
        chunk_size=chunk_size,
        chunk_overlap=chunk_overlap,
        tokenizer=count_tokens,
        chunking_tokenizer_fn=split,
        paragraph_separator="\n\n",
    )
    starts = [s for s, _ in sentences]
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
        # sentences are sorted and disjoint: those overlapping [start, end) are a contiguous run
        first = max(bisect.bisect_right(starts, start) - 1, 0)
        last = bisect.bisect_left(starts, end)
        inside = tuple(
            (max(s, start), min(e, end)) for s, e in sentences[first:last] if s < end and e > start
        )
        chunks.extend(_capped(ChunkSpan(start, end, inside), max(chunk_size * MAX_CHARS_PER_TOKEN, 1000)))
    return chunks


def _capped(chunk: ChunkSpan, max_chars: int) -> Iterator[ChunkSpan]:
    """The chunk, or consecutive runs of its sentences, each at most ``max_chars`` long."""
    if chunk.end - chunk.start <= max_chars or len(chunk.sentences) < 2:
        yield chunk
        return
    group: list[tuple[int, int]] = []
    for span in chunk.sentences:
        if group and span[1] - group[0][0] > max_chars:
            yield ChunkSpan(group[0][0], group[-1][1], tuple(group))
            group = []
        group.append(span)
    yield ChunkSpan(group[0][0], group[-1][1], tuple(group))


def _fuzzy_find(text: str, piece: str, cursor: int) -> int:
    head = piece.strip()[:40]
    return text.find(head, cursor) if head else -1


def _fuzzy_end(text: str, piece: str, start: int) -> int:
    tail = piece.strip()[-40:]
    pos = text.find(tail, start)
    return pos + len(tail) if pos >= 0 else min(len(text), start + len(piece))
