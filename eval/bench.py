"""``qa bench``: what each stage costs on this machine, measured against its limit in one run.

    qa bench [--quick] [--out qa-bench] [--sizes 1000,10000,100000]
    python -m eval.bench [--quick] ...

Every comparison is measured side by side in the same run, interleaved, as the median of
repeats: the machine this project is built on is shared and its load swings by a factor
of two within minutes, so absolute numbers drift and only ratios travel. The load
average is sampled throughout and reported with the numbers.

Writes ``bench.json`` (every number), ``bench.md`` (the table, also printed) and PNG
plots of cost against corpus size into ``--out``. How the 10k/100k-chunk corpora are made
is in :mod:`eval._benchcorpus`.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

# the standard library and the mode table only: ``qa`` imports this module to register ``qa bench``,
# so ``qa --help`` and every ``qa ask`` would pay for more (the sections import what they use)
from ._bench_config import MODES, REPO


class _Sections:
    """Runs the sections ``--only`` asks for, timing each; one that fails is recorded in
    ``errors`` and the run goes on, so one broken section does not lose the others' numbers."""

    def __init__(self, result: dict[str, Any], only: str | None) -> None:
        self.result = result
        self.only = set(only.split(",")) if only else None

    def __call__(self, name: str, fn: Callable[[], Any]) -> Any:
        if self.only is not None and name not in self.only and name != "plots":
            return None
        from ._bench_measure import log

        log(f"{name}...")
        t0 = time.perf_counter()
        try:
            value = fn()
        except Exception as exc:
            import traceback

            traceback.print_exc()
            self.result["errors"][name] = f"{type(exc).__name__}: {exc}"
            return None
        self.result.setdefault("section_s", {})[name] = round(time.perf_counter() - t0, 1)
        return value


def _new_result(mode: str, cfg: dict[str, Any]) -> dict[str, Any]:
    """What ``bench.json`` records before any section: the command, the machine, the mode."""
    from ._bench_measure import mem_total_gib

    return {
        "mode": mode,
        "command": " ".join([Path(sys.argv[0]).name, *sys.argv[1:]]),
        "started_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "machine": {
            "cpus": os.cpu_count(),
            "mem_gib": mem_total_gib(),
            "platform": platform.platform(),
            "python": platform.python_version(),
            "loadavg_start": list(os.getloadavg()),
        },
        "config": cfg,
        "errors": {},
    }


def _seed_sections(section: _Sections, cfg: dict[str, Any], seed_index: Path, embedder: Any) -> None:
    """Start-up and answers, on the seed index."""
    from ._bench_sections import bench_seed_answers, bench_startup

    result = section.result
    startup = section("startup", lambda: bench_startup(seed_index, cfg["help_repeat"], cfg["ask_repeat"]))
    if startup:
        result["startup"] = startup
        result["help_s"] = startup["help_s"]
        result["cold_ask_s"] = startup["cold_ask_s"]
    seed = section("seed_answers", lambda: bench_seed_answers(seed_index, embedder, cfg["answer_passes"]))
    if seed:
        result["seed_answers"] = seed
        result["answer_p50_ms"] = seed["p50_ms"]


def _corpus_sections(section: _Sections, cfg: dict[str, Any], work: Path, embedder: Any) -> None:
    """Ingestion of the real documents, then the sections at corpus sizes built from them."""
    from index import CorpusIndex, update_index

    from ._bench_ingest import bench_ingest
    from ._bench_scaling import bench_incremental, bench_retrieval
    from ._benchcorpus import questions, write_real_docs
    from .bench_ann import bench_ann
    from .bench_watch import bench_watch

    result = section.result
    docs = write_real_docs(work / "real-docs", cfg["ingest_passages"])
    ingest = section("ingest", lambda: bench_ingest(docs, work, embedder, cfg["ingest_repeat"]))
    if ingest:
        result["ingest"] = ingest
        result["ingest_ratio_vs_raw"] = ingest["ratio_vs_raw"]
        result["ingest_ratio_vs_stock"] = ingest["ratio_vs_stock"]
    real_dir = work / "ingest-ours"
    if not (real_dir / "CURRENT").is_file():
        update_index(docs, real_dir, embedder=embedder, show_progress=False)
    real_index = CorpusIndex.open(real_dir)
    qs = questions(cfg["questions"])
    retrieval = section(
        "retrieval", lambda: bench_retrieval(real_index, work, cfg["sizes"], qs, cfg["passes"])
    )
    if retrieval:
        result["retrieval"] = retrieval
        result["retrieval_ratio_vs_raw"] = {k: v["ratio_p50"] for k, v in retrieval.items()}
        result["answer_p50_ms_largest"] = retrieval[str(max(cfg["sizes"]))]["answer_p50_ms"]
    incremental = section(
        "incremental",
        lambda: bench_incremental(
            real_index, work, cfg["incremental_sizes"], cfg["incremental_repeat"], embedder
        ),
    )
    if incremental:
        result["incremental"] = incremental
        result["incremental_growth"] = incremental["growth"]
    ann = section("ann", lambda: bench_ann(work, cfg["sizes"], qs, embedder))
    if ann:
        result["ann"] = ann
    watch = section("watch", lambda: bench_watch(work / "watch", embedder, cfg["watch_changes"]))
    if watch:
        result["watch"], result["watch_delay_s"] = watch, watch["p50_s"]


def _write(result: dict[str, Any], section: _Sections, out: Path) -> int:
    """The targets, ``bench.md`` (also printed), the plots and ``bench.json``; 1 if a section failed."""
    from ._bench_config import evaluate_targets
    from ._bench_plots import plots
    from ._bench_report import markdown_table

    result["targets"] = evaluate_targets(result)
    table = markdown_table(result)
    (out / "bench.md").write_text(table + "\n", encoding="utf-8")
    written = section("plots", lambda: plots(result, out)) or []
    result["plots"] = written
    (out / "bench.json").write_text(json.dumps(result, indent=1), encoding="utf-8")
    print(table)
    print(f"\nwrote {out / 'bench.json'}, {out / 'bench.md'}" + "".join(f", {out / p}" for p in written))
    if result["errors"]:
        print("errors: " + "; ".join(f"{k}: {v}" for k, v in result["errors"].items()), file=sys.stderr)
        return 1
    return 0


def run(args: argparse.Namespace) -> int:
    """Every section in turn, then the report."""
    mode = "quick" if args.quick else "full"
    cfg = dict(MODES[mode])
    if args.sizes:
        cfg["sizes"] = cfg["incremental_sizes"] = [int(s) for s in args.sizes.split(",")]
    # absolute: the worker processes run from the repository root, not from here
    out = Path(args.out).resolve()
    work = Path(args.work).resolve()
    out.mkdir(parents=True, exist_ok=True)
    work.mkdir(parents=True, exist_ok=True)
    from ._bench_measure import LoadSampler

    started = time.perf_counter()
    sampler = LoadSampler()
    result = _new_result(mode, cfg)
    section = _Sections(result, args.only)

    from index import Embedder, set_offline_env, update_index

    from ._bench_sections import bench_llm, bench_load_check

    set_offline_env()
    t0 = time.perf_counter()
    embedder = Embedder.shared()
    embedder.warm_up()
    result["model_load_s"] = round(time.perf_counter() - t0, 2)
    seed_index = work / "seed-index"
    update_index(REPO / "seeds", seed_index, embedder=embedder, show_progress=False, rebuild=True)

    _seed_sections(section, cfg, seed_index, embedder)
    _corpus_sections(section, cfg, work, embedder)
    result["llm"] = (
        section("llm", lambda: bench_llm(seed_index, embedder, cfg["llm_questions"], cfg["llm_max_tokens"]))
        or {}
    )
    if not args.no_load_check:
        result["load_check"] = section("load_check", lambda: bench_load_check(cfg["load_args"])) or {}
    result["duration_s"] = round(time.perf_counter() - started, 1)
    result["machine"]["loadavg"] = sampler.summary()
    result["machine"]["loadavg_end"] = list(os.getloadavg())
    return _write(result, section, out)


def _add_arguments(p: argparse.ArgumentParser) -> None:
    """The options, shared by ``qa bench`` and ``python -m eval.bench``."""
    p.add_argument("--quick", action="store_true", help="small sizes and few repeats (under 3 minutes)")
    p.add_argument("--out", default="qa-bench", help="where bench.json, bench.md and the plots go")
    p.add_argument(
        "--work", default=".qa/bench", help="scratch folder; large generated indexes are cached here"
    )
    p.add_argument(
        "--sizes",
        help="comma-separated corpus sizes in chunks, for retrieval, ann and re-indexing "
        "(default 1000,10000,100000; 1000000 builds a 1M-chunk corpus, about 8 minutes)",
    )
    p.add_argument("--no-load-check", action="store_true", help="skip the web chat load check")
    p.add_argument(
        "--only",
        help="run only these sections (comma-separated: startup, seed_answers, ingest, retrieval, "
        "incremental, ann, watch, llm, load_check); the report then lacks the others' numbers",
    )
    # internal: one retrieval measurement in its own process
    p.add_argument("--worker", choices=("retrieval",), help=argparse.SUPPRESS)
    p.add_argument("--index-dir", help=argparse.SUPPRESS)
    p.add_argument("--questions-file", help=argparse.SUPPRESS)
    p.add_argument("--passes", type=int, default=1, help=argparse.SUPPRESS)


def register(sub: argparse._SubParsersAction, settings: Any = None) -> None:
    """``qa bench`` (its options take no defaults from ``settings``)."""
    p = sub.add_parser(
        "bench",
        help="measure ingestion, retrieval, answers, start-up and re-indexing against their limits",
        description="Measure each stage against its limit, side by side in one run; write bench.json, "
        "bench.md and plots.",
    )
    _add_arguments(p)
    p.set_defaults(func=cmd_bench)


def cmd_bench(args: argparse.Namespace) -> int:
    """The whole run, or (``--worker retrieval``) one index's retrieval numbers as a JSON line."""
    if args.worker == "retrieval":
        from ._bench_workers import retrieval_worker

        qs = json.loads(Path(args.questions_file).read_text(encoding="utf-8"))
        print(json.dumps(retrieval_worker(Path(args.index_dir), qs, args.passes)))
        return 0
    return run(args)


def main(argv: list[str] | None = None) -> int:
    """``python -m eval.bench``: the same options as ``qa bench``."""
    parser = argparse.ArgumentParser(prog="python -m eval.bench", description=__doc__.splitlines()[0])
    _add_arguments(parser)
    return cmd_bench(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
