"""Training examples for the reader, from the public data sets in ``../shared/data``.

Only the ``train`` parts are read (see :mod:`eval._splits`). The negatives teach what the
old answerer got wrong: a passage on the question's topic that does not hold the answer.

- ``squad11``: a SQuAD 1.1 train question with its own paragraph (answerable);
- ``squad11-drop``: the same paragraph with the answer's sentence removed (no answer);
- ``squad11-other``: the article's paragraph most like the question that lacks the answer (no answer);
- ``squad11-swap``: the question with one of its names or numbers that the paragraph holds replaced
  by one it does not (another year, another place: SQuAD 2.0's commonest near miss), own paragraph
  (no answer);
- ``squad2``: every question of the squad2 train articles, unanswerable near misses included.

A share of examples carries an earlier question of the same article as "previous turn",
so the reader learns to read the current question first and not be led by history.
"""

from __future__ import annotations

import gzip
import json
import random
import re
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

from ._splits import squad2_split

SQUAD2_FILE = Path("squad2") / "squad2-dev-19articles.json.gz"

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(])")
_WORD = re.compile(r"[a-z0-9]+")
_STOP = frozenset(
    [
        "the",
        "a",
        "an",
        "of",
        "in",
        "on",
        "at",
        "to",
        "for",
        "by",
        "with",
        "from",
        "and",
        "or",
        "is",
        "are",
        "was",
        "were",
        "be",
        "been",
        "what",
        "which",
        "who",
        "whom",
        "whose",
        "when",
        "where",
        "why",
        "how",
        "did",
        "do",
        "does",
        "that",
        "this",
        "these",
        "those",
        "it",
        "its",
        "as",
        "into",
        "than",
        "then",
        "there",
        "their",
    ]
)


@dataclass(frozen=True)
class Example:
    question: str
    passage: str
    answer_start: int | None  # character offset in passage; None: the passage does not answer
    answer_text: str | None
    source: str
    previous: str | None = None

    @property
    def answerable(self) -> bool:
        return self.answer_start is not None


@dataclass(frozen=True)
class Mix:
    """How many examples of each source; ``squad2`` is all of the train articles' questions."""

    squad11: int
    squad11_drop: int
    squad11_other: int
    squad11_swap: int = 0
    squad2_repeat: int = 1  # times each squad2 train question is used
    history_share: float = 0.15

    def as_dict(self) -> dict:
        return asdict(self)


def read_squad(path: Path) -> list[dict]:
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        return json.load(fh)["data"]


def _words(text: str) -> set[str]:
    return {w for w in _WORD.findall(text.lower()) if w not in _STOP}


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """Rough sentence boundaries, good enough to cut one sentence out of a paragraph."""
    spans, start = [], 0
    for m in _SENTENCE_END.finditer(text):
        spans.append((start, m.start()))
        start = m.end()
    spans.append((start, len(text)))
    return [(s, e) for s, e in spans if e > s]


def drop_answer_sentence(context: str, answer_start: int, answer: str) -> str | None:
    """``context`` without the sentence holding the answer, or None when the answer would remain."""
    for s, e in sentence_spans(context):
        if s <= answer_start < e:
            rest = (context[:s] + context[e:]).strip()
            rest = re.sub(r"\s{2,}", " ", rest)
            if len(rest) < 80 or answer.lower() in rest.lower():
                return None
            return rest
    return None


def _squad11_files(data_dir: Path) -> list[Path]:
    return sorted((data_dir / "squad11").glob("squad11-train-part*of4.json.gz"))


def squad11_records(data_dir: Path) -> tuple[list[tuple[int, int, dict]], list]:
    """(article index, paragraph index, qa) for every train question, and the articles'
    (paragraph texts, their word sets, raw paragraphs), in file order."""
    records = []
    articles = []
    for path in _squad11_files(data_dir):
        for art in read_squad(path):
            paras = [p["context"] for p in art["paragraphs"]]
            a = len(articles)
            articles.append((paras, [_words(p) for p in paras], art["paragraphs"]))
            for pi, para in enumerate(art["paragraphs"]):
                for qa in para["qas"]:
                    records.append((a, pi, qa))
    return records, articles


def first_stage_questions(n_records: int, mix: Mix, seed: int) -> tuple[list[int], list[int]]:
    """The SQuAD 1.1 records the first stage draws for ``mix`` and ``seed``, and the ones it
    never sees (the same shuffle :func:`training_examples` makes first)."""
    order = list(range(n_records))
    random.Random(seed).shuffle(order)
    need = mix.squad11 + mix.squad11_drop + mix.squad11_other + mix.squad11_swap
    return order[:need], order[need:]


def squad11_examples(data_dir: Path, mix: Mix, rng: random.Random) -> Iterator[Example]:
    """Positives and the two kinds of SQuAD 1.1 negatives, sampled without replacement."""
    records, articles = squad11_records(data_dir)
    order = list(range(len(records)))
    rng.shuffle(order)  # the first draw of the seeded generator: see first_stage_questions
    need = mix.squad11 + mix.squad11_drop + mix.squad11_other + mix.squad11_swap
    if need > len(order):
        raise ValueError(f"the mix asks for {need} SQuAD 1.1 questions; there are {len(order)}")
    kinds = (
        ["squad11"] * mix.squad11
        + ["squad11-drop"] * mix.squad11_drop
        + ["squad11-other"] * mix.squad11_other
    )
    kinds += ["squad11-swap"] * mix.squad11_swap
    pool = _substitutes(articles)
    rng.shuffle(kinds)
    for kind, idx in zip(kinds, order, strict=False):
        a, pi, qa = records[idx]
        paras, words, raw = articles[a]
        ans = qa["answers"][0]
        question = qa["question"].strip()
        previous = previous_question(raw, rng, mix.history_share, exclude=question)
        if kind == "squad11":
            yield Example(question, paras[pi], int(ans["answer_start"]), ans["text"], kind, previous)
        elif kind == "squad11-swap":
            swapped = swap_detail(question, paras[pi], pool, rng)
            if swapped is not None:
                yield Example(swapped, paras[pi], None, None, kind, previous)
        elif kind == "squad11-drop":
            rest = drop_answer_sentence(paras[pi], int(ans["answer_start"]), ans["text"])
            if rest is not None:
                yield Example(question, rest, None, None, kind, previous)
        else:
            qw = _words(question)
            best, best_overlap = None, -1
            for j, (p, w) in enumerate(zip(paras, words, strict=True)):
                if j == pi or ans["text"].lower() in p.lower():
                    continue
                overlap = len(qw & w)
                if overlap > best_overlap:
                    best, best_overlap = p, overlap
            if best is not None:
                yield Example(question, best, None, None, kind, previous)


_NAME = re.compile(r"\b(?:[A-Z][a-z]+(?:\s+[A-Z][a-z]+)*|\d{4}|\d+(?:[.,]\d+)?)\b")


def _substitutes(articles: list) -> dict[str, list[str]]:
    """Names and numbers seen across the articles, by kind, to swap into questions."""
    rng = random.Random(0)
    names: set[str] = set()
    for paras, _, _ in articles[::7]:
        for p in paras[:3]:
            names.update(m.group() for m in _NAME.finditer(p) if not m.group()[0].isdigit())
    ordered = sorted(names)
    rng.shuffle(ordered)
    return {"name": ordered[:20000]}


def swap_detail(question: str, paragraph: str, pool: dict[str, list[str]], rng: random.Random) -> str | None:
    """``question`` with one name or number it shares with ``paragraph`` replaced by one the
    paragraph lacks, or None when it has none to swap."""
    found = [m for m in _NAME.finditer(question) if m.start() > 0 and m.group() in paragraph]
    if not found:
        return None
    m = found[rng.randrange(len(found))]
    old = m.group()
    if old[0].isdigit():
        digits = old.replace(",", "")
        if not digits.isdigit():
            return None
        value = int(digits)
        for _ in range(10):
            new = (
                str(value + rng.choice([-1, 1]) * rng.randint(2, 40))
                if len(digits) == 4
                else str(max(2, value * rng.choice([2, 3, 5]) + rng.randint(1, 9)))
            )
            if new not in paragraph:
                break
        else:
            return None
    else:
        names = pool["name"]
        for _ in range(20):
            new = names[rng.randrange(len(names))]
            if new.split()[0] not in paragraph and new != old:
                break
        else:
            return None
    return question[: m.start()] + new + question[m.end() :]


def previous_question(paragraphs: list[dict], rng: random.Random, share: float, exclude: str) -> str | None:
    if rng.random() >= share:
        return None
    para = paragraphs[rng.randrange(len(paragraphs))]
    if not para["qas"]:
        return None
    q = para["qas"][rng.randrange(len(para["qas"]))]["question"].strip()
    return None if q == exclude else q


def squad2_examples(
    data_dir: Path, split: str, rng: random.Random, history_share: float = 0.0
) -> Iterator[Example]:
    """Every question of the squad2 articles in ``split``, each with its own paragraph."""
    for art in read_squad(data_dir / SQUAD2_FILE):
        if squad2_split(art["title"]) != split:
            continue
        for para in art["paragraphs"]:
            for qa in para["qas"]:
                question = qa["question"].strip()
                previous = previous_question(art["paragraphs"], rng, history_share, question)
                if qa.get("is_impossible") or not qa["answers"]:
                    yield Example(question, para["context"], None, None, "squad2", previous)
                else:
                    ans = qa["answers"][0]
                    yield Example(
                        question, para["context"], int(ans["answer_start"]), ans["text"], "squad2", previous
                    )


def training_examples(data_dir: Path, mix: Mix, seed: int) -> list[Example]:
    """The shuffled training set for ``mix``; the same seed gives the same list."""
    rng = random.Random(seed)
    examples = list(squad11_examples(data_dir, mix, rng))
    squad2 = list(squad2_examples(data_dir, "train", rng, mix.history_share))
    examples.extend(squad2 * mix.squad2_repeat)
    rng.shuffle(examples)
    return examples
