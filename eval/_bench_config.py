"""``qa bench``'s fixed inputs in one place: what each mode runs, and the targets it is judged by.

Kept apart from the sections so that a mode or a bound is changed here alone, and so that the
report and the run read the same numbers.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
SEED_QUESTION = "Where was the 12th OTS Summit held?"
SEED_EXPECTED = "Gabala"
TOP_K = 5

# What each mode runs; the quick one must finish in under 3 minutes on the shared 2-core machine.
MODES: dict[str, dict[str, Any]] = {
    "quick": {
        "ingest_passages": 10,
        "ingest_repeat": 2,
        "sizes": [1000, 10000],
        "questions": 24,
        "passes": 1,
        "answer_passes": 1,
        "help_repeat": 3,
        "ask_repeat": 1,
        "incremental_sizes": [1000, 10000],
        "incremental_repeat": 1,
        "watch_changes": 2,
        "load_args": ["--sessions", "3", "--questions", "2"],
        "llm_questions": 2,
        "llm_max_tokens": 32,
    },
    "full": {
        "ingest_passages": 150,
        "ingest_repeat": 3,
        "sizes": [1000, 10000, 100000],
        "questions": 100,
        "passes": 3,
        "answer_passes": 3,
        "help_repeat": 7,
        "ask_repeat": 5,
        "incremental_sizes": [1000, 10000, 100000],
        "incremental_repeat": 3,
        "watch_changes": 5,
        "load_args": [],
        "llm_questions": 10,
        "llm_max_tokens": 64,
    },
}

TARGETS = {  # name: (comparison, bound, what it is)
    "ingest_ratio_vs_raw": (">=", 0.85, "qa index chunks/s over raw SentenceTransformer.encode"),
    "ingest_ratio_vs_stock": (
        ">=",
        1.0,
        "stock VectorStoreIndex.from_documents time over qa index time, same files",
    ),
    "retrieval_ratio_vs_raw": ("<=", 1.5, "retrieval p50 over query embedding + raw FAISS search"),
    # the answer includes the reader reading the top passages (qa/_answerer.py): [2/7]'s bounds
    "answer_p50_ms": ("<=", 200.0, "warm answer p50 on the seed index, ms"),
    "answer_p50_ms_largest": ("<=", 300.0, "warm answer p50 at the largest size, ms"),
    "help_s": ("<=", 0.5, "qa --help, s"),
    "cold_ask_s": ("<=", 5.0, "cold qa ask, process start to answer, s"),
    "incremental_growth": ("<=", 1.5, "time to re-index one changed document, 10k-chunk index over 1k"),
    "watch_delay_s": ("<=", 5.0, "watched folder: change to first answer showing it, slowest median, s"),
}


def evaluate_targets(result: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Each target with the run's value and whether it was met; a target not measured is left out."""
    out = {}
    for name, (op, bound, what) in TARGETS.items():
        value = result.get(name)
        if isinstance(value, dict):  # per size: the worst one decides
            value = max(value.values()) if value else None
        if not isinstance(value, (int, float)):
            continue
        met = value >= bound if op == ">=" else value <= bound
        out[name] = {"value": value, "target": f"{op} {bound}", "met": bool(met), "what": what}
    return out
