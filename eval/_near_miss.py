"""Near-miss questions made from SQuAD 1.1 ones, for the reader's second training stage.

SQuAD 2.0's unanswerable questions were written to look answerable; its paper counts the
kinds, and two of the commonest can be made from an answerable question without a model:
an antonym ("largest" -> "smallest", 20% of them) and a negation ("was" -> "was not", 9%).
The first stage's negatives (another paragraph, the answer's sentence cut, a name the
paragraph lacks) can be told apart by a missing word; these cannot: every word of the
question is still in the paragraph, or the change is one small word. Each is paired with
its answerable original on the same paragraph, so the reader has to read the difference.

An antonym is used only when the paragraph never says it, so the changed question has no
answer there; a negated question could still be answered by a list of exceptions, which
SQuAD paragraphs rarely hold.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, replace
from pathlib import Path

from ._reader_data import (
    Example,
    Mix,
    first_stage_questions,
    previous_question,
    squad2_examples,
    squad11_records,
)

_PAIRS = [
    ("largest", "smallest"),
    ("biggest", "smallest"),
    ("highest", "lowest"),
    ("first", "last"),
    ("most", "least"),
    ("earliest", "latest"),
    ("oldest", "newest"),
    ("maximum", "minimum"),
    ("before", "after"),
    ("increase", "decrease"),
    ("increased", "decreased"),
    ("north", "south"),
    ("east", "west"),
    ("northern", "southern"),
    ("eastern", "western"),
    ("more", "less"),
    ("larger", "smaller"),
    ("higher", "lower"),
    ("longest", "shortest"),
    ("best", "worst"),
    ("major", "minor"),
    ("positive", "negative"),
    ("private", "public"),
    ("internal", "external"),
    ("won", "lost"),
    ("win", "lose"),
    ("began", "ended"),
    ("opened", "closed"),
    ("legal", "illegal"),
    ("common", "rare"),
    ("strongest", "weakest"),
    ("ancient", "modern"),
    ("upper", "lower"),
    ("early", "late"),
    ("inside", "outside"),
    ("accepted", "rejected"),
    ("male", "female"),
    ("success", "failure"),
    ("allowed", "banned"),
    ("rich", "poor"),
    ("richest", "poorest"),
    ("fastest", "slowest"),
    ("cheapest", "most expensive"),
    ("younger", "older"),
    ("youngest", "oldest"),
]
ANTONYMS: dict[str, str] = {a: b for a, b in _PAIRS} | {b: a for a, b in _PAIRS if " " not in b}
_ANTONYM = re.compile(r"\b(" + "|".join(sorted(ANTONYMS, key=len, reverse=True)) + r")\b", re.IGNORECASE)
_NEGATABLE = re.compile(
    r"^(?:what|which|who|whom|whose|where|when|how(?:\s+\w+)?)\b(?:\s+\w+){0,3}?\s+"
    r"(is|are|was|were|can|could|will|would|should|has|have|had|must|may|might)\s+(?!not\b|n't\b)",
    re.IGNORECASE,
)


def _case_like(word: str, like: str) -> str:
    return word.capitalize() if like[:1].isupper() else word


def antonym(question: str, paragraph: str) -> str | None:
    """``question`` with one word turned into its opposite, when the paragraph never says the
    opposite (so the changed question has no answer there); else None."""
    lowered = paragraph.lower()
    for m in _ANTONYM.finditer(question):
        new = ANTONYMS[m.group().lower()]
        if re.search(rf"\b{re.escape(new)}\b", lowered):
            continue
        return question[: m.start()] + _case_like(new, m.group()) + question[m.end() :]
    return None


def negate(question: str) -> str | None:
    """``question`` with "not" after its first auxiliary ("Who was not the first ..."), or None
    when it has none in the first few words (or is negative already)."""
    if re.search(r"\b(not|never|n't)\b", question, re.IGNORECASE):
        return None
    m = _NEGATABLE.match(question)
    if m is None:
        return None
    return question[: m.end(1)] + " not" + question[m.end(1) :]


@dataclass(frozen=True)
class NearMissStage:
    """The second stage: a short, gentler continuation on near misses and their originals."""

    steps: int = 350
    batch_size: int = 32
    lr: float = 3e-5
    antonym: int = 1500  # antonym near misses, each beside its original
    negate: int = 1500  # negated near misses, each beside its original
    squad11: int = 1500  # fresh answerable questions, so spans are not forgotten
    squad2_repeat: int = 1


def near_miss_examples(data_dir: Path, first: Mix, stage: NearMissStage, seed: int) -> list[Example]:
    """The second stage's examples, from SQuAD 1.1 questions the first stage never saw, plus
    every squad2 train-article question again; shuffled, the same for the same seed."""
    records, articles = squad11_records(data_dir)
    _, fresh = first_stage_questions(len(records), first, seed)
    rng = random.Random(seed + 1)
    out: list[Example] = []
    made = {"antonym": 0, "negate": 0, "squad11": 0}
    for idx in fresh:
        a, pi, qa = records[idx]
        paragraph = articles[a][0][pi]
        ans = qa["answers"][0]
        question = qa["question"].strip()
        # follow-ups as often as in the first stage, or the reader unlearns reading history
        previous = previous_question(articles[a][2], rng, first.history_share, exclude=question)
        original = Example(
            question, paragraph, int(ans["answer_start"]), ans["text"], "near-miss-original", previous
        )
        changed = antonym(question, paragraph) if made["antonym"] < stage.antonym else None
        kind = "antonym"
        if changed is None and made["negate"] < stage.negate:
            changed, kind = negate(question), "negate"
        if changed is not None:
            out += [Example(changed, paragraph, None, None, f"near-miss-{kind}", previous), original]
            made[kind] += 1
        elif made["squad11"] < stage.squad11:
            out.append(replace(original, source="squad11"))
            made["squad11"] += 1
        if made == {"antonym": stage.antonym, "negate": stage.negate, "squad11": stage.squad11}:
            break
    out += list(squad2_examples(data_dir, "train", rng, first.history_share)) * stage.squad2_repeat
    rng.shuffle(out)
    return out
