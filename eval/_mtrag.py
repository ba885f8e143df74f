"""MTRAG-UN generation tasks (``shared/data/mtragun/README.md``) as gold items.

Each task is the last user turn of a conversation: one :class:`GoldItem` whose history is
the conversation before it. The corpus is the union of the ``contexts`` of every loaded
task, one Markdown file per document, so each turn must find its own passages among all
the others.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Any

from ._datasets import GoldFormatError, GoldItem, GoldTurn, _slug, json_lines, open_text
from ._splits import mtrag_split

KINDS = ("answerable", "partial", "unanswerable", "underspecified")
ANSWERED_KINDS = frozenset({"answerable", "partial"})  # the kinds that have a reference answer


def looks_like_mtrag(obj: object) -> bool:
    """The first record of an MTRAG-UN file: ``input`` is a list of turns, with targets or contexts."""
    return (
        isinstance(obj, dict)
        and isinstance(obj.get("input"), list)
        and ("targets" in obj or "contexts" in obj)
    )


_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")


def mtrag_doc_key(collection: str, document_id: str) -> str:
    """The corpus file of one document: ``{collection}-{document_id}.md`` in safe characters.

    An id that had to be changed to be safe (or cut to fit) gets a digest of the original,
    so two ids never share a file; the same id always gets the same name.
    """
    safe = _UNSAFE.sub("-", document_id).strip("-.")[:80]
    if safe != document_id:
        safe = f"{safe}-{hashlib.sha1(document_id.encode('utf-8')).hexdigest()[:8]}"
    return f"{_slug(collection) if collection.strip() else 'mtrag'}-{safe}.md"


def _text(obj: dict, key: str, where: str, *, empty: bool = True) -> str:
    value = obj.get(key)
    if not isinstance(value, str) or (not empty and not value.strip()):
        what = "a string" if empty else "a non-empty string"
        raise GoldFormatError(f"{where}{key} must be {what}")
    return value


def _history(turns: list, where: str) -> tuple[str, list[tuple[str, str]]]:
    """The question (the last turn, a user's) and (user, agent) pairs of the turns before it."""
    if not turns:
        raise GoldFormatError(f"{where}input must be a non-empty list of turns")
    said: list[tuple[str, str]] = []
    for i, t in enumerate(turns):
        at = f"{where}input[{i}]."
        if not isinstance(t, dict):
            raise GoldFormatError(f"{at[:-1]} must be an object with speaker and text")
        if t.get("speaker") not in ("user", "agent"):
            raise GoldFormatError(f"{at}speaker must be 'user' or 'agent', not {t.get('speaker')!r}")
        said.append((t["speaker"], _text(t, "text", at)))
    *before, (speaker, question) = said
    if speaker != "user":
        raise GoldFormatError(f"{where}input[{len(said) - 1}]: the last turn must be the user's question")
    if not question.strip():
        raise GoldFormatError(f"{where}input[{len(said) - 1}].text: the question is empty")
    pairs: list[list[str]] = []
    for speaker, text in before:
        if speaker == "user":
            pairs.append([text, ""])
        elif pairs and not pairs[-1][1]:
            pairs[-1][1] = text
        elif pairs:  # two agent turns in a row: one answer
            pairs[-1][1] = f"{pairs[-1][1]}\n\n{text}"
        else:  # the agent spoke first
            pairs.append(["", text])
    return question, [(q, a) for q, a in pairs]


def _first(obj: dict, key: str, where: str, *, required: bool) -> str | None:
    """The first entry of a one-element list field (``answerability``, ``Multi-Turn``)."""
    value = obj.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, list) or not value or not isinstance(value[0], str):
        raise GoldFormatError(f"{where}{key} must be a non-empty list of strings")
    return value[0]


def _task(obj: Any, where: str, corpus: dict[str, str]) -> GoldItem:
    """One record as a gold item; its passages are added to ``corpus`` (file key -> content)."""
    if not isinstance(obj, dict):
        raise GoldFormatError(f"{where}not an MTRAG record (each line must be an object)")
    task_id = _text(obj, "task_id", where, empty=False)
    conversation_id = _text(obj, "conversation_id", where, empty=False)
    collection = _text(obj, "Collection", where, empty=False)
    question, history = _history(obj.get("input") if isinstance(obj.get("input"), list) else [], where)
    kind = str(_first(obj, "answerability", where, required=True)).lower()
    if kind not in KINDS:
        raise GoldFormatError(f"{where}answerability[0] must be one of {', '.join(k.upper() for k in KINDS)}")
    multi_turn = _first(obj, "Multi-Turn", where, required=False)
    contexts = obj.get("contexts", [])
    if not isinstance(contexts, list):
        raise GoldFormatError(f"{where}contexts must be a list of passages")
    keys, evidence = [], []
    for i, c in enumerate(contexts):
        at = f"{where}contexts[{i}]."
        if not isinstance(c, dict):
            raise GoldFormatError(f"{at[:-1]} must be an object with document_id and text")
        key = mtrag_doc_key(collection, _text(c, "document_id", at, empty=False))
        text = _text(c, "text", at, empty=False).strip()
        title = c.get("title")
        if title is not None and not isinstance(title, str):
            raise GoldFormatError(f"{at}title must be a string")
        content = f"# {title.strip()}\n\n{text}" if title and title.strip() else text
        if corpus.setdefault(key, content) != content:
            raise GoldFormatError(f"{at}document_id {c['document_id']!r}: another task gives it another text")
        if key not in keys:
            keys.append(key)
            evidence.append(text)
    reference = None
    if kind in ANSWERED_KINDS:
        targets = obj.get("targets")
        if not isinstance(targets, list) or not targets or not isinstance(targets[0], dict):
            raise GoldFormatError(f"{where}targets must be a non-empty list for an {kind} task")
        reference = _text(targets[0], "text", f"{where}targets[0].", empty=False)
    turn = GoldTurn(
        question=question,
        reference=reference,
        evidence=evidence,
        answerable=kind in ANSWERED_KINDS,
        relevant_docs=keys,
        kind=kind,
        multi_turn=multi_turn,
    )
    return GoldItem(task_id, [turn], "", mtrag_split(conversation_id), history)


def _write_corpus(corpus_dir: Path, corpus: dict[str, str]) -> None:
    """One file per document; a file that already holds the same text is left alone (so an index
    over the folder sees nothing changed)."""
    corpus_dir.mkdir(parents=True, exist_ok=True)
    for key, content in corpus.items():
        target = corpus_dir / key
        if target.is_file() and target.read_text(encoding="utf-8") == content:
            continue
        target.write_text(content, encoding="utf-8")


def load_mtrag(paths: list[Path], corpus_dir: Path | None = None) -> list[GoldItem]:
    """MTRAG-UN JSONL (``.jsonl`` or ``.jsonl.gz``); the passages of all tasks go to ``corpus_dir``."""
    items: list[GoldItem] = []
    corpus: dict[str, str] = {}
    for path in paths:
        try:
            with open_text(path) as fh:
                lines = fh.read().splitlines()
        except (OSError, EOFError, UnicodeDecodeError) as exc:
            raise GoldFormatError(f"{path}: cannot read ({exc})") from exc
        for _, where, obj in json_lines(path, lines):
            item = _task(obj, f"{where}: ", corpus)
            item.source = str(path)
            items.append(item)
    if corpus_dir is not None:
        _write_corpus(corpus_dir, corpus)
    return items
