"""Gold sets: the native JSONL format, ClapNQ, SQuAD and llama-index's LabelledRagDataset
(MTRAG-UN lives in ``_mtrag``).

Every loader yields :class:`GoldItem` objects; a dialogue is one item with several turns.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from ._splits import clapnq_split, squad2_split

# the public data sets (``../shared/data``, beside the checkout); each tool's ``--data`` overrides it
DEFAULT_DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data"
CLAPNQ_ANSWERABLE = DEFAULT_DATA / "clapnq" / "clapnq_dev_answerable_public.jsonl"


class GoldFormatError(Exception):
    """A gold file that cannot be read; ``str()`` names the file, line and field."""


@dataclass
class GoldTurn:
    question: str
    answers: list[str] = field(default_factory=list)
    answers_mode: str = "any"
    reference: str | None = None
    evidence: list[str] = field(default_factory=list)
    answerable: bool = True
    relevant_docs: list[str] = field(default_factory=list)  # doc keys that count as a hit
    # answerable / partial / unanswerable / underspecified (MTRAG-UN's answerability); other
    # formats: answerable or unanswerable, from ``answerable``
    kind: str = ""
    multi_turn: str | None = None  # MTRAG-UN: Follow-up / Clarification / N/A

    def __post_init__(self) -> None:
        if not self.kind:
            self.kind = "answerable" if self.answerable else "unanswerable"


@dataclass
class GoldItem:
    id: str
    turns: list[GoldTurn]
    source: str = ""  # the gold file it came from
    split: str = ""  # train / fit / report where the data README defines one (eval._splits)
    # the conversation before the first turn, as (user question, agent answer) pairs
    # (MTRAG-UN: each task's earlier turns); run_gold starts the item's history with them
    history: list[tuple[str, str]] = field(default_factory=list)

    @property
    def is_dialogue(self) -> bool:
        return len(self.turns) > 1


def _as_list(value, where: str) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return list(value)
    raise GoldFormatError(f"{where}: must be a string or a list of strings")


def open_text(path: Path) -> io.TextIOBase:
    """A text file, read through gzip when it is compressed (by its magic bytes, not its name)."""
    with path.open("rb") as fh:
        magic = fh.read(2)
    if magic == b"\x1f\x8b":
        return gzip.open(path, "rt", encoding="utf-8")  # type: ignore[return-value]
    return path.open(encoding="utf-8")


def _bad_json(exc: json.JSONDecodeError) -> str:
    return f"not valid JSON ({exc.msg})"


def json_lines(
    path: Path, lines: list[str] | None = None, bad: Callable[[json.JSONDecodeError], str] = _bad_json
) -> Iterator[tuple[int, str, object]]:
    """``(line number, "path:line", object)`` of each non-blank line of a JSONL file (or of its
    ``lines``, already read); a line that is not JSON stops it with ``"path:line: " + bad(error)``."""
    if lines is None:
        lines = path.read_text(encoding="utf-8").splitlines()
    for lineno, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        where = f"{path}:{lineno}"
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise GoldFormatError(f"{where}: {bad(exc)}") from exc
        yield lineno, where, obj


def load_native(path: Path) -> list[GoldItem]:
    items = []
    for _, where, obj in json_lines(path):
        if not isinstance(obj, dict) or "id" not in obj:
            raise GoldFormatError(f"{where}: each line must be an object with an 'id'")
        if "turns" in obj:
            turns = []
            for i, t in enumerate(obj["turns"]):
                if "q" not in t:
                    raise GoldFormatError(f"{where}: turns[{i}] has no 'q'")
                answerable = bool(t.get("answerable", True))
                turns.append(
                    GoldTurn(
                        question=t["q"],
                        answers=_as_list(t.get("answers"), f"{where}: turns[{i}].answers"),
                        answers_mode=t.get("answers_mode", "any"),
                        reference=t.get("reference"),
                        evidence=_as_list(t.get("evidence"), f"{where}: turns[{i}].evidence"),
                        answerable=answerable,
                    )
                )
            items.append(GoldItem(str(obj["id"]), turns, str(path)))
            continue
        if "question" not in obj:
            raise GoldFormatError(f"{where}: needs 'question' (or 'turns')")
        mode = obj.get("answers_mode", "any")
        if mode not in ("any", "all"):
            raise GoldFormatError(f"{where}: answers_mode must be 'any' or 'all'")
        items.append(
            GoldItem(
                str(obj["id"]),
                [
                    GoldTurn(
                        question=obj["question"],
                        answers=_as_list(obj.get("answers"), f"{where}: answers"),
                        answers_mode=mode,
                        reference=obj.get("reference"),
                        evidence=_as_list(obj.get("evidence"), f"{where}: evidence"),
                        answerable=bool(obj.get("answerable", True)),
                    )
                ],
                str(path),
            )
        )
    return items


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-")[:60] or "passage"


def clapnq_doc_key(title: str, text: str) -> str:
    digest = hashlib.sha1(text.encode("utf-8")).hexdigest()[:10]
    return f"{_slug(title)}-{digest}.md"


@dataclass(frozen=True)
class ClapNQRecord:
    """One ClapNQ question: its passages as (title, text) and its first gold output."""

    lineno: int
    id: str
    question: str
    passages: list[tuple[str, str]]
    output: dict


def _not_clapnq(exc: Exception) -> str:
    return f"not a ClapNQ record ({exc})"


def clapnq_records(path: Path) -> Iterator[ClapNQRecord]:
    """The records of a ClapNQ JSONL file: the one reader of ClapNQ (``qa eval``, ``qa bench``'s
    corpus, :mod:`eval.bench_store`); a record without what they read is a one-line error."""
    for lineno, where, obj in json_lines(path, bad=_not_clapnq):
        try:
            passages, output, question = obj["passages"], obj["output"][0], obj["input"]  # type: ignore[index]
            pairs = [(p.get("title", ""), p["text"]) for p in passages]
            record = ClapNQRecord(lineno, str(obj["id"]), question, pairs, output)  # type: ignore[index]
        except (KeyError, IndexError, TypeError, AttributeError) as exc:
            raise GoldFormatError(f"{where}: {_not_clapnq(exc)}") from exc
        yield record


def load_clapnq(paths: list[Path], corpus_dir: Path | None = None) -> list[GoldItem]:
    """ClapNQ JSONL; the corpus is the union of all loaded passages, written to ``corpus_dir``."""
    items = []
    for path in paths:
        for rec in clapnq_records(path):
            keys = []
            for title, text in rec.passages:
                key = clapnq_doc_key(title, text)
                keys.append(key)
                if corpus_dir is not None:
                    corpus_dir.mkdir(parents=True, exist_ok=True)
                    target = corpus_dir / key
                    if not target.exists():
                        target.write_text(f"# {title}\n\n{text}", encoding="utf-8")
            output = rec.output
            answer = output.get("answer")
            answerable = answer is not None and str(answer).strip() != ""
            evidence = list(output.get("selected_sentences") or []) if answerable else []
            items.append(
                GoldItem(
                    rec.id,
                    [
                        GoldTurn(
                            question=rec.question,
                            reference=answer if answerable else None,
                            evidence=evidence,
                            answerable=answerable,
                            relevant_docs=keys,
                        )
                    ],
                    str(path),
                    clapnq_split(rec.lineno),
                )
            )
    return items


def _read_json(path: Path) -> object:
    """A JSON file, gzip-compressed or not (SQuAD files ship as .json.gz)."""
    with open_text(path) as fh:
        return json.load(fh)


def squad_doc_key(title: str, index: int) -> str:
    return f"{_slug(title)}-{index:03d}.md"


def load_squad(paths: list[Path], corpus_dir: Path | None = None) -> list[GoldItem]:
    """SQuAD 2.0 JSON (or 1.1): every paragraph of the loaded articles is one document, so a
    question must find its own paragraph among its article's others. The evidence is the
    sentence holding an answer span; ``is_impossible`` questions must be declined."""
    from index import sentence_spans

    items = []
    for path in paths:
        try:
            data = _read_json(path)
            articles = data["data"]  # type: ignore[index]
        except (OSError, EOFError, ValueError, KeyError, TypeError) as exc:
            raise GoldFormatError(f"{path}: not a SQuAD JSON file ({exc})") from exc
        for a, art in enumerate(articles):
            try:
                title = str(art["title"])
                paragraphs = art["paragraphs"]
            except (KeyError, TypeError) as exc:
                raise GoldFormatError(f"{path}: data[{a}] has no {exc} (SQuAD layout)") from exc
            split = squad2_split(title)
            for p, para in enumerate(paragraphs):
                where = f"{path}: data[{a}].paragraphs[{p}]"
                try:
                    context, qas = str(para["context"]), para["qas"]
                except (KeyError, TypeError) as exc:
                    raise GoldFormatError(f"{where}: missing {exc}") from exc
                key = squad_doc_key(title, p)
                if corpus_dir is not None:
                    corpus_dir.mkdir(parents=True, exist_ok=True)
                    target = corpus_dir / key
                    if not target.exists():
                        target.write_text(f"# {title.replace('_', ' ')}\n\n{context}", encoding="utf-8")
                spans = sentence_spans(context)
                for q, qa in enumerate(qas):
                    try:
                        question, qid = str(qa["question"]).strip(), str(qa["id"])
                        impossible = bool(qa.get("is_impossible", False))
                        answers = (
                            []
                            if impossible
                            else [(str(x["text"]), int(x["answer_start"])) for x in qa["answers"]]
                        )
                    except (KeyError, TypeError, ValueError) as exc:
                        raise GoldFormatError(f"{where}.qas[{q}]: missing or bad {exc}") from exc
                    evidence = []
                    for _, start in answers:
                        for s, e in spans:
                            if s <= start < e and context[s:e] not in evidence:
                                evidence.append(context[s:e])
                    texts = list(dict.fromkeys(t for t, _ in answers))
                    turn = GoldTurn(
                        question=question,
                        answers=texts,
                        evidence=evidence,
                        answerable=not impossible,
                        relevant_docs=[key],
                    )
                    items.append(GoldItem(qid, [turn], str(path), split))
    return items


def load_llamaindex(path: Path) -> list[GoldItem]:
    """llama-index ``LabelledRagDataset`` JSON (``{"examples": [...]}``)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        examples = data["examples"]
    except (json.JSONDecodeError, KeyError, TypeError) as exc:
        raise GoldFormatError(f"{path}: not a LabelledRagDataset JSON ({exc})") from exc
    items = []
    for i, ex in enumerate(examples):
        if "query" not in ex:
            raise GoldFormatError(f"{path}: examples[{i}] has no 'query'")
        ref = ex.get("reference_answer")
        items.append(
            GoldItem(
                str(ex.get("id") or f"example-{i}"),
                [
                    GoldTurn(
                        question=ex["query"],
                        reference=ref,
                        evidence=list(ex.get("reference_contexts") or []),
                        answerable=bool(ref),
                    )
                ],
                str(path),
            )
        )
    return items
