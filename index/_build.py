"""Building a segment's contents: documents chunked, then embedded in batches across documents."""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from ._chunking import chunk_document
from ._embed import Embedder
from ._readers import ParsedDocument
from ._report import IndexConfig


@dataclass
class DocBuild:
    key: str
    title: str
    text: str
    hash: str
    pages: list[tuple[int, int, int]]
    chunks: list[tuple[int, int]]  # (start, end)
    sentences: list[tuple[int, int, int]]  # (local chunk idx, start, end)
    chunk_vecs: np.ndarray | None = None
    sentence_vecs: np.ndarray | None = None  # accepted from prebuilt documents, not stored

    def chunk_text(self, ci: int) -> str:
        """Chunk ``ci`` as it is embedded and BM25-indexed: with its title context."""
        s, e = self.chunks[ci]
        return chunk_context(self.title, self.text, s) + self.text[s:e]


def chunk_context(title: str, text: str, start: int) -> str:
    """What a chunk is embedded and BM25-indexed with: its document's title, unless already in it.

    A passage's subject is often named only in the title ("Cast" under "Doctor Who (series
    11)"); without it a chunk cannot match questions that name the subject.
    """
    title = title.strip()
    if not re.search(r"[^\W\d_]{3,}", title):  # "000_5c57..." names a file, not a subject
        return ""
    if title in text[max(0, start - 1) : start + len(title) + 3]:
        return ""
    return title + "\n"


def cause(exc: BaseException) -> str:
    """An unexpected failure as one line: its type and the first line of its message."""
    lines = str(exc).strip().splitlines()
    first = lines[0][:200] if lines else ""
    return f"{type(exc).__name__}: {first}" if first else type(exc).__name__


def chunk_new(
    plan: list[tuple[str, str, ParsedDocument]],
    config: IndexConfig,
    embedder: Embedder,
    failed: dict[str, str],
) -> dict[str, DocBuild]:
    """Chunk each new or changed document; one that fails goes into ``failed`` with why."""
    builds: dict[str, DocBuild] = {}
    counter = None
    for key, digest, parsed in plan:
        counter = counter or embedder.token_counter()  # outside the try: a missing model is no file's fault
        try:
            spans = chunk_document(parsed.text, config.chunk_size, config.chunk_overlap, counter)
        except Exception as exc:  # noqa: BLE001 - one file must never stop the others
            failed[key] = f"failed while chunking it ({cause(exc)})"
            continue
        if not spans:
            failed[key] = "no text to index after chunking"
            continue
        sentences = [(ci, s, e) for ci, c in enumerate(spans) for s, e in c.sentences]
        builds[key] = DocBuild(
            key,
            parsed.title,
            parsed.text,
            digest,
            parsed.pages,
            [(c.start, c.end) for c in spans],
            sentences,
        )
    return builds


def embed_new(
    builds: dict[str, DocBuild],
    embedder: Embedder,
    config: IndexConfig,
    show_progress: bool,
    progress: Callable[[int, int], None] | None,
    failed: dict[str, str],
) -> None:
    """Embed the chunks of ``builds`` in length-sorted batches across documents.

    A batch that fails is embedded again one document at a time, so that only the
    document at fault lands in ``failed`` (with why) and the others still go in.
    """
    jobs = [(b, ci) for b in builds.values() for ci in range(len(b.chunks))]
    total = len(jobs)
    if total == 0:
        return
    embedder.warm_up()  # outside the per-file handling: a model that will not load is no file's fault
    bar = None
    if show_progress:
        from tqdm import tqdm

        bar = tqdm(total=total, unit="chunk", desc="embedding", file=sys.stderr)
    chunk_out: dict[str, list] = {k: [None] * len(b.chunks) for k, b in builds.items()}
    sent_out: dict[str, dict[int, np.ndarray]] = {k: {} for k in builds}
    step = max(config.batch_size * 2, 16)
    # Similar lengths per batch waste less padding.
    jobs.sort(key=lambda j: j[0].chunks[j[1]][1] - j[0].chunks[j[1]][0])
    done = 0
    try:
        for i in range(0, total, step):
            batch = [j for j in jobs[i : i + step] if j[0].key not in failed]
            try:
                groups = [(batch, embed_batch(embedder, batch))]
            except Exception:  # noqa: BLE001 - find the document at fault, keep the others
                groups = []
                for key in dict.fromkeys(b.key for b, _ in batch):
                    mine = [j for j in batch if j[0].key == key]
                    try:
                        groups.append((mine, embed_batch(embedder, mine)))
                    except Exception as exc:  # noqa: BLE001 - one file must never stop the others
                        failed[key] = f"failed while embedding it ({cause(exc)})"
            for group, vecs in groups:
                for (b, ci), cv, sv in zip(group, vecs.chunk, vecs.sentences, strict=True):
                    chunk_out[b.key][ci] = cv
                    sent_out[b.key][ci] = sv
            done += len(jobs[i : i + step])
            if bar is not None:
                bar.update(len(jobs[i : i + step]))
            if progress is not None:
                progress(done, total)
    finally:
        if bar is not None:
            bar.close()
    for key, b in builds.items():
        if key in failed or not b.chunks:
            continue
        b.chunk_vecs = np.stack(chunk_out[key]).astype(np.float32)
        parts = [sent_out[key][ci] for ci in range(len(b.chunks))]
        b.sentence_vecs = np.concatenate(parts) if parts else np.zeros((0, b.chunk_vecs.shape[1]))


def embed_batch(embedder: Embedder, batch: list[tuple[DocBuild, int]]) -> Any:
    """One forward pass over chunks (each with its title context) and their sentence spans."""
    texts, spans = [], []
    for b, ci in batch:
        s, e = b.chunks[ci]
        prefix = chunk_context(b.title, b.text, s)
        texts.append(prefix + b.text[s:e])
        off = len(prefix) - s
        spans.append([(ss + off, se + off) for c, ss, se in b.sentences if c == ci])
    return embedder.embed_passages(texts, spans)
