"""Writing a generation: the kept segments linked, the new one written, small ones merged,
and the manifest that ties them together (the caller commits it)."""

from __future__ import annotations

import json
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import orjson

from ._backend import StoreWriter
from ._build import DocBuild
from ._corpus import FORMAT_VERSION
from ._generations import link_segment
from ._lexical import ChunkTerms
from ._readers import EXTRACTION_VERSION
from ._report import IndexConfig
from ._segments import Segment, SegmentEntry, new_segment_name, to_merge, write_documents, write_segment


@dataclass
class Live:
    """The live generation as an update sees it: its folder, manifest and segment records."""

    gen: Path
    manifest: dict[str, Any]

    @property
    def documents(self) -> dict[str, dict[str, Any]]:
        return self.manifest["documents"]

    @property
    def entries(self) -> list[SegmentEntry]:
        return [SegmentEntry.from_json(e) for e in self.manifest["segments"]]


def write_generation(
    staging: Path,
    live: Live | None,
    keep: set[str],
    builds: list[DocBuild],
    writer: StoreWriter,
    meta: dict[str, Any],
    stats: dict[str, dict[str, int]] | None = None,
) -> dict[str, Any]:
    """Lay out ``staging``: ``keep`` (keys of live documents that stay), ``builds`` (new
    documents, embedded) in a new segment, merges as ``to_merge`` asks; returns the manifest."""
    documents: dict[str, dict[str, Any]] = {}
    entries: list[SegmentEntry] = []
    folders: dict[str, Path] = {}
    if live is not None:
        gone: dict[str, set[str]] = {}
        for k, d in live.documents.items():  # one pass: at 1M chunks there are 100k documents
            if k in keep:
                documents[k] = d  # shared with the live manifest; copied before any change
            else:
                gone.setdefault(d["segment"], set()).add(k)
        for e in live.entries:
            dropped = gone.get(e.name, set())
            e.deleted_chunks += sum(int(live.documents[k]["n_chunks"]) for k in dropped)
            e.deleted |= dropped
            if e.live_documents > 0:
                entries.append(e)
                folders[e.name] = live.gen / e.name
    if builds:
        entry = write_segment(staging / new_segment_name(), builds)
        writer.write(staging / entry.name, builds)
        entries.append(entry)
        folders[entry.name] = staging / entry.name
        documents.update({b.key: _doc_record(b, entry.name) for b in builds})
    merging = to_merge(entries)
    if merging:
        merged = _merge(merging, folders, writer, staging)
        names = {e.name for e in merging}
        entries = [e for e in entries if e.name not in names] + [merged]
        folders[merged.name] = staging / merged.name
        for e in merging:
            if folders[e.name].parent == staging:
                shutil.rmtree(folders[e.name])
        for k, d in documents.items():
            if d["segment"] in names:
                documents[k] = {**d, "segment": merged.name}
    for key, stat in (stats or {}).items():  # what the next update's quick check compares
        if key in documents:
            documents[key] = {**documents[key], **stat}
    for e in entries:
        if folders[e.name].parent != staging:
            link_segment(folders[e.name], staging)
    manifest = {
        "format_version": FORMAT_VERSION,
        **meta,
        "extraction": EXTRACTION_VERSION,
        "updated_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "segments": [e.to_json() for e in entries],
        "documents": dict(sorted(documents.items())),
    }
    (staging / "manifest.json").write_bytes(manifest_bytes(manifest))
    return manifest


def manifest_bytes(manifest: dict[str, Any]) -> bytes:
    """Compact JSON by orjson: at 1M chunks the manifest lists 100k documents, written on every
    update. A folder name that is not UTF-8 (a surrogate escape) goes through json, which keeps it."""
    try:
        return orjson.dumps(manifest)
    except TypeError:
        return json.dumps(manifest, separators=(",", ":")).encode("utf-8")


def manifest_meta(
    config: IndexConfig, root: Path, dim: int, store: dict[str, Any], dense_index: str = "auto"
) -> dict[str, Any]:
    """What the manifest records of how the index was built (checked by the next update)."""
    return {
        "embed_model": config.embed_model,
        "dim": dim,
        "chunk_size": config.chunk_size,
        "chunk_overlap": config.chunk_overlap,
        "splitter": "llama_index SentenceSplitter",
        "dense_index": dense_index,
        "reader": config.reader,
        "root": str(root),
        "store": {k: v for k, v in store.items() if k not in ("connect", "token", "new_collection", "old")},
    }


def _doc_record(b: DocBuild, segment: str) -> dict[str, Any]:
    return {
        "hash": b.hash,
        "title": b.title,
        "n_chunks": len(b.chunks),
        "chars": len(b.text),
        "segment": segment,
    }


def _merge(
    entries: list[SegmentEntry], folders: dict[str, Path], writer: StoreWriter, staging: Path
) -> SegmentEntry:
    """One segment of the live documents of ``entries``, without embedding or tokenising again."""
    parts: list[tuple[DocBuild, ChunkTerms | None, int, int]] = []
    for e in entries:
        seg = Segment(folders[e.name])
        live = {d["key"] for d in seg.docs} - e.deleted
        terms = writer.segment_terms(seg)
        parts.extend((b, terms, a, z) for b, a, z in seg.builds(live, writer.segment_vectors(seg.folder)))
    parts.sort(key=lambda p: p[0].key)
    builds = [b for b, _, _, _ in parts]
    terms = None
    if all(t is not None for _, t, _, _ in parts):
        terms = ChunkTerms.concat([t.take(np.arange(a, z)) for _, t, a, z in parts])  # type: ignore[union-attr]
    entry = write_segment(staging / new_segment_name(), builds)
    writer.write(staging / entry.name, builds, terms)
    return entry


def migrate_legacy(gen: Path, staging: Path, manifest: dict[str, Any], writer_kind: str) -> dict[str, Any]:
    """A format-2 generation (one set of arrays) as a format-3 one with a single segment:
    its arrays and vectors are linked, not copied; the texts are laid out as segments keep
    them and the BM25 postings counted again."""
    from ._faiss import VECTOR_FILE, FaissSegmentWriter, _segment_texts

    name = new_segment_name()
    folder = staging / name
    folder.mkdir()
    for file in ("chunks.npy", "sentences.npy") + ((VECTOR_FILE,) if writer_kind == "faiss" else ()):
        os.link(gen / file, folder / file)
    write_documents(folder, json.loads((gen / "docs.json").read_text(encoding="utf-8")))
    if writer_kind == "faiss":
        FaissSegmentWriter(int(manifest["dim"])).write_terms(
            folder, ChunkTerms.from_texts(_segment_texts(Segment(folder)))
        )
    else:
        shutil.copy2(gen / "lexicon.json", staging / "lexicon.json")
    seg = Segment(folder)
    docs = {}
    for d, doc in enumerate(seg.docs):
        info = dict(manifest["documents"][doc["key"]])
        info["n_chunks"] = int(seg.doc_ptr[d + 1] - seg.doc_ptr[d])
        docs[doc["key"]] = {**info, "segment": name}
    out = {k: v for k, v in manifest.items() if k not in ("documents", "format_version")}
    out = {"format_version": FORMAT_VERSION, **out}
    out["segments"] = [SegmentEntry(name, len(seg.docs), len(seg.chunks)).to_json()]
    out["documents"] = docs
    (staging / "manifest.json").write_text(json.dumps(out, indent=1), encoding="utf-8")
    return out
