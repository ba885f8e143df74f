"""``qa bench``'s table (``bench.md``, also printed): one renderer per section, in report order.

Each renderer reads its section of ``bench.json`` and returns its rows (none when the section
did not run), so a section's wording is changed in one place. The ANN and watch rows come
from :mod:`eval.bench_ann` and :mod:`eval.bench_watch`, which own those sections.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ._bench_config import TARGETS

Row = tuple[str, str, str, str, str, str]
Mark = Callable[[str], str]  # a target's name -> "met", "**missed**" or "" (not measured)


def fmt_ms(x: float) -> str:
    """Milliseconds with the digits that matter at their size."""
    return f"{x:.0f} ms" if x >= 100 else f"{x:.1f} ms" if x >= 10 else f"{x:.2f} ms"


def _marker(targets: dict[str, dict[str, Any]]) -> Mark:
    def mark(name: str) -> str:
        if name not in targets:
            return ""
        return "met" if targets[name]["met"] else "**missed**"

    return mark


def _ingest_rows(ing: dict[str, Any], mark: Mark) -> list[Row]:
    if "ours_chunks_per_s" not in ing:
        return []
    return [
        (
            f"ingest: `qa index` of {ing['documents']} files ({ing['chunks']} chunks), median of {ing['repeat']}",
            f"{ing['ours_chunks_per_s']:.1f} chunks/s",
            f"raw `encode`: {ing['raw_chunks_per_s']:.1f} chunks/s",
            f"{ing['ratio_vs_raw']:.2f} (CPU time: {ing['cpu_ratio_vs_raw']:.2f})",
            TARGETS["ingest_ratio_vs_raw"][0] + " 0.85",
            mark("ingest_ratio_vs_raw"),
        ),
        (
            "ingest: the same files through stock `VectorStoreIndex.from_documents` "
            "(same model, splitter settings, FAISS), time for all files",
            f"{ing['ours_files_s']:.1f} s ({ing['ours_chunks_per_s']:.1f} chunks/s)",
            f"stock: {ing['stock_files_s']:.1f} s ({ing['stock_chunks_per_s']:.1f} chunks/s, "
            f"{ing['stock_nodes']} nodes)",
            f"{ing['ratio_vs_stock']:.2f} (CPU time: {ing['cpu_ratio_vs_stock']:.2f}; "
            f"chunks/s: {ing['chunk_rate_ratio_vs_stock']:.2f})",
            ">= 1.0",
            mark("ingest_ratio_vs_stock"),
        ),
    ]


def _retrieval_rows(ret: dict[str, Any]) -> list[Row]:
    return [
        (
            f"retrieval p50 / p95 at {int(size):,} chunks ({r['queries']} queries)",
            f"{fmt_ms(r['ours_p50_ms'])} / {fmt_ms(r['ours_p95_ms'])}",
            f"embed + raw FAISS: {fmt_ms(r['limit_p50_ms'])} / {fmt_ms(r['limit_p95_ms'])}",
            f"{r['ratio_p50']:.2f} / {r['ratio_p95']:.2f}",
            "<= 1.5",
            "met" if r["ratio_p50"] <= 1.5 else "**missed**",
        )
        for size, r in ret.items()
    ]


def _memory_rows(ret: dict[str, Any]) -> list[Row]:
    rows: list[Row] = []
    for size, r in ret.items():
        sp = r["stage_p50_ms"]
        rows.append(
            (
                f"index at {int(size):,} chunks: disk, resident memory",
                f"{r['disk_mb']:.0f} MB on disk; process RSS {r['rss_mb_after_queries']:.0f} MB after "
                f"the queries, of which private {r['anon_mb_after_queries']:.0f} MB (the index adds "
                f"{r['anon_mb_index']:.0f} MB private)",
                f"p50 embed {sp['embed']:.1f} ms, FAISS via llama-index {sp['dense']:.1f} ms, "
                f"BM25 {sp['bm25']:.1f} ms",
                "",
                "",
                "",
            )
        )
    return rows


def _answer_rows(sa: dict[str, Any], ret: dict[str, Any], mark: Mark) -> list[Row]:
    """The seed index's answers, then the answers at each size (the largest one has a target)."""
    rows: list[Row] = []
    if sa:
        rows.append(
            (
                f"answer p50 / p95, seed index, extractive ({sa['answers']} answers)",
                f"{fmt_ms(sa['p50_ms'])} / {fmt_ms(sa['p95_ms'])}",
                "",
                "",
                f"p50 <= {TARGETS['answer_p50_ms'][1]:.0f} ms",
                mark("answer_p50_ms"),
            )
        )
    for size, r in ret.items():
        largest = size == max(ret, key=int)
        rows.append(
            (
                f"answer p50 / p95 at {int(size):,} chunks, extractive",
                f"{fmt_ms(r['answer_p50_ms'])} / {fmt_ms(r['answer_p95_ms'])}",
                "",
                "",
                f"p50 <= {TARGETS['answer_p50_ms_largest'][1]:.0f} ms" if largest else "",
                mark("answer_p50_ms_largest") if largest else "",
            )
        )
    return rows


def _llm_rows(llm: dict[str, Any]) -> list[Row]:
    if "skipped" in llm:
        return [("answer with llama.cpp", "skipped", llm["skipped"], "", "", "")]
    if not llm:
        return []
    return [
        (
            f"answer with llama.cpp ({llm.get('model', '')}), {llm.get('answers', 0)} answers",
            f"{llm['decode_tokens_per_s']:.1f} tokens/s; first token {llm['ttft_p50_s']:.2f} s (p50)",
            f"whole answer p50 {llm['answer_p50_s']:.2f} s; model load {llm['load_s']:.1f} s",
            "",
            "",
            "",
        )
    ]


def _startup_rows(st: dict[str, Any], mark: Mark) -> list[Row]:
    if not st:
        return []
    top = ", ".join(f"{k} {v:.1f} s" for k, v in list(st["cold_ask_imports_s"].items())[:3])
    return [
        ("`qa --help`", f"{st['help_s']:.2f} s", "", "", "<= 0.5 s", mark("help_s")),
        (
            "cold `qa ask` on the seed index (process start to answer)",
            f"{st['cold_ask_s']:.2f} s",
            f"slowest imports: {top}",
            "",
            "<= 5 s",
            mark("cold_ask_s"),
        ),
    ]


def _incremental_rows(inc: dict[str, Any], mark: Mark) -> list[Row]:
    if not inc.get("sizes"):
        return []
    sizes = inc["sizes"]
    desc = "; ".join(
        f"{int(k):,} chunks: {v['update_s']:.2f} s"
        + (f" (delete one: {v['delete_s']:.2f} s)" if "delete_s" in v else "")
        for k, v in sorted(sizes.items(), key=lambda kv: int(kv[0]))
    )
    some = next(iter(sizes.values()))
    return [
        (
            f"re-index after changing one document ({some['embedded_chunks']} chunks re-embedded)",
            desc,
            f"that document alone, fresh index: {inc['document_alone_s']:.2f} s",
            f"{inc['growth']:.2f} ({inc['growth_between'][1]:,} / {inc['growth_between'][0]:,})",
            "<= 1.5",
            mark("incremental_growth"),
        )
    ]


def _load_check_rows(lc: dict[str, Any]) -> list[Row]:
    if "p50_s" in lc:
        return [
            (
                f"web chat load check: {lc['sessions']} sessions x {lc['questions']} questions",
                f"p50 {lc['p50_s']:.2f} s, p95 {lc['p95_s']:.2f} s, {lc['answers_per_s']:.1f} answers/s",
                f"errors {lc['errors']}, wrong answers {lc['wrong']}",
                "",
                "0 errors",
                "met" if lc["errors"] == 0 and lc["wrong"] == 0 else "**missed**",
            )
        ]
    if lc:
        return [("web chat load check", "failed", lc.get("error", "")[-200:].replace("\n", " "), "", "", "")]
    return []


def _header(result: dict[str, Any]) -> list[str]:
    m = result["machine"]
    la = m["loadavg"]
    return [
        f"Machine: {m['cpus']} CPUs, {m['mem_gib']} GiB; load average during the run "
        f"{la['min']:.1f}-{la['max']:.1f} (median {la['median']:.1f}); mode `{result['mode']}`, "
        f"{result['duration_s']:.0f} s.",
        "",
        "| measure | ours | limit / baseline | ratio | target | |",
        "|---|---|---|---|---|---|",
    ]


def markdown_table(result: dict[str, Any]) -> str:
    """The machine line and one table: a row per measure, against its limit and target."""
    from .bench_ann import table_rows as ann_rows
    from .bench_watch import table_rows as watch_rows

    mark = _marker(result.get("targets", {}))
    ret = result.get("retrieval", {})
    rows = [
        *_ingest_rows(result.get("ingest", {}), mark),
        *_retrieval_rows(ret),
        *_memory_rows(ret),
        *_answer_rows(result.get("seed_answers", {}), ret, mark),
        *_llm_rows(result.get("llm", {})),
        *_startup_rows(result.get("startup", {}), mark),
        *_incremental_rows(result.get("incremental", {}), mark),
        *ann_rows(result.get("ann", {})),
        *watch_rows(result, mark("watch_delay_s")),
        *_load_check_rows(result.get("load_check", {})),
    ]
    return "\n".join(_header(result) + ["| " + " | ".join(r) + " |" for r in rows])
