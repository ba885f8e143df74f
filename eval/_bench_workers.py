"""The worker process of ``qa bench``'s retrieval section: one index, measured alone.

``python -m eval.bench --worker retrieval --index-dir D --questions-file Q --passes N`` runs
:func:`retrieval_worker` and prints its numbers as one JSON line. A process of its own per
index size, so the resident memory it reports is that index's (and the model's) alone.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from ._bench_config import TOP_K
from ._bench_measure import dir_bytes, pct, rss_kb


def _time_queries(bot: Any, retriever: Any, questions: list[str], passes: int) -> dict[str, Any]:
    """Per question, interleaved: embed + raw FAISS (the limit) and embed + ours, in alternating
    order; the whole answer; and its parts (embed, dense, BM25, generate) on their own."""
    index = bot.index
    raw = index.vector_store.client
    limit, ours, answers = [], [], []
    parts: dict[str, list[float]] = {"embed": [], "dense": [], "bm25": [], "generate": []}
    for p in range(passes):
        for i, q in enumerate(questions):
            for which in ("limit", "ours") if (i + p) % 2 == 0 else ("ours", "limit"):
                t0 = time.perf_counter()
                vec = bot.embedder.embed_query(q)
                if which == "limit":
                    raw.search(vec[None, :], TOP_K)
                    limit.append(time.perf_counter() - t0)
                else:
                    retriever.retrieve(q, vec, TOP_K)
                    ours.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            a = bot.answer(q)
            answers.append(time.perf_counter() - t0)
            parts["embed"].append(a.timings["embed"])
            if "generate" in a.timings:  # a clarifying question is asked back without generating
                parts["generate"].append(a.timings["generate"])
            vec = bot.embedder.embed_query(q)
            t0 = time.perf_counter()
            retriever.dense(vec, retriever.depth)
            parts["dense"].append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            index.lexical.search(q, retriever.depth)
            parts["bm25"].append(time.perf_counter() - t0)
    return {"limit": limit, "ours": ours, "answers": answers, "parts": parts}


def _latencies(n_chunks: int, t: dict[str, Any]) -> dict[str, Any]:
    ours, limit, answers = t["ours"], t["limit"], t["answers"]
    return {
        "chunks": n_chunks,
        "queries": len(ours),
        "ours_p50_ms": round(pct(ours, 0.5) * 1000, 3),
        "ours_p95_ms": round(pct(ours, 0.95) * 1000, 3),
        "limit_p50_ms": round(pct(limit, 0.5) * 1000, 3),
        "limit_p95_ms": round(pct(limit, 0.95) * 1000, 3),
        "ratio_p50": round(pct(ours, 0.5) / pct(limit, 0.5), 3),
        "ratio_p95": round(pct(ours, 0.95) / pct(limit, 0.95), 3),
        "answer_p50_ms": round(pct(answers, 0.5) * 1000, 2),
        "answer_p95_ms": round(pct(answers, 0.95) * 1000, 2),
        "stage_p50_ms": {k: round(pct(v, 0.5) * 1000, 3) for k, v in t["parts"].items()},
    }


def _disk(index: Any) -> dict[str, Any]:
    """The generation's size on disk, in all and by part (FAISS, BM25, texts, chunk rows)."""
    gen = index.path
    segments = [gen / e["name"] for e in index.manifest["segments"]]
    files = {
        "faiss": sum((s / "default__vector_store.json").stat().st_size for s in segments),
        "bm25": sum(dir_bytes(s / "bm25") for s in segments),
        "texts": sum((s / "docs.json").stat().st_size for s in segments),
        "chunks_sentences": sum(
            (s / f).stat().st_size for s in segments for f in ("chunks.npy", "sentences.npy")
        ),
    }
    return {
        "disk_mb": round(dir_bytes(gen) / 1e6, 2),
        "disk_mb_by_part": {k: round(v / 1e6, 2) for k, v in files.items()},
    }


def _memory(rss: dict[str, int]) -> dict[str, Any]:
    """Resident memory at each step, read now for the after-the-queries and peak figures."""
    return {
        "rss_mb_start": round(rss["start"] / 1024, 1),
        "rss_mb_model": round(rss["model"] / 1024, 1),
        "rss_mb_index_loaded": round(rss["index"] / 1024, 1),
        "rss_mb_index": round((rss["index"] - rss["model"]) / 1024, 1),
        "rss_mb_peak": round(rss_kb("VmHWM") / 1024, 1),
        # private memory only: mapped index files (sentence vectors) are shared page cache
        "anon_mb_index": round((rss["anon_index"] - rss["anon_model"]) / 1024, 1),
        "rss_mb_after_queries": round(rss_kb() / 1024, 1),
        "anon_mb_after_queries": round(rss_kb("RssAnon") / 1024, 1),
    }


def retrieval_worker(index_dir: Path, questions: list[str], passes: int) -> dict[str, Any]:
    """Load the model, then the index (timing and weighing each), and time the questions."""
    from index import set_offline_env

    set_offline_env()
    rss = {"start": rss_kb()}
    from qa import Assistant, Embedder, HybridRetriever

    t0 = time.perf_counter()
    embedder = Embedder.shared()
    embedder.embed_query("warm up")  # the query model alone, before any index is read
    model_s = time.perf_counter() - t0
    rss.update(model=rss_kb(), anon_model=rss_kb("RssAnon"))
    t0 = time.perf_counter()
    bot = Assistant(index_dir, top_k=TOP_K, embedder=embedder)
    index = bot.index
    load_s = time.perf_counter() - t0
    rss.update(index=rss_kb(), anon_index=rss_kb("RssAnon"))
    retriever = HybridRetriever(index)  # what the Assistant builds for the index it loaded
    import faiss

    # the limit at its fastest: one query's flat scan is quickest on one OpenMP thread, the
    # setting qa's own search uses (index/_store.py); FAISS' default of all cores is slower
    faiss.omp_set_num_threads(1)
    for q in questions[:3]:
        bot.answer(q)
    timings = _time_queries(bot, retriever, questions, passes)
    return {
        **_latencies(index.n_chunks, timings),
        **_disk(index),
        **_memory(rss),
        "model_load_s": round(model_s, 3),
        "index_load_s": round(load_s, 3),
    }
