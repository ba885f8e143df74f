"""Core benchmark: index build time for a folder and warm answer latency.

    python -m eval.bench_core [--docs seeds] [--gold eval/gold/seed.jsonl] [--repeat 3]

Prints numbers; it is not a test and asserts nothing about speed.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(q * (len(ordered) - 1))))
    return ordered[k]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m eval.bench_core", description=__doc__)
    parser.add_argument("--docs", default="seeds")
    parser.add_argument("--gold", default="eval/gold/seed.jsonl")
    parser.add_argument("--repeat", type=int, default=3, help="passes over the questions")
    args = parser.parse_args(argv)

    t0 = time.perf_counter()
    from index import Embedder, set_offline_env

    set_offline_env()
    from qa import Assistant, index_documents

    t_import = time.perf_counter() - t0
    t0 = time.perf_counter()
    embedder = Embedder()
    embedder.warm_up()
    t_model = time.perf_counter() - t0

    builds = []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.repeat):
            target = Path(tmp) / f"idx{i}"
            t0 = time.perf_counter()
            report = index_documents(args.docs, target, embedder=embedder, show_progress=False)
            builds.append(time.perf_counter() - t0)
        bot = Assistant(target, embedder=embedder).warm_up()
        questions = []
        for line in Path(args.gold).read_text(encoding="utf-8").splitlines():
            item = json.loads(line)
            questions.extend([item["question"]] if "question" in item else [t["q"] for t in item["turns"]])
        latencies = []
        for _ in range(args.repeat):
            for q in questions:
                t0 = time.perf_counter()
                bot.answer(q)
                latencies.append(time.perf_counter() - t0)

    rows = [
        ("python imports (qa, index)", f"{t_import:.2f} s"),
        ("embedding model load", f"{t_model:.2f} s"),
        (
            f"index build of {args.docs} ({report.n_chunks} chunks), median of {args.repeat}",
            f"{statistics.median(builds):.2f} s",
        ),
        (
            f"warm answer p50 ({len(latencies)} answers, {len(questions)} questions)",
            f"{_pct(latencies, 0.5) * 1000:.1f} ms",
        ),
        ("warm answer p95", f"{_pct(latencies, 0.95) * 1000:.1f} ms"),
    ]
    print("| measure | value |\n|---|---|")
    for name, value in rows:
        print(f"| {name} | {value} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
