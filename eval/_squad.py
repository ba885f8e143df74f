"""SQuAD's official answer metrics (EM and F1, v2.0 evaluation script's normalisation).

A question with no gold answers is an unanswerable one: only an empty prediction (a
decline) scores 1 on it, in both metrics.
"""

from __future__ import annotations

import collections
import re
import string
from collections.abc import Sequence

_ARTICLES = re.compile(r"\b(a|an|the)\b", re.UNICODE)
_PUNCT = frozenset(string.punctuation)


def normalize_answer(text: str) -> str:
    """Lower case, drop punctuation and articles, collapse whitespace (as the official script)."""
    text = "".join(ch for ch in text.lower() if ch not in _PUNCT)
    return " ".join(_ARTICLES.sub(" ", text).split())


def _tokens(text: str) -> list[str]:
    return normalize_answer(text).split() if text else []


def exact(prediction: str, gold: str) -> float:
    return float(normalize_answer(prediction) == normalize_answer(gold))


def token_f1(prediction: str, gold: str) -> float:
    pred, ref = _tokens(prediction), _tokens(gold)
    if not pred or not ref:
        return float(pred == ref)  # both empty: a right decline; one empty: wrong
    common = collections.Counter(pred) & collections.Counter(ref)
    same = sum(common.values())
    if same == 0:
        return 0.0
    precision, recall = same / len(pred), same / len(ref)
    return 2 * precision * recall / (precision + recall)


def _golds(answers: Sequence[str]) -> list[str]:
    golds = [a for a in answers if normalize_answer(a)]
    return golds or [""]


def exact_match(prediction: str, answers: Sequence[str]) -> float:
    """Best EM over the gold answers; ``answers`` empty means the question has no answer."""
    return max(exact(prediction, g) for g in _golds(answers))


def f1(prediction: str, answers: Sequence[str]) -> float:
    """Best token F1 over the gold answers; ``answers`` empty means the question has no answer."""
    return max(token_f1(prediction, g) for g in _golds(answers))
