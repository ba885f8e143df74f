"""The shipped reader: does a passage answer the question, and with which span?

A MiniLM cross-encoder we train ourselves (``eval.train_reader``; card in
``qa/models/reader/MODEL_CARD.md``), run through onnxruntime with int8 weights, so
answering imports no torch and reads a 256-token passage in milliseconds. The weights
are checked against the sha256 in ``reader.json`` when they load: a changed or corrupt
file is refused with one line naming it.

>>> reader = Reader()                                                       # doctest: +SKIP
>>> r = reader.read("When did it open?", "The bridge opened in 1932 after six years of work.")
>>> r.text, r.answerable                                                    # doctest: +SKIP
('1932', True)
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ._reader_features import (
    MAX_TOKENS,
    STRIDE,
    Featurizer,
    SpanChoice,
    batch_arrays,
    best_span,
    load_tokenizer,
)

__all__ = [
    "READER_DIR",
    "PassageReading",
    "Reader",
    "ReaderError",
    "ReaderResult",
    "reader_version",
    "write_manifest",
]

READER_DIR = Path(__file__).resolve().parent / "models" / "reader"
WEIGHTS = "reader.onnx"
MANIFEST = "reader.json"


class ReaderError(Exception):
    """The reader's files are missing or do not match their manifest; ``str()`` is one line."""


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write_manifest(folder: Path, **fields: Any) -> dict:
    """Write ``reader.json`` for the weights in ``folder``: checksum, version, input layout and
    the fitted no-answer threshold. Only the tools that train or fit the reader call this."""
    weights = folder / WEIGHTS
    sha = sha256_of(weights)
    try:  # a refit keeps what training wrote
        kept = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        kept = {}
    manifest = {
        **kept,
        "version": f"minilm-l6-squad2-{sha[:12]}",
        "weights": WEIGHTS,
        "sha256": sha,
        "bytes": weights.stat().st_size,
        "max_tokens": MAX_TOKENS,
        "stride": STRIDE,
        **fields,
    }
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return manifest


def read_manifest(folder: Path = READER_DIR) -> dict:
    path = folder / MANIFEST
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
        manifest["sha256"], manifest["version"], manifest["null_threshold"]  # noqa: B018 - fields it needs
    except FileNotFoundError as exc:
        raise ReaderError(
            f"{path}: the reader's manifest is missing (reinstall, or run make train-reader)"
        ) from exc
    except (ValueError, KeyError, TypeError) as exc:
        raise ReaderError(f"{path}: not a valid reader manifest ({exc})") from exc
    return manifest


def reader_version(folder: Path = READER_DIR) -> str | None:
    """The shipped reader's version (from its manifest, without loading it), or None if absent."""
    try:
        return str(read_manifest(folder)["version"])
    except ReaderError:
        return None


@dataclass(frozen=True)
class ReaderResult:
    """What the reader made of one passage."""

    score: float  # the decision (answerability + weight x span margin) minus the fitted threshold
    start: int  # the span's character offsets in the passage
    end: int
    text: str
    margin: float = 0.0  # the span's logit minus the no-answer logit
    answerability: float = 0.0  # the answerability head's logit for the span's window

    @property
    def answerable(self) -> bool:
        return self.score > 0.0

    @property
    def confidence(self) -> float:
        """``score`` squashed to 0..1; 0.5 is the fitted no-answer threshold."""
        return float(1.0 / (1.0 + np.exp(-self.score)))


@dataclass(frozen=True)
class PassageReading:
    """The reader's logits over one passage: its best span, overall or inside a range."""

    passage: str
    # (Window, start logits, end logits, answerability logit) per window
    windows: list[tuple[Any, np.ndarray, np.ndarray, float]]
    threshold: float
    margin_weight: float = 1.0

    def best(self, within: tuple[int, int] | None = None) -> ReaderResult:
        """The best span (of the passage, or inside character range ``within``) against no-answer.

        The decision adds the window's answerability logit to the span's margin over no-answer,
        weighted as fitted: the head separates near misses, the margin ranks spans."""
        best: tuple[float, SpanChoice, float] | None = None
        for window, start, end, head in self.windows:
            c = best_span(window, start, end, within)
            decision = head + self.margin_weight * c.score
            if best is None or decision > best[0]:
                best = (decision, c, head)
        if best is None or not np.isfinite(best[0]):
            return ReaderResult(float("-inf"), 0, 0, "")
        decision, choice, head = best
        text = self.passage[choice.start : choice.end]
        return ReaderResult(
            decision - self.threshold, choice.start, choice.end, text, margin=choice.score, answerability=head
        )


def default_threads() -> int:
    """Up to 4 onnxruntime threads: a 256-token read takes ~40 ms on one core and ~20 ms on two of
    this project's 2-core reference machine; past 4 a passage this short gains little."""
    return max(1, min(4, os.cpu_count() or 1))


class Reader:
    """The onnxruntime reader; the model loads on first use (or :meth:`warm_up`)."""

    def __init__(self, folder: Path = READER_DIR, threads: int | None = None) -> None:
        self.folder = Path(folder)
        self.threads = threads if threads is not None else default_threads()
        self._session: Any = None
        self._featurizer: Featurizer | None = None
        self._lock = threading.Lock()
        self.manifest: dict = {}

    @property
    def version(self) -> str:
        return str(self.manifest.get("version") or read_manifest(self.folder)["version"])

    def warm_up(self) -> None:
        with self._lock:
            if self._session is not None:
                return
            manifest = read_manifest(self.folder)
            weights = self.folder / str(manifest.get("weights", WEIGHTS))
            if not weights.is_file():
                raise ReaderError(f"{weights}: the reader's weights are missing")
            actual = sha256_of(weights)
            if actual != manifest["sha256"]:
                raise ReaderError(
                    f"{weights}: checksum {actual[:12]}… does not match {manifest['sha256'][:12]}… "
                    f"in {self.folder / MANIFEST} (corrupt or replaced file)"
                )
            import onnxruntime as ort

            opts = ort.SessionOptions()
            opts.intra_op_num_threads = self.threads
            opts.inter_op_num_threads = 1
            opts.log_severity_level = 3
            try:
                session = ort.InferenceSession(str(weights), opts, providers=["CPUExecutionProvider"])
            except Exception as exc:  # noqa: BLE001 - onnxruntime raises its own untyped errors
                raise ReaderError(
                    f"{weights}: onnxruntime cannot load it ({str(exc).splitlines()[0]})"
                ) from exc
            self._featurizer = Featurizer(
                load_tokenizer(),
                int(manifest.get("max_tokens", MAX_TOKENS)),
                int(manifest.get("stride", STRIDE)),
            )
            self.manifest = manifest
            self._session = session

    @property
    def featurizer(self) -> Featurizer:
        self.warm_up()
        assert self._featurizer is not None
        return self._featurizer

    @property
    def threshold(self) -> float:
        return float(self.manifest["null_threshold"])

    @property
    def margin_weight(self) -> float:
        """How much the span's margin over no-answer counts beside the answerability head (fitted;
        1.0 for weights without a head, whose decision is the margin alone)."""
        return float(self.manifest.get("margin_weight", 1.0))

    def logits(self, windows: Sequence) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Start and end logits (rows padded to the longest window) and the answerability logit
        per window.

        Each window runs on its own: the int8 graph quantises each layer's activations with one
        scale for the whole batch, padding included, so a window read beside others scored up to
        1.9 logits differently (0.49 on average over 120 squad2 fit questions); an answer would
        then depend on what else was retrieved, and the answerer's fit (five passages at a time)
        on a batch it never serves. Alone costs the same here (2 passages: 48 ms batched, 51 ms
        one by one; 5: 124 against 119).
        """
        self.warm_up()
        assert self._featurizer is not None
        width = max((len(w.ids) for w in windows), default=0)
        start = np.full((len(windows), width), np.finfo(np.float32).min, dtype=np.float32)
        end = start.copy()
        head = np.zeros(len(windows), dtype=np.float32)
        for row, window in enumerate(windows):
            out = self._session.run(None, batch_arrays([window], self._featurizer.pad_id))
            n = len(window.ids)
            start[row, :n], end[row, :n] = out[0][0], out[1][0]
            if len(out) > 2:
                head[row] = out[2][0]
        return start, end, head

    def read_passages(
        self, question: str, passages: Sequence[str], previous: str | None = None
    ) -> list[PassageReading]:
        """The logits of every window of every passage, for asking about any part of them."""
        self.warm_up()
        assert self._featurizer is not None
        owners: list[int] = []
        windows = []
        for i, passage in enumerate(passages):
            for w in self._featurizer.windows(question, passage, previous):
                owners.append(i)
                windows.append(w)
        read: list[list[tuple[Any, np.ndarray, np.ndarray, float]]] = [[] for _ in passages]
        start, end, head = self.logits(windows)  # one run per window (see logits)
        for k, window in enumerate(windows):
            n = len(window.ids)
            read[owners[k]].append((window, start[k, :n], end[k, :n], float(head[k])))
        return [
            PassageReading(p, r, self.threshold, self.margin_weight)
            for p, r in zip(passages, read, strict=True)
        ]

    def read_many(
        self, question: str, passages: Sequence[str], previous: str | None = None
    ) -> list[ReaderResult]:
        """One result per passage; a long passage is read in windows and its best one counts."""
        return [r.best() for r in self.read_passages(question, passages, previous)]

    def read(self, question: str, passage: str, previous: str | None = None) -> ReaderResult:
        return self.read_many(question, [passage], previous)[0]
