"""Ask every gold question through the public ``qa`` API and score the answers."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from qa import Answer, Assistant, QAError, Turn

from ._datasets import (
    GoldFormatError,
    GoldItem,
    load_clapnq,
    load_llamaindex,
    load_native,
    load_squad,
    open_text,
)
from ._metrics import TurnResult, score_turn
from ._mtrag import load_mtrag, looks_like_mtrag
from ._splits import in_split

FORMATS = ("auto", "native", "clapnq", "llamaindex", "squad", "mtrag")
CORPUS_FORMATS = frozenset({"clapnq", "squad", "mtrag"})  # gold files that carry their own documents


def detect_format(path: Path) -> str:
    """Guess the gold format from the first record, so users rarely need ``--format``."""
    if not path.is_file():
        raise GoldFormatError(f"{path}: no such gold file")
    if path.name.endswith(".json.gz"):
        return "squad"
    if path.suffix == ".json":
        try:
            with path.open(encoding="utf-8") as fh:
                head = fh.read(4096)
        except OSError as exc:
            raise GoldFormatError(f"{path}: cannot read ({exc.strerror})") from exc
        return "squad" if '"paragraphs"' in head or '"version": "v2' in head else "llamaindex"
    try:
        with open_text(path) as fh:  # JSONL, gzip-compressed or not (MTRAG ships as .jsonl.gz)
            first = next((line for line in fh if line.strip()), "")
    except (OSError, EOFError) as exc:
        raise GoldFormatError(f"{path}: cannot read ({exc})") from exc
    except UnicodeDecodeError:
        return "native"  # load_native reports it
    try:
        obj = json.loads(first) if first else {}
    except json.JSONDecodeError:
        return "native"  # load_native reports the bad line
    if looks_like_mtrag(obj):
        return "mtrag"
    if isinstance(obj, dict) and "passages" in obj and "input" in obj:
        return "clapnq"
    return "native"


def load_gold(paths: Sequence[Path], fmt: str = "auto", corpus_dir: Path | None = None) -> list[GoldItem]:
    """Load gold files of one format; ClapNQ, SQuAD and MTRAG passages are written into ``corpus_dir``."""
    if fmt not in FORMATS:
        raise GoldFormatError(f"unknown gold format {fmt!r}; use one of {', '.join(FORMATS)}")
    for p in paths:
        if not p.is_file():
            raise GoldFormatError(f"{p}: no such gold file")
    formats = {detect_format(p) for p in paths} if fmt == "auto" else {fmt}
    if len(formats) > 1:
        raise GoldFormatError(
            f"gold files mix formats ({', '.join(sorted(formats))}); evaluate them separately"
        )
    kind = formats.pop()
    if kind == "clapnq":
        return load_clapnq(list(paths), corpus_dir)
    if kind == "squad":
        return load_squad(list(paths), corpus_dir)
    if kind == "mtrag":
        items = load_mtrag(list(paths), corpus_dir)
    else:
        items = [item for p in paths for item in (load_native(p) if kind == "native" else load_llamaindex(p))]
    if not items:
        raise GoldFormatError(f"{', '.join(map(str, paths))}: no questions found")
    return items


def select_split(items: Sequence[GoldItem], split: str) -> list[GoldItem]:
    """The items of one split the data README defines; the corpus is not affected."""
    if not any(item.split for item in items):
        raise GoldFormatError(
            f"--split {split}: these gold files define no splits (SQuAD, ClapNQ and MTRAG do)"
        )
    try:
        kept = [item for item in items if item.split and in_split(item.split, split)]
    except ValueError as exc:
        raise GoldFormatError(f"--split: {exc}") from exc
    if not kept:
        raise GoldFormatError(f"--split {split}: no question of these gold files is in that split")
    return kept


def turn_count(items: Sequence[GoldItem]) -> int:
    return sum(len(item.turns) for item in items)


def record(item: GoldItem, i: int, answer: Answer | None, latency: float, error: str | None) -> TurnResult:
    turn = item.turns[i]
    result = TurnResult(
        id=item.id if not item.is_dialogue else f"{item.id}#{i + 1}",
        item_id=item.id,
        turn=i + 1,
        question=turn.question,
        answerable=turn.answerable,
        kind=turn.kind,
        multi_turn=turn.multi_turn,
        answers=list(turn.answers),
        answers_mode=turn.answers_mode,
        reference=turn.reference,
        evidence=list(turn.evidence),
        relevant_docs=list(turn.relevant_docs),
        latency_s=round(latency, 6),
        error=error,
    )
    if answer is not None:
        result.response = answer.text
        result.abstained = answer.abstained
        result.short_answer = answer.short_answer.text if answer.short_answer else None
        result.confidence = answer.confidence
        result.standalone_question = answer.standalone_question
        result.citations = [
            {"n": c.n, "doc": c.doc, "page": c.page, "start": c.start, "end": c.end, "quote": c.quote}
            for c in answer.citations
        ]
        result.retrieved = [
            {"doc": r.doc, "title": r.title, "start": r.start, "end": r.end, "score": r.score, "text": r.text}
            for r in answer.retrieved
        ]
        if answer.clarification is not None:  # a question back to the user: neither answer nor decline
            result.clarified = True
            result.clarification = answer.clarification.model_dump()
    return score_turn(result)


def run_gold(
    bot: Assistant,
    items: Sequence[GoldItem],
    *,
    top_k: int | None = None,
    on_turn: Callable[[TurnResult], None] | None = None,
) -> list[TurnResult]:
    """Ask each item (each dialogue turn with the earlier turns as history) and score it.

    An item that comes with a conversation (MTRAG) starts its history with those turns.

    A question the assistant refuses with a :class:`QAError` is recorded as an error,
    not raised: one bad item must not hide the scores of the others.
    """
    results: list[TurnResult] = []
    for item in items:
        history = [Turn(question=q, answer=a) for q, a in item.history]
        for i, turn in enumerate(item.turns):
            t0 = time.perf_counter()
            try:
                answer: Answer | None = bot.answer(turn.question, history, top_k=top_k)
                error = None
            except QAError as exc:
                answer, error = None, str(exc)
            result = record(item, i, answer, time.perf_counter() - t0, error)
            results.append(result)
            if on_turn:
                on_turn(result)
            history.append(Turn(question=turn.question, answer=answer.text if answer else ""))
    return results
