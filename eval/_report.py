"""Reports a person reads: report.json (everything), report.md (tables and failures), report.html (plots).

Gold sets with answerability classes (MTRAG-UN) add a per-class table (``metrics["by_class"]``).
"""

from __future__ import annotations

import base64
import html
import io
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ._metrics import CLASS_METRICS, COUNTS, METRICS, TurnResult


@dataclass
class RunResult:
    """One system's run over a gold set: its name, metrics and per-item results."""

    name: str
    metrics: dict[str, Any]
    items: list[TurnResult]
    config: dict[str, Any] = field(default_factory=dict)


def _fmt(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)


def summary_table(runs: Sequence[RunResult]) -> str:
    """A Markdown table: one row per metric, one column per system."""
    head = "| metric | " + " | ".join(r.name for r in runs) + " |"
    rule = "|---|" + "---:|" * len(runs)
    rows = [head, rule]
    for name in (*METRICS, *COUNTS):
        rows.append(f"| {name} | " + " | ".join(_fmt(r.metrics.get(name)) for r in runs) + " |")
    return "\n".join(rows)


def class_table(run: RunResult) -> str | None:
    """A Markdown table of ``by_class``: one row per class, its metrics as columns (None without one)."""
    classes = run.metrics.get("by_class")
    if not classes:
        return None
    columns = ("n", *CLASS_METRICS)
    rows = ["| class | " + " | ".join(columns) + " |", "|---|" + "---:|" * len(columns)]
    for name, values in classes.items():
        rows.append(f"| {name} | " + " | ".join(_fmt(values.get(c)) for c in columns) + " |")
    return "\n".join(rows)


def _expected(r: TurnResult) -> str:
    if r.kind == "underspecified":
        return "(a clarifying question)"
    if not r.answerable:
        return "(abstain)"
    return "; ".join(r.answers) or (r.reference or "")[:200] or "; ".join(r.evidence)[:200]


def clarification_line(r: TurnResult) -> str | None:
    """What a clarifying question offered and what of it the response named, on one line."""
    if not r.clarified:
        return None
    clar = r.clarification or {}
    offered = "; ".join(clar.get("readings") or []) or "none"
    missing = f", missing: {clar['missing']}" if clar.get("missing") else ""
    named = "; ".join(r.clarify_named) or "nothing retrieved"
    verdict = "counts" if r.clarify_ok else "does not count"
    return f"clarified ({verdict}): readings: {offered}{missing}; named: {named}"


def _failure_md(r: TurnResult) -> str:
    lines = [f"### {r.id}", f"- question: {r.question}"]
    if r.kind not in ("answerable", "unanswerable") or r.multi_turn:
        lines.append(f"- class: {r.kind}" + (f", {r.multi_turn}" if r.multi_turn else ""))
    if r.standalone_question:
        lines.append(f"- resolved as: {r.standalone_question}")
    lines.append(f"- expected: {_expected(r)}")
    lines.append(f"- got: {r.error or r.response}")
    clarified = clarification_line(r)
    if clarified:
        lines.append(f"- {clarified}")
    for c in r.citations:
        mark = "supports" if c.get("supports") else "does not hold the evidence"
        lines.append(f"  - [{c['n']}] {c['doc']} ({mark}): {c['quote'][:240]}")
    if r.hit is not None:
        lines.append(
            f"- retrieval: {'hit at rank ' + str(r.rank) if r.hit else 'missed the relevant passage'}"
        )
    return "\n".join(lines)


def to_markdown(runs: Sequence[RunResult], max_failures: int = 200) -> str:
    parts = ["# Evaluation report", "", summary_table(runs), ""]
    for run in runs:
        table = class_table(run)
        if table:
            parts.extend([f"## By class: {run.name}", "", table, ""])
    for run in runs:
        failed = [r for r in run.items if r.failed]
        parts.append(f"## Failures: {run.name} ({len(failed)} of {len(run.items)})")
        parts.append("")
        parts.extend(_failure_md(r) + "\n" for r in failed[:max_failures])
        if len(failed) > max_failures:
            parts.append(f"... {len(failed) - max_failures} more in report.json")
    return "\n".join(parts) + "\n"


def _png(fig) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, bbox_inches="tight")
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _plots(runs: Sequence[RunResult]) -> list[tuple[str, str]]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out = []
    names = [
        m for m in METRICS if not m.startswith("latency") and any(r.metrics.get(m) is not None for r in runs)
    ]
    fig, ax = plt.subplots(figsize=(10, 3.6))
    width = 0.8 / max(len(runs), 1)
    for i, run in enumerate(runs):
        values = [run.metrics.get(m) or 0.0 for m in names]
        ax.bar([x + i * width for x in range(len(names))], values, width, label=run.name)
    ax.set_xticks(
        [x + width * (len(runs) - 1) / 2 for x in range(len(names))], names, rotation=30, ha="right"
    )
    ax.set_ylim(0, 1)
    ax.set_title("Metrics")
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0))
    out.append(("Metrics", _png(fig)))
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(6, 3.2))
    for run in runs:
        ax.hist([r.latency_s * 1000 for r in run.items], bins=30, alpha=0.6, label=run.name)
    ax.set_xlabel("latency per question (ms)")
    ax.set_ylabel("questions")
    ax.legend()
    out.append(("Latency", _png(fig)))
    plt.close(fig)

    for run in runs:
        scored = [r for r in run.items if r.confidence is not None]
        if not scored:
            continue
        fig, ax = plt.subplots(figsize=(6, 3.2))
        bins = [i / 20 for i in range(21)]
        ax.hist([r.confidence for r in scored if r.answerable], bins=bins, alpha=0.6, label="answerable")
        ax.hist(
            [r.confidence for r in scored if not r.answerable], bins=bins, alpha=0.6, label="unanswerable"
        )
        ax.axvline(0.5, color="k", linestyle="--", linewidth=1, label="abstain below")
        ax.set_xlabel("confidence of the best passage")
        ax.set_ylabel("questions")
        ax.set_title(f"Score distribution: {run.name}")
        ax.legend()
        out.append((f"Score distribution ({run.name})", _png(fig)))
        plt.close(fig)
    return out


def _md_table_to_html(table: str) -> str:
    lines = [line.strip("|").split("|") for line in table.splitlines() if not line.startswith("|---")]
    head, *body = lines
    th = "".join(f"<th>{html.escape(c.strip())}</th>" for c in head)
    rows = "".join(
        "<tr>" + "".join(f"<td>{html.escape(c.strip())}</td>" for c in row) + "</tr>" for row in body
    )
    return f"<table><thead><tr>{th}</tr></thead><tbody>{rows}</tbody></table>"


def to_html(runs: Sequence[RunResult]) -> str:
    e = html.escape
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'><title>qa eval report</title>",
        "<style>body{font-family:system-ui,sans-serif;margin:2em;max-width:1100px}"
        "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}"
        "td:first-child{text-align:left}.fail{background:#fff3f3}.item{margin:.6em 0;padding:.4em;"
        "border-left:3px solid #c33}blockquote{color:#444;margin:.2em 1em}</style></head><body>",
        "<h1>Evaluation report</h1>",
        _md_table_to_html(summary_table(runs)),
    ]
    for run in runs:
        table = class_table(run)
        if table:
            parts.append(f"<h2>By class: {e(run.name)}</h2>{_md_table_to_html(table)}")
    for title, png in _plots(runs):
        parts.append(f"<h2>{e(title)}</h2><img alt='{e(title)}' src='data:image/png;base64,{png}'>")
    for run in runs:
        failed = [r for r in run.items if r.failed]
        parts.append(f"<h2>Failures: {e(run.name)} ({len(failed)} of {len(run.items)})</h2>")
        for r in failed:
            expected = _expected(r)
            clarified = clarification_line(r)
            cites = "".join(
                f"<blockquote>[{c['n']}] {e(c['doc'])}: {e(c['quote'])}</blockquote>" for c in r.citations
            )
            parts.append(
                f"<div class='item'><b>{e(r.id)}</b>: {e(r.question)}<br>expected: {e(expected)}"
                f"<br>got: {e(r.error or r.response)}"
                + (f"<br>{e(clarified)}" if clarified else "")
                + f"{cites}</div>"
            )
    parts.append("</body></html>")
    return "\n".join(parts)


def write_reports(out_dir: Path, runs: Sequence[RunResult]) -> dict[str, Path]:
    """Write the three reports; report.json holds the first run at top level, others under ``baselines``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    main, *others = runs
    payload: dict[str, Any] = {
        "metrics": main.metrics,
        "items": [r.to_dict() for r in main.items],
        "config": main.config,
    }
    if others:
        payload["baselines"] = {
            r.name: {"metrics": r.metrics, "items": [i.to_dict() for i in r.items], "config": r.config}
            for r in others
        }
    paths = {"json": out_dir / "report.json", "md": out_dir / "report.md", "html": out_dir / "report.html"}
    paths["json"].write_text(json.dumps(payload, indent=2, ensure_ascii=False), encoding="utf-8")
    paths["md"].write_text(to_markdown(runs), encoding="utf-8")
    paths["html"].write_text(to_html(runs), encoding="utf-8")
    return paths
