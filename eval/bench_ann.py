"""The ANN section of ``qa bench``: FAISS HNSW against exact search on the retrieval corpora.

For each size whose retrieval index exists, the stored chunk vectors are put into the
dense index ``qa index --dense-index hnsw`` writes (``index._faiss.write_vectors``, the
same construction parameters), and the bench questions' vectors are searched in both:
recall@10 is the share of the exact top 10 that HNSW finds, per efSearch; latency is one
query at a time on one thread, as retrieval searches.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

EF_SEARCH = (32, 64, 128, 256)
K = 10


def _p50_ms(values: list[float]) -> float:
    return round(statistics.median(values) * 1000, 3)


def bench_ann(work: Path, sizes: list[int], questions: list[str], embedder) -> dict[str, Any]:
    import faiss
    from llama_index.vector_stores.faiss import FaissVectorStore

    from index import CorpusIndex
    from index._faiss import HNSW_EF_SEARCH, VECTOR_FILE, one_faiss_thread, write_vectors

    queries = np.stack([embedder.embed_query(q) for q in questions]).astype(np.float32)
    out: dict[str, Any] = {"k": K, "default_ef_search": HNSW_EF_SEARCH, "sizes": {}}
    for size in sizes:
        found = sorted((work / "retrieval").glob(f"size-{size}-*"))
        if not found:
            continue
        index = CorpusIndex.open(found[0])
        vecs = index.chunk_vectors().astype(np.float32)
        exact = faiss.IndexFlatIP(vecs.shape[1])
        exact.add(vecs)
        with tempfile.TemporaryDirectory() as tmp:
            t0 = time.perf_counter()
            write_vectors(Path(tmp), vecs, "hnsw")
            build_s = time.perf_counter() - t0
            hnsw = FaissVectorStore.from_persist_path(str(Path(tmp) / VECTOR_FILE)).client
            file_mb = (Path(tmp) / VECTOR_FILE).stat().st_size / 1e6
        row: dict[str, Any] = {
            "chunks": len(vecs),
            "build_s": round(build_s, 1),
            "file_mb": round(file_mb, 1),
        }
        with one_faiss_thread():
            truth, flat_t = [], []
            for q in queries:
                t0 = time.perf_counter()
                _, ids = exact.search(q[None], K)
                flat_t.append(time.perf_counter() - t0)
                truth.append(set(ids[0].tolist()))
            row["flat_p50_ms"] = _p50_ms(flat_t)
            for ef in EF_SEARCH:
                hnsw.hnsw.efSearch = ef
                hits, times = [], []
                for q, want in zip(queries, truth, strict=True):
                    t0 = time.perf_counter()
                    _, ids = hnsw.search(q[None], K)
                    times.append(time.perf_counter() - t0)
                    hits.append(len(want & set(ids[0].tolist())) / K)
                row[f"ef{ef}"] = {"recall_at_10": round(float(np.mean(hits)), 4), "p50_ms": _p50_ms(times)}
        out["sizes"][str(size)] = row
        index.close()
    return out


def table_rows(ann: dict[str, Any]) -> list[tuple[str, ...]]:
    """Rows for bench.md: per size, HNSW recall@10 and time at the default efSearch."""
    rows = []
    ef = ann.get("default_ef_search", 128)
    for size, row in sorted(ann.get("sizes", {}).items(), key=lambda kv: int(kv[0])):
        at = row.get(f"ef{ef}", {})
        others = ", ".join(
            f"ef {e}: {row[f'ef{e}']['recall_at_10']:.3f} / {row[f'ef{e}']['p50_ms']:.2f} ms"
            for e in EF_SEARCH
            if f"ef{e}" in row and e != ef
        )
        rows.append(
            (
                f"HNSW at {int(size):,} chunks (efSearch {ef}): recall@10 against exact, p50",
                f"{at.get('recall_at_10', 0):.3f}, {at.get('p50_ms', 0):.2f} ms",
                f"exact: {row['flat_p50_ms']:.2f} ms; built in {row['build_s']} s, {row['file_mb']} MB; {others}",
                "",
                ">= 0.95",
                "met" if at.get("recall_at_10", 0) >= 0.95 else "**missed**",
            )
        )
    return rows
