"""The default answer generator: the reader reads the retrieved passages; the answer is its span.

The shipped reader (``qa/_reader.py``) scores, for each retrieved passage, its best answer
span against "no answer". The answer leads with that span (the place, date or figure asked
for) and cites the sentence holding it; further sentences of the passage join, in document
order, when the reader scores a span inside them nearly as high as the answer's own, which
is how an answer spread over several sentences is found without question-word rules. When
no passage's span beats the no-answer score by the fitted threshold, it declines.

Every number it decides by is fitted on the fit splits by ``python -m eval.fit_answerer``,
which writes ``qa/models/answerer.json``; this module only reads that file.

>>> gen = ExtractiveGenerator()
>>> gen.name
'extractive'
"""

from __future__ import annotations

import json
import math
import threading
from dataclasses import asdict, dataclass, field, fields
from functools import cached_property
from pathlib import Path

from index import tokens

from ._generation import ABSTAIN_TEXT, Generation, GenerationRequest, ShortSpan, Span
from ._hostile import hostile_spans
from ._language import non_english, notice
from ._reader import PassageReading, Reader, ReaderResult
from ._terms import names_another_figure
from ._types import AnswerSentence

__all__ = ["ANSWERER_FILE", "ExtractiveGenerator", "ExtractiveSettings", "Reading"]

ANSWERER_FILE = Path(__file__).resolve().parent / "models" / "answerer.json"


@dataclass(frozen=True)
class ExtractiveSettings:
    """How the reader's scores become an answer; the fitted values live in ``answerer.json``."""

    threshold: float = 0.0  # answer when a passage's decision score (below) reaches this
    # the decision score of a passage: the reader's span-against-no-answer score plus these
    # weights times named retrieval features (fitted by logistic regression on the fit splits:
    # the reader alone separates answerable from not with AUC 0.64 there, 0.70 with them)
    weights: dict[str, float] = field(
        default_factory=lambda: {"similarity": 0.0, "coverage": 0.0, "in_conversation": 0.0}
    )
    join_margin: float = 2.0  # another sentence joins when its best span scores within this of the answer's
    max_sentences: int = 3
    passages: int = 5  # the most retrieved passages read
    first: int = 2  # read these first; the rest only when none of them is confident
    confident: float = math.inf  # ... where confident means scoring this far above the threshold
    lead_share: float = 0.6  # lead with the span when it is shorter than this share of its sentence
    # a passage about another one of what the question names by number never answers it (ticket
    # 52 for ticket 25, 1997 for 1998); kept by the fit tool only when it does not hurt the fit splits
    require_figures: bool = False

    @classmethod
    def load(cls, path: Path = ANSWERER_FILE) -> ExtractiveSettings:
        """The fitted settings (defaults where the file does not exist yet, e.g. while fitting)."""
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return cls()
        except (OSError, json.JSONDecodeError) as exc:
            raise ValueError(f"{path}: cannot read the answerer's settings ({exc})") from exc
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in (data.get("settings") or {}).items() if k in known}
        if values.get("confident") is None:
            values.pop("confident", None)
        return cls(**values)

    def as_dict(self) -> dict:
        d = asdict(self)
        d["confident"] = None if math.isinf(self.confident) else self.confident
        return d

    def confidence(self, score: float) -> float:
        """0..1; 0.5 sits exactly at the threshold."""
        if not math.isfinite(score):
            return 0.0
        return round(1.0 / (1.0 + math.exp(-(score - self.threshold))), 4)


@dataclass
class Sentence:
    start: int  # character offsets in the document
    end: int
    score: float  # the reader's best span inside it, against no-answer


FEATURES = ("similarity", "coverage")  # weighted by a logistic regression in the fit
# per-turn offsets: the same for every passage of a turn, so they move its decision score, never
# which passage answers; the fit sweeps their weight against its objective (a regression would
# only learn how often conversational turns are answerable)
OFFSETS = ("in_conversation",)


@dataclass
class PassageRead:
    """One retrieved passage as the reader read it, with the retrieval features beside it."""

    doc: int
    start: int  # the passage's offset in its document
    sentences: list[tuple[int, int]]  # sentence spans in the document
    reading: PassageReading
    features: dict[str, float]  # similarity: cosine of the question and the sentence holding
    # the best span, embedded on its own (the index's chunk and in-chunk sentence vectors
    # depend on chunk length and so on the corpus, which a fitted weight must not); coverage:
    # share of the question's idf weight whose terms the passage holds; in_conversation: 1 for
    # a turn with history

    blocked: list[tuple[int, int]] = field(default_factory=list)  # sentences posing as instructions

    @cached_property
    def span(self) -> ReaderResult:
        """The reader's best span, outside any sentence that poses as an instruction to the
        assistant: such text is never evidence, however well it "answers" (an injection)."""
        r = self.reading.best()
        a, b = self.start + r.start, self.start + r.end
        if not any(s < b and a < e for s, e in self.blocked):
            return r
        allowed = self.sentence_scores()
        if not allowed:
            return ReaderResult(float("-inf"), 0, 0, "")
        top = max(allowed, key=lambda x: x.score)
        return self.reading.best((top.start - self.start, top.end - self.start))

    def best(self, weights: dict[str, float] | None = None) -> tuple[float, int, int]:
        """(decision score, span start, span end): the reader's score plus the weighted features."""
        r = self.span
        return r.score + self.bonus(weights), self.start + r.start, self.start + r.end

    def bonus(self, weights: dict[str, float] | None) -> float:
        return sum(w * self.features.get(name, 0.0) for name, w in (weights or {}).items())

    def sentence_scores(self, weights: dict[str, float] | None = None) -> list[Sentence]:
        """Each sentence's decision score (the best span inside it, plus the passage's features),
        instruction-like sentences left out."""
        bonus = self.bonus(weights)
        return [
            Sentence(s, e, self.reading.best((s - self.start, e - self.start)).score + bonus)
            for s, e in self.sentences
            if (s, e) not in self.blocked
        ]


@dataclass
class Reading:
    """Everything the reader made of one request: what :meth:`ExtractiveGenerator.compose` decides on."""

    passages: list[PassageRead]
    reader: str
    notice: str | None = None  # set when the question or the passages are not English


def _coverage(index, question: str):
    """A function: the share of the question's idf weight whose terms a passage holds."""
    q = set(tokens(question))
    weight = {t: max(index.lexical.idf(t), 0.1) for t in q}
    total = sum(weight.values()) or 1.0

    def share(passage: str) -> float:
        held = set(tokens(passage))
        return sum(w for t, w in weight.items() if t in held) / total

    return share


class ExtractiveGenerator:
    """Answers with the reader's span and the sentences holding it, or declines.

    ``name`` stays ``"extractive"``: every word of the answer is quoted from a document.
    """

    name = "extractive"

    def __init__(self, settings: ExtractiveSettings | None = None, reader: Reader | None = None) -> None:
        self.settings = settings or ExtractiveSettings.load()
        self._reader = reader
        self._lock = threading.Lock()

    @property
    def reader(self) -> Reader:
        if self._reader is None:
            with self._lock:
                if self._reader is None:
                    self._reader = Reader()
        return self._reader

    def warm_up(self) -> None:
        self.reader.warm_up()
        non_english("warming up the language check")

    def generate(self, request: GenerationRequest) -> Generation:
        return self.compose(self.read(request), request)

    # -- the two halves: reading (slow, the model) and deciding (cheap, the fitted numbers)

    def read(self, request: GenerationRequest, settings: ExtractiveSettings | None = None) -> Reading:
        """Read the retrieved passages in rank order, only as many as the answer needs."""
        s = settings or self.settings
        reader = self.reader
        language = non_english(request.question)
        if language:
            return Reading([], reader.version, notice(language, "question"))
        index = request.index
        hits = list(request.hits[: s.passages])
        if hits:
            top = index.documents[hits[0].doc].text[hits[0].start : hits[0].end]
            language = non_english(top)
            if language:
                return Reading([], reader.version, notice(language, "best-matching passage"))
        passages: list[PassageRead] = []
        coverage = _coverage(index, request.standalone)
        question = request.question if request.previous else request.standalone
        for group in (hits[: s.first], hits[s.first :]):
            if not group:
                continue
            texts = [index.documents[h.doc].text[h.start : h.end] for h in group]
            readings = reader.read_passages(question, texts, request.previous)
            for hit, reading in zip(group, readings, strict=True):
                if hit.chunk >= 0:
                    rows = index.chunk_sentences(hit.chunk)
                else:
                    rows = index.span_sentences(hit.doc, hit.start, hit.end)
                spans = [(int(r[1]), int(r[2])) for r in rows]
                text_of = index.documents[hit.doc].text
                blocked = hostile_spans(text_of, spans)
                passage = PassageRead(hit.doc, hit.start, spans, reading, {}, blocked)
                best = passage.span
                at = hit.start + best.start
                holder = next(((b, e) for b, e in spans if b <= at < e), None)
                sim = hit.dense
                if holder is not None and request.embedder is not None:
                    sentence = text_of[holder[0] : holder[1]]
                    sim = float(request.embedder.embed_query(sentence) @ request.query_vec)
                passage.features = {
                    "similarity": sim,
                    "coverage": coverage(reading.passage),
                    # a turn of a conversation, read beside the question before it: people ask
                    # follow-ups loosely ("Are these open at weekends?"), and the reader, trained
                    # on single questions, scores their answers lower than a standalone question's
                    "in_conversation": 1.0 if request.previous else 0.0,
                }
                passages.append(passage)
            if max(p.best(s.weights)[0] for p in passages) >= s.threshold + s.confident:
                break
        return Reading(passages, reader.version)

    def compose(
        self,
        reading: Reading,
        request: GenerationRequest | None = None,
        settings: ExtractiveSettings | None = None,
    ) -> Generation:
        """The answer the settings make of ``reading``; no model runs here."""
        s = settings or self.settings
        if reading.notice:
            return Generation(reading.notice, True, confidence=0.0, reader=reading.reader)
        eligible = self._eligible(reading, request, s)
        if not eligible:
            return Generation(ABSTAIN_TEXT, True, confidence=0.0, reader=reading.reader, score=-math.inf)
        bests = [p.best(s.weights) for p in reading.passages]
        order = sorted(eligible, key=lambda i: -bests[i][0])
        top = order[0]
        score, a_start, a_end = bests[top]
        confidence = s.confidence(score)
        if score < s.threshold:
            return Generation(ABSTAIN_TEXT, True, confidence=confidence, reader=reading.reader, score=score)
        chosen = self._sentences(reading, order, bests, s)
        doc = reading.passages[top].doc
        text_of = request.index.documents[doc].text if request is not None else None
        return self._write(
            chosen, doc, a_start, a_end, score, confidence, reading.reader, text_of, s, request
        )

    @staticmethod
    def _eligible(reading: Reading, request: GenerationRequest | None, s: ExtractiveSettings) -> list[int]:
        """The passages that may answer: all, or with ``require_figures`` those not about another
        one of what the question names by number (ticket 52 for ticket 25)."""
        every = list(range(len(reading.passages)))
        if not s.require_figures or request is None:
            return every
        question = request.standalone
        return [i for i in every if not names_another_figure(question, reading.passages[i].reading.passage)]

    def _sentences(
        self, reading: Reading, order: list[int], bests: list[tuple[float, int, int]], s: ExtractiveSettings
    ) -> list[tuple[int, Sentence]]:
        """(doc, sentence) to quote: those holding the answer, then close runners-up, in document order."""
        top = order[0]
        score, a_start, a_end = bests[top]
        best_p = reading.passages[top]
        holding = [Sentence(b, e, score) for b, e in best_p.sentences if b < a_end and e > a_start]
        if not holding:  # a passage cut without stored sentences: quote the span itself
            holding = [Sentence(a_start, a_end, score)]
        floor = max(s.threshold, score - s.join_margin)
        taken = {(best_p.doc, x.start) for x in holding}
        extra: list[tuple[int, Sentence]] = []
        for sent in best_p.sentence_scores(s.weights):
            if (best_p.doc, sent.start) not in taken and sent.score >= floor:
                extra.append((best_p.doc, sent))
        for i in order[1:]:  # another passage's answer, when nearly as strong and not already quoted
            p_score, p_start, p_end = bests[i]
            p = reading.passages[i]
            if p_score < floor:
                break
            for b, e in p.sentences:
                if b < p_end and e > p_start and (p.doc, b) not in taken:
                    extra.append((p.doc, Sentence(b, e, p_score)))
        extra.sort(key=lambda x: -x[1].score)
        picked: list[tuple[int, Sentence]] = [(best_p.doc, x) for x in holding]
        for doc, sent in extra:
            if len(picked) >= max(s.max_sentences, len(holding)):
                break
            if (doc, sent.start) in taken or any(
                d == doc and x.start < sent.end and x.end > sent.start for d, x in picked
            ):
                continue
            taken.add((doc, sent.start))
            picked.append((doc, sent))
        first_doc = best_p.doc
        picked.sort(key=lambda x: (x[0] != first_doc, x[0], x[1].start))
        return picked

    def _write(
        self,
        chosen: list[tuple[int, Sentence]],
        doc: int,
        a_start: int,
        a_end: int,
        score: float,
        confidence: float,
        reader: str,
        text_of: str | None,
        s: ExtractiveSettings,
        request: GenerationRequest | None,
    ) -> Generation:
        index = request.index if request is not None else None
        parts: list[str] = []
        spans: list[Span] = []
        sentences: list[AnswerSentence] = []
        short: ShortSpan | None = None
        for n, (d, sent) in enumerate(chosen, start=1):
            quote = index.documents[d].text[sent.start : sent.end] if index is not None else ""
            conf = s.confidence(sent.score)
            parts.append(f"{quote} [{n}]")
            spans.append(Span(d, sent.start, sent.end, conf))
            sentences.append(
                AnswerSentence(
                    text=quote, citations=[n], support=conf, kept=True, reason="read by the reader"
                )
            )
            if short is None and d == doc and sent.start <= a_start < sent.end:
                short = ShortSpan(n, a_start, a_end)
        body = " ".join(parts)
        span_text = text_of[a_start:a_end].strip() if text_of is not None else ""
        holder = next((x for d, x in chosen if d == doc and x.start <= a_start < x.end), None)
        if span_text and holder is not None and len(span_text) < s.lead_share * (holder.end - holder.start):
            body = f"{span_text.rstrip('.,;:')} — {body}"
        return Generation(
            body, False, spans, sentences, confidence=confidence, short=short, reader=reader, score=score
        )
