"""``qa bench``'s PNG plots of cost against corpus size, one function per plot.

matplotlib is imported only here, when the plots are drawn (``Agg``: no display needed).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any


def _latency(ax: Any, ret: dict[str, Any], sizes: list[int]) -> None:
    get = lambda key: [ret[str(s)][key] for s in sizes]  # noqa: E731
    ax.plot(sizes, get("ours_p50_ms"), "o-", color="C0", label="retrieval, ours (hybrid) p50")
    ax.plot(sizes, get("ours_p95_ms"), "o--", color="C0", alpha=0.6, label="retrieval, ours p95")
    ax.plot(sizes, get("limit_p50_ms"), "s-", color="gray", label="limit: embed + raw FAISS p50")
    ax.plot(sizes, get("limit_p95_ms"), "s--", color="gray", alpha=0.6, label="limit p95")
    ax.plot(sizes, get("answer_p50_ms"), "^-", color="C3", label="whole answer (extractive) p50")
    ax.plot(sizes, get("answer_p95_ms"), "^--", color="C3", alpha=0.6, label="whole answer p95")
    ax.set(xscale="log", yscale="log", xlabel="chunks in the index", ylabel="ms")
    ax.set_title("Retrieval and answer latency against corpus size")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)


def _memory(ax: Any, ret: dict[str, Any], sizes: list[int]) -> None:
    get = lambda key: [ret[str(s)][key] for s in sizes]  # noqa: E731
    ax.plot(sizes, get("disk_mb"), "o-", label="index on disk")
    ax.plot(sizes, get("rss_mb_after_queries"), "s-", label="process RSS after the queries")
    ax.plot(sizes, get("anon_mb_after_queries"), "s--", label="of which private (not page cache)")
    ax.plot(sizes, get("anon_mb_index"), "^-", label="private memory the index adds")
    ax.set(xscale="log", yscale="log", xlabel="chunks in the index", ylabel="MB")
    ax.set_title("Index size and memory against corpus size")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)


def _ingest(ax: Any, ing: dict[str, Any]) -> None:
    names = ["raw encode (limit)", "qa index", "stock llama-index"]
    vals = [ing["raw_chunks_per_s"], ing["ours_chunks_per_s"], ing["stock_chunks_per_s"]]
    ax.barh(names, vals, color=["#999999", "#1f77b4", "#ff7f0e"])
    for i, v in enumerate(vals):
        ax.text(v, i, f" {v:.1f}", va="center")
    ax.set_xlabel(f"chunks/s ({ing['chunks']} chunks, median of {ing['repeat']})")
    ax.set_title("Ingestion throughput")


def _incremental(ax: Any, inc: dict[str, Any]) -> None:
    sizes = sorted(int(s) for s in inc["sizes"])
    ax.plot(sizes, [inc["sizes"][str(s)]["update_s"] for s in sizes], "o-", label="update after one edit")
    ax.axhline(inc["document_alone_s"], color="gray", ls="--", label="that document alone")
    ax.set(xscale="log", xlabel="chunks in the index", ylabel="s", ylim=(0, None))
    ax.set_title("Re-indexing one changed document")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)


def plots(result: dict[str, Any], out: Path) -> list[str]:
    """Cost against corpus size, as small PNGs in ``out``; the names of those written."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    written: list[str] = []

    def draw(name: str, size: tuple[float, float], fill: Any, *data: Any) -> None:
        fig, ax = plt.subplots(figsize=size)
        fill(ax, *data)
        fig.tight_layout()
        fig.savefig(out / name, dpi=90)
        plt.close(fig)
        written.append(name)

    ret = result.get("retrieval", {})
    if ret:
        sizes = sorted(int(s) for s in ret)
        draw("latency.png", (6, 4), _latency, ret, sizes)
        draw("memory.png", (6, 4), _memory, ret, sizes)
    ing = result.get("ingest", {})
    if "ours_chunks_per_s" in ing:
        draw("ingest.png", (6, 3.2), _ingest, ing)
    inc = result.get("incremental", {})
    if inc.get("sizes"):
        draw("incremental.png", (6, 3.5), _incremental, inc)
    return written
