"""``qa bench --quick`` runs end to end and writes a well-formed report (speed is not asserted)."""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
REQUIRED = ("ingest_ratio_vs_raw", "ingest_ratio_vs_stock", "answer_p50_ms", "help_s", "cold_ask_s")


def _number(x) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x) and x > 0


def test_quick_bench_writes_bench_json_table_and_plots(tmp_path):
    out, work = tmp_path / "out", tmp_path / "work"
    proc = subprocess.run(
        [sys.executable, "-m", "eval.bench", "--quick", "--out", str(out), "--work", str(work)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=1200,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    data = json.loads((out / "bench.json").read_text(encoding="utf-8"))
    for key in REQUIRED:
        assert _number(data[key]), (key, data.get(key))
    ratios = data["retrieval_ratio_vs_raw"]
    assert set(ratios) == {"1000", "10000"} and all(_number(v) for v in ratios.values())
    assert all(_number(x) for x in data["machine"]["loadavg_start"] + [data["machine"]["loadavg"]["median"]])
    assert data["errors"] == {}
    assert {"value", "target", "met"} <= set(data["targets"]["cold_ask_s"])
    table = (out / "bench.md").read_text(encoding="utf-8")
    assert "| measure |" in table and "load average" in table and "cold `qa ask`" in table
    assert "| measure |" in proc.stdout
    for name in data["plots"]:
        assert (out / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert {"latency.png", "memory.png", "ingest.png", "incremental.png"} <= set(data["plots"])


def test_bench_is_a_qa_subcommand_through_the_entry_point():
    from eval.bench import cmd_bench, register

    section = (REPO / "pyproject.toml").read_text().split('[project.entry-points."qa.commands"]')[1]
    assert 'bench = "eval.bench:register"' in section.split("\n[")[0]
    parser = argparse.ArgumentParser(prog="qa")
    register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["bench", "--quick", "--out", "x"])
    assert args.func is cmd_bench and args.quick and args.out == "x"
