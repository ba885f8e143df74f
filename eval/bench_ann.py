"""The ANN section of ``qa bench``: FAISS IVF against exact search on the retrieval corpora.

For each size whose retrieval index exists, the stored chunk vectors are put into the
dense index ``qa index --dense-index ivf`` writes (``index._faiss.write_vectors``, the
same construction), and the bench questions' vectors are searched in both: recall@10 is
the share of the exact top 10 the IVF search finds, at the number of buckets it scans
by default and at half and twice that; latency is one query at a time on one thread, as
retrieval searches.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

K = 10


def _p50_ms(values: list[float]) -> float:
    return round(statistics.median(values) * 1000, 3)


def bench_ann(work: Path, sizes: list[int], questions: list[str], embedder) -> dict[str, Any]:
    import faiss
    from llama_index.vector_stores.faiss import FaissVectorStore

    from index import CorpusIndex
    from index._faiss import VECTOR_FILE, one_faiss_thread, write_vectors

    queries = np.stack([embedder.embed_query(q) for q in questions]).astype(np.float32)
    out: dict[str, Any] = {"k": K, "sizes": {}}
    for size in sizes:
        found = sorted((work / "retrieval").glob(f"size-{size}-*"))
        if not found:
            continue
        index = CorpusIndex.open(found[0])
        vecs = index.chunk_vectors().astype(np.float32)
        index.close()
        exact = faiss.IndexFlatIP(vecs.shape[1])
        exact.add(vecs)
        with tempfile.TemporaryDirectory() as tmp:
            t0 = time.perf_counter()
            write_vectors(Path(tmp), vecs, "ivf")
            build_s = time.perf_counter() - t0
            ivf = FaissVectorStore.from_persist_path(str(Path(tmp) / VECTOR_FILE)).client
            file_mb = (Path(tmp) / VECTOR_FILE).stat().st_size / 1e6
        default = int(ivf.nprobe)
        row: dict[str, Any] = {
            "chunks": len(vecs),
            "lists": int(ivf.nlist),
            "default_probes": default,
            "build_s": round(build_s, 1),
            "file_mb": round(file_mb, 1),
            "probes": {},
        }
        with one_faiss_thread():
            truth, flat_t = [], []
            for q in queries:
                t0 = time.perf_counter()
                _, ids = exact.search(q[None], K)
                flat_t.append(time.perf_counter() - t0)
                truth.append(set(ids[0].tolist()))
            row["flat_p50_ms"] = _p50_ms(flat_t)
            for probes in sorted({max(1, default // 2), default, min(int(ivf.nlist), default * 2)}):
                ivf.nprobe = probes
                hits, times = [], []
                for q, want in zip(queries, truth, strict=True):
                    t0 = time.perf_counter()
                    _, ids = ivf.search(q[None], K)
                    times.append(time.perf_counter() - t0)
                    hits.append(len(want & set(ids[0].tolist())) / K)
                row["probes"][str(probes)] = {
                    "recall_at_10": round(float(np.mean(hits)), 4),
                    "p50_ms": _p50_ms(times),
                }
        out["sizes"][str(size)] = row
    return out


def table_rows(ann: dict[str, Any]) -> list[tuple[str, ...]]:
    """Rows for bench.md: per size, IVF's recall@10 and time at its default number of probes."""
    rows = []
    for size, row in sorted(ann.get("sizes", {}).items(), key=lambda kv: int(kv[0])):
        at = row["probes"][str(row["default_probes"])]
        others = ", ".join(
            f"{p} probes: {v['recall_at_10']:.3f} / {v['p50_ms']:.2f} ms"
            for p, v in row["probes"].items()
            if int(p) != row["default_probes"]
        )
        rows.append(
            (
                f"IVF at {int(size):,} chunks ({row['lists']} buckets, {row['default_probes']} probed): "
                "recall@10 against exact, p50",
                f"{at['recall_at_10']:.3f}, {at['p50_ms']:.2f} ms",
                f"exact: {row['flat_p50_ms']:.2f} ms; built in {row['build_s']} s, {row['file_mb']} MB; {others}",
                "",
                ">= 0.95",
                "met" if at["recall_at_10"] >= 0.95 else "**missed**",
            )
        )
    return rows
