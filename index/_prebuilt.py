"""Generations written from documents chunked and embedded elsewhere: how the benchmarks build
indexes of 100k and 1M chunks (embedding them would take hours here) with everything after
embedding done by the code ``update_index`` runs."""

from __future__ import annotations

import os
import time
from pathlib import Path

from ._build import DocBuild
from ._faiss import FaissSegmentWriter
from ._generations import commit, discard, new_staging, write_lock
from ._readers import content_hash
from ._report import IndexConfig
from ._writer import manifest_meta, write_generation

PrebuiltDocument = DocBuild


def write_prebuilt_generation(
    index_dir: str | Path,
    root: str | Path,
    documents: list[PrebuiltDocument],
    config: IndexConfig | None = None,
) -> Path:
    """Write a real, loadable FAISS generation from documents chunked and embedded elsewhere.

    For benchmarks and tests at sizes we cannot afford to embed (100k chunks is hours
    on a laptop CPU): everything after embedding is the same code ``update_index`` runs.
    ``documents[i].hash`` must be the file's content hash if ``update_index`` is to treat
    the file as unchanged later. Each file under ``root`` is hashed here, and the size and
    time of those that match are recorded as ``qa index`` records them, so that update reads
    none of them again (but those written within the last 2 s, which it cannot tell apart).
    """
    config = config or IndexConfig()
    index_dir = Path(index_dir)
    if not documents:
        raise ValueError("write_prebuilt_generation needs at least one document")
    if len({d.key for d in documents}) != len(documents):
        raise ValueError("write_prebuilt_generation: two documents have the same key")
    dim = None
    for d in documents:  # the writer scatters sentences by chunk: they must come in chunk order
        if d.chunk_vecs is None:
            raise ValueError(f"{d.key}: chunk vectors are required")
        if len(d.chunk_vecs) != len(d.chunks):
            raise ValueError(f"{d.key}: one vector per chunk is required")
        owners = [c for c, _, _ in d.sentences]
        if owners != sorted(owners) or (owners and not 0 <= owners[0] <= owners[-1] < len(d.chunks)):
            raise ValueError(f"{d.key}: sentences must be in chunk order and name chunks of the document")
        dim = dim or int(d.chunk_vecs.shape[1])
        if d.chunk_vecs.shape[1] != dim:
            raise ValueError(f"{d.key}: vectors are not {dim} wide like the first document's")
    with write_lock(index_dir):
        staging = new_staging(index_dir)
        try:
            dense = config.dense_index or "auto"
            meta = manifest_meta(config, Path(root).resolve(), dim or 0, {"kind": "faiss"}, dense)
            stats = _file_stats(Path(root), {d.key: d.hash for d in documents})
            writer = FaissSegmentWriter(dim or 0, dense)
            write_generation(staging, None, set(), documents, writer, meta, stats)
            return commit(index_dir, staging)
        except BaseException:
            discard(staging)
            raise


def _file_stats(root: Path, hashes: dict[str, str]) -> dict[str, dict[str, int]]:
    """Size and time of each file whose content hash is the one its document claims."""
    stats = {}
    for key, digest in hashes.items():
        path = root / key
        try:
            st = os.stat(path)
            seen = time.time_ns()  # before reading: a write during the read moves the time
            if content_hash(path.read_bytes()) != digest:
                continue
        except OSError:
            continue
        stats[key] = {"size": st.st_size, "mtime_ns": st.st_mtime_ns, "seen_ns": seen}
    return stats
