"""The default answer generator: extractive, grounded, offline, CPU-only.

It scores every sentence of the retrieved chunks with several signals, answers with
the best one or two, each cited by its exact character span, and abstains when the
best sentence is not good enough. Similarity alone cannot tell "on topic" from "answers
the question", so the score also asks whether the sentence holds the question's key
terms, names and numbers, and whether it holds the *kind* of thing asked for (a figure
for "how much", a place for "where", ...). Weights and threshold are fitted on gold
questions (``python -m eval.calibrate``), not guessed.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

import numpy as np

from index import CorpusIndex, tokens

from ._retrieval import Hit

# ------------------------------------------------------------------ question analysis

_NUMBER_WORDS = [
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "dozen",
    "dozens",
    "hundred",
    "hundreds",
    "thousand",
    "thousands",
    "million",
    "millions",
    "billion",
    "billions",
    "trillion",
    "half",
    "twice",
    "double",
    "triple",
    "percent",
]
_MONTHS = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
    "jan",
    "feb",
    "mar",
    "apr",
    "jun",
    "jul",
    "aug",
    "sep",
    "sept",
    "oct",
    "nov",
    "dec",
]

QTYPES = ("number", "date", "place", "person", "reason", "org", "other")

_TYPE_PATTERNS = [
    (
        "date",
        r"\bwhen\b|\bwhat (?:year|date|month|day|time)\b|\bwhich (?:year|date|month|day)\b|"
        r"\bin what year\b|\bhow long ago\b|\bsince when\b",
    ),
    (
        "number",
        r"\bhow (?:much|many|large|big|long|far|often|old|high|fast|tall|deep|heavy)\b|"
        r"\bwhat (?:percentage|percent|share|proportion|amount|number|value|size|"
        r"volume|price|cost|level|figure|rate|total)\b|\bhow did .* compare\b",
    ),
    (
        "place",
        r"\bwhere\b|\bwhich (?:city|country|district|region|place|location|sea|river|"
        r"state|province|town|capital|continent|area)\b|\bwhat (?:city|country|district|"
        r"region|place|location|sea)\b|\bin which (?:city|country|district|region|sea)\b",
    ),
    (
        "person",
        r"\bwho\b|\bwhom\b|\bwhose\b|\bwhich (?:president|leader|person|minister|author|"
        r"official|man|woman|king|writer|chairman)\b|\bname of the (?:author|president|"
        r"leader|chairman|person)\b",
    ),
    (
        "reason",
        r"\bwhy\b|\bwhat (?:is|was|are|were) the (?:purpose|reason|goal|aim|cause|point)\b|"
        r"\bfor what reason\b|\bsignifican|\bimportan|\bwhat does .* demonstrate\b",
    ),
    (
        "org",
        r"\bwhich (?:organi[sz]ation|company|agency|channel|news|institution|group|"
        r"venture|body|network|tv|firm)\b|\bwhat (?:organi[sz]ation|company|agency|"
        r"channel|institution|venture)\b",
    ),
]
_TYPE_RES = [(name, re.compile(p, re.I)) for name, p in _TYPE_PATTERNS]

_REASON_CUES = re.compile(
    r"\b(because|due to|since|so that|in order to|aims? to|aimed|goal|purpose|reason|thanks to|"
    r"as a result|therefore|demonstrat\w*|reflects?|illustrat\w*|shows?|to (?:\w+ )?(?:ensure|"
    r"strengthen|promote|enhance|improve|create|build|support|elevate|simplify))\b",
    re.I,
)
_CAP = re.compile(r"\b[A-Z][\w\-’'+]*(?:\s+[A-Z][\w\-’'+]*)*")
_NUM = re.compile(r"\d")
_FRAMING = frozenset(
    tokens(
        "name named call called locate located held hold take taken place happen happened "
        "exactly total amount number value article according author mention mentioned say "
        "said describe described kind type"
    )
)


def question_type(question: str) -> str:
    for name, pattern in _TYPE_RES:
        if pattern.search(question):
            return name
    return "other"


def _capitalised_terms(text: str) -> set[str]:
    """Stemmed tokens of capitalised words, skipping each sentence's first word."""
    out: set[str] = set()
    for match in _CAP.finditer(text):
        start = match.start()
        before = text[:start].rstrip()
        if not before or before[-1] in '.?!:\n"“':
            words = match.group().split()[1:]
        else:
            words = match.group().split()
        for word in words:
            out.update(tokens(word))
    return out


def _has_type(qtype: str, sentence: str, s_tokens: set[str], q_tokens: set[str]) -> float:
    """1.0 when the sentence holds something of the asked-for kind that the question lacks."""
    if qtype == "number":
        new_numbers = {t for t in s_tokens if t[0].isdigit() and t not in q_tokens}
        words = any(w in s_tokens for w in _NUMBER_WORDS)
        return 1.0 if new_numbers else (0.6 if words else 0.0)
    if qtype == "date":
        years = {t for t in s_tokens if re.fullmatch(r"1[5-9]\d\d|20\d\d", t) and t not in q_tokens}
        months = any(m in s_tokens for m in _MONTHS)
        if years or months:
            return 1.0
        return 0.4 if re.search(r"\b(recent|ago|last|next|early|late|since|until)\b", sentence, re.I) else 0.0
    if qtype in ("place", "person", "org"):
        names = _capitalised_terms(sentence) - q_tokens
        return 1.0 if names else 0.0
    if qtype == "reason":
        return 1.0 if _REASON_CUES.search(sentence) else 0.3
    return 0.5


# ------------------------------------------------------------------ settings and features

FEATURES = ("sim", "cov", "focus", "anchor", "type", "rank", "ctx", "chunk_sim", "covtype", "qcov")


@dataclass
class ExtractiveSettings:
    """Weights of the sentence score and the abstention threshold (fitted on gold data)."""

    # Fitted by `python -m eval.calibrate --trials 800` on eval/gold/seed.jsonl and the public
    # ClapNQ half (see the README for the cross-validated scores).
    weights: dict[str, float] = field(
        default_factory=lambda: {
            "sim": 0.5,
            "cov": 1.0,
            "focus": 2.0,
            "anchor": 0.5,
            "type": 0.75,
            "rank": 0.0,
            "ctx": 2.0,
            "chunk_sim": 1.0,
            "covtype": 1.0,
            "qcov": 0.1,
        }
    )
    threshold: float = 3.0904
    second_ratio: float = 0.92  # a second sentence joins when it scores this close to the best
    # "How many/much" needs a figure: an on-topic sentence without one is a near miss, not an
    # answer (seed: abstain recall 0.71 -> 0.79, ClapNQ 0.48 -> 0.49, no new false abstentions)
    typed_questions: tuple[str, ...] = ("number",)
    type_floor: float = 0.6
    max_sentences: int = 2
    scale: float = 4.0  # slope of the confidence curve around the threshold

    def confidence(self, score: float) -> float:
        """Map a sentence score to 0..1; 0.5 sits exactly at the abstention threshold."""
        if not math.isfinite(score):
            return 0.0
        return round(1.0 / (1.0 + math.exp(-self.scale * (score - self.threshold))), 4)

    def lacks_type(self, qtype: str, feats_row: np.ndarray) -> bool:
        return qtype in self.typed_questions and float(feats_row[FEATURES.index("type")]) < self.type_floor

    def score(self, feats: np.ndarray) -> np.ndarray:
        w = np.array([self.weights.get(f, 0.0) for f in FEATURES], dtype=np.float32)
        return feats @ w


@dataclass
class Candidate:
    doc: int
    start: int
    end: int
    chunk: int
    text: str


@dataclass
class Scored:
    candidates: list[Candidate]
    features: np.ndarray  # (n, len(FEATURES))
    qtype: str


def extract_features(
    index: CorpusIndex,
    question: str,
    focus: str,
    query_vec: np.ndarray,
    hits: list[Hit],
) -> Scored:
    """Every sentence of the retrieved chunks, with the signals the score combines."""
    qtype = question_type(focus)
    if qtype == "other":
        qtype = question_type(question)
    q_tokens = set(tokens(question))
    f_tokens = set(tokens(focus))
    content = [t for t in q_tokens if t not in _FRAMING]
    weight = {t: max(index.lexical.idf(t), 0.1) for t in q_tokens}
    for t in q_tokens & _FRAMING:
        weight[t] = 0.1
    total = sum(weight[t] for t in content) or 1.0
    focus_terms = [t for t in f_tokens if t not in _FRAMING]
    focus_total = sum(weight.get(t, 1.0) for t in focus_terms) or 1.0

    def _anchors(text: str, toks: set[str]) -> set[str]:
        return (_capitalised_terms(text) | {t for t in toks if t[0].isdigit()}) - _FRAMING

    # names and figures the answer must mention; a follow-up's own ones take precedence
    anchors = _anchors(focus, f_tokens) or _anchors(question, q_tokens)

    seen: dict[tuple[int, int], int] = {}
    candidates: list[Candidate] = []
    rows: list[list[float]] = []
    own = [int(h.chunk) for h in hits if h.chunk >= 0]
    chunk_vecs = dict(zip(own, index.chunk_vectors(own), strict=True))  # one round trip for any store
    for hit in hits:
        if hit.chunk >= 0:
            chunk_sim = float(chunk_vecs[int(hit.chunk)] @ query_vec)
            srows, svecs = index.chunk_sentences(hit.chunk)
            doc_idx = int(index.chunks[hit.chunk, 0])
        else:  # a passage cut by another retriever
            chunk_sim = hit.dense
            srows, svecs = index.span_sentences(hit.doc, hit.start, hit.end)
            doc_idx = hit.doc
        text = index.documents[doc_idx].text
        sims = svecs.astype(np.float32) @ query_vec if len(svecs) else np.zeros(0)
        prev_tokens: set[str] = set()
        next_tokens_list = [set(tokens(text[int(r[1]) : int(r[2])])) for r in srows]
        for j, r in enumerate(srows):
            start, end = int(r[1]), int(r[2])
            sentence = text[start:end]
            s_tokens = next_tokens_list[j]
            key = (doc_idx, start)
            cov = sum(weight[t] for t in content if t in s_tokens) / total
            foc = sum(weight.get(t, 1.0) for t in focus_terms if t in s_tokens) / focus_total
            anc = (len(anchors & s_tokens) / len(anchors)) if anchors else 0.5
            around = prev_tokens | (next_tokens_list[j + 1] if j + 1 < len(srows) else set())
            missing = [t for t in content if t not in s_tokens]
            ctx = (sum(weight[t] for t in missing if t in around) / total) if missing else 0.0
            feats = [
                float(sims[j]),
                cov,
                foc,
                anc,
                _has_type(qtype, sentence, s_tokens, q_tokens),
                1.0 / (1.0 + hit.rank),
                ctx,
                chunk_sim,
                0.0,  # covtype, filled below
                0.0,  # qcov, filled below
            ]
            prev_tokens = s_tokens
            if key in seen:  # the same sentence in an overlapping chunk: keep the better row
                i = seen[key]
                if candidates[i].end < end:
                    candidates[i] = Candidate(doc_idx, start, end, hit.chunk, sentence)
                rows[i] = [max(a, b) for a, b in zip(rows[i], feats, strict=False)]
                continue
            seen[key] = len(candidates)
            candidates.append(Candidate(doc_idx, start, end, hit.chunk, sentence))
            rows.append(feats)
    features = np.asarray(rows, dtype=np.float32).reshape(-1, len(FEATURES))
    if len(features):
        col = {f: i for i, f in enumerate(FEATURES)}
        features[:, col["covtype"]] = features[:, col["cov"]] * features[:, col["type"]]
        # how much of the question the retrieved text covers at all: a question whose key
        # terms appear nowhere is one the documents do not answer
        seen_tokens = set()
        for c in candidates:
            seen_tokens.update(tokens(c.text))
        features[:, col["qcov"]] = sum(weight[t] for t in content if t in seen_tokens) / total
    return Scored(candidates, features, qtype)


@dataclass
class Selection:
    picks: list[tuple[Candidate, float]]  # (sentence, confidence 0..1) in reading order
    abstained: bool
    best_score: float


def select(scored: Scored, settings: ExtractiveSettings) -> Selection:
    if not scored.candidates:
        return Selection([], True, float("-inf"))
    scores = settings.score(scored.features)
    order = np.argsort(-scores)
    best = float(scores[order[0]])
    if best < settings.threshold or settings.lacks_type(scored.qtype, scored.features[order[0]]):
        return Selection([], True, best)
    picks = [int(order[0])]
    for i in order[1:]:
        if len(picks) >= settings.max_sentences:
            break
        if scores[i] >= settings.second_ratio * best and scores[i] >= settings.threshold:
            picks.append(int(i))
    chosen = sorted(picks, key=lambda i: (scored.candidates[i].doc, scored.candidates[i].start))
    conf = [(scored.candidates[i], settings.confidence(float(scores[i]))) for i in chosen]
    return Selection(conf, False, best)
