"""The small ``qa bench`` sections, each a few calls of a public entry point: start-up of the
CLI, answers on the seed index, the llama.cpp backend, and the web chat's load check.

The sections that build corpora of many sizes are in :mod:`eval._bench_ingest` and
:mod:`eval._bench_scaling`.
"""

from __future__ import annotations

import json
import re
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ._bench_config import SEED_EXPECTED, SEED_QUESTION
from ._bench_measure import median, pct, timed_run

if TYPE_CHECKING:
    from index import Embedder


def bench_startup(seed_index: Path, help_repeat: int, ask_repeat: int) -> dict[str, Any]:
    """``qa --help`` and a cold ``qa ask``, each a fresh process (``python -m qa``)."""
    helps = []
    for _ in range(help_repeat):
        t, proc = timed_run([sys.executable, "-m", "qa", "--help"])
        if proc.returncode != 0:
            raise RuntimeError(f"qa --help failed: {proc.stderr[-500:]}")
        helps.append(t)
    asks = []
    for _ in range(ask_repeat):
        t, proc = timed_run(
            [sys.executable, "-m", "qa", "ask", SEED_QUESTION, "--index-dir", str(seed_index)]
        )
        if proc.returncode != 0 or SEED_EXPECTED not in proc.stdout:
            raise RuntimeError(f"cold qa ask failed ({proc.returncode}): {proc.stderr[-500:]}")
        asks.append(t)
    # where a cold ask's time goes: the slowest imports, from one more run
    _, proc = timed_run(
        [sys.executable, "-X", "importtime", "-m", "qa", "ask", SEED_QUESTION, "--index-dir", str(seed_index)]
    )
    imports = []
    for line in proc.stderr.splitlines():
        m = re.match(r"import time:\s+\d+ \|\s+(\d+) \|(\s*)(\S+)", line)
        if m and len(m.group(2)) <= 2:  # top-level imports only
            imports.append((m.group(3), int(m.group(1)) / 1e6))
    imports.sort(key=lambda x: -x[1])
    return {
        "help_s": round(median(helps), 3),
        "help_runs_s": [round(x, 3) for x in helps],
        "cold_ask_s": round(median(asks), 3),
        "cold_ask_runs_s": [round(x, 3) for x in asks],
        "cold_ask_imports_s": {name: round(s, 3) for name, s in imports[:8]},
        "cold_ask_import_total_s": round(sum(s for _, s in imports), 3),
    }


# ------------------------------------------------------------------ 3. answers on the seed index


def bench_seed_answers(seed_index: Path, embedder: Embedder, passes: int) -> dict[str, Any]:
    from qa import Assistant

    from ._benchcorpus import SEED_GOLD

    bot = Assistant(seed_index, embedder=embedder).warm_up()
    qs = []
    for line in SEED_GOLD.read_text(encoding="utf-8").splitlines():
        item = json.loads(line)
        qs.extend([item["question"]] if "question" in item else [t["q"] for t in item["turns"]])
    times, stages = [], {"embed": [], "retrieve": [], "generate": []}
    for _ in range(passes):
        for q in qs:
            t0 = time.perf_counter()
            a = bot.answer(q)
            times.append(time.perf_counter() - t0)
            for k in stages:
                stages[k].append(a.timings.get(k, 0.0))
    return {
        "answers": len(times),
        "p50_ms": round(pct(times, 0.5) * 1000, 2),
        "p95_ms": round(pct(times, 0.95) * 1000, 2),
        "stage_p50_ms": {k: round(pct(v, 0.5) * 1000, 2) for k, v in stages.items()},
    }


def bench_load_check(args: list[str]) -> dict[str, Any]:
    """``python -m ui.bench_load`` in its own process (eval does not import ui); its printed numbers."""
    t, proc = timed_run([sys.executable, "-m", "ui.bench_load", *args], timeout=1200)
    text = proc.stdout + proc.stderr
    out: dict[str, Any] = {"args": args, "exit_code": proc.returncode, "wall_s": round(t, 1)}
    m = re.search(r"(\d+) sessions x (\d+) questions = (\d+) requests in ([\d.]+)s", text)
    if m:
        out.update(sessions=int(m[1]), questions=int(m[2]), requests=int(m[3]), requests_wall_s=float(m[4]))
    m = re.search(r"errors: (\d+)\s+wrong answers: (\d+)", text)
    if m:
        out.update(errors=int(m[1]), wrong=int(m[2]))
    m = re.search(r"p50 ([\d.]+)s\s+p95 ([\d.]+)s\s+max ([\d.]+)s\s+\(([\d.]+) answers/s\)", text)
    if m:
        out.update(p50_s=float(m[1]), p95_s=float(m[2]), max_s=float(m[3]), answers_per_s=float(m[4]))
    if proc.returncode != 0 or "p50_s" not in out:
        out["error"] = text[-800:]
    return out


# ------------------------------------------------------------------ 3b. llama.cpp


def bench_llm(seed_index: Path, embedder: Embedder, questions: int, max_tokens: int) -> dict[str, Any]:
    """The llama.cpp backend on the seed index (``eval.bench_llm``), or why it was skipped."""
    import importlib.util

    if importlib.util.find_spec("llama_cpp") is None:
        return {"skipped": "the llm extra is not installed (pip install 'qa-docs[llm]')"}
    from qa import QAError

    from .bench_llm import measure

    try:
        return measure(seed_index, questions=questions, max_tokens=max_tokens, embedder=embedder)
    except QAError as exc:
        return {"skipped": str(exc)}
