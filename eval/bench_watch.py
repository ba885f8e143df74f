"""Watched-folder benchmark: from a file written to the moment the live index answers from it.

    python -m eval.bench_watch [--changes 5] [--serve] [--work DIR]

Each round adds a document with an invented fact, edits its figure, renames it and deletes it;
the delay of each change is from the write (or rename, or delete) to the first answer that
shows it: citing the new file with its figure (add, edit), citing the new name (rename), or no
longer citing it (delete). In-process by default (the watcher of ``qa index --watch`` and an
``Assistant`` on the same index, asking every 0.1 s once a new generation is live); with
``--serve`` through a real ``qa serve --watch`` and its HTTP API, as a user sees it. The
watcher waits for the folder to be quiet for ``index._watch.QUIET_SECONDS`` before updating,
so that is the floor. Prints medians and maxima per kind; ``qa bench`` runs the in-process
one as its ``watch`` section. Target: every kind's median <= 5 s. Not a test: asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
TARGET_S = 5.0
LIMIT_S = 120.0  # one change not answered by then counts as this long
KINDS = ("add", "edit", "rename", "delete")
NAMES = (
    "Velmor",
    "Triskel",
    "Quillan",
    "Dremmel",
    "Ostrik",
    "Pellam",
    "Brannock",
    "Lusk",
    "Fennic",
    "Zorblat",
)
FILLER = "The Ostrava glass kiln of the Pellam works runs at 1,460 degrees for nine hours."

Ask = Callable[[str], tuple[str, set[str]]]  # question -> (answer text, cited documents)


def _fact(name: str, figure: int) -> tuple[str, str, str]:
    """An invented fact about ``name``, its question, and the figure an answer must quote."""
    text = f"The {name} observatory keeps a telescope with a mirror {figure} centimetres wide."
    return text, f"How wide is the mirror of the {name} observatory telescope?", f"{figure} centimetres"


def _shown(kind: str, text: str, cited: set[str], doc: str, figure: str) -> bool:
    """Whether an answer shows the change: the new file and figure, the new name alone, or the file gone."""
    if kind == "rename":
        return cited == {doc}
    if kind == "delete":
        return doc not in cited
    return doc in cited and figure in text


def _wait(ask: Ask, generation: Callable[[], str], question: str, kind: str, doc: str, figure: str) -> float:
    """Seconds until an answer shows the change; asks only once the generation has changed."""
    t0, seen = time.perf_counter(), generation()
    while time.perf_counter() - t0 < LIMIT_S:
        live = generation()
        if live != seen:
            text, cited = ask(question)
            if _shown(kind, text, cited, doc, figure):
                return time.perf_counter() - t0
            seen = live
        time.sleep(0.1)
    return LIMIT_S


def measure(docs: Path, ask: Ask, generation: Callable[[], str], changes: int) -> dict[str, Any]:
    """``changes`` rounds of add, edit, rename, delete in ``docs``; the delays per kind."""
    delays: dict[str, list[float]] = {k: [] for k in KINDS}
    for i in range(changes):
        name = NAMES[i % len(NAMES)] + (str(i // len(NAMES)) if i >= len(NAMES) else "")
        first, second = docs / f"obs-{i}.txt", docs / f"renamed-{i}.txt"
        for kind in KINDS:
            text, q, figure = _fact(name, (311 if kind == "add" else 911) + 7 * i)
            if kind in ("add", "edit"):
                first.write_text(text, encoding="utf-8")
            elif kind == "rename":
                os.rename(first, second)
            else:
                second.unlink()
            doc = first.name if kind in ("add", "edit") else second.name
            delays[kind].append(_wait(ask, generation, q, kind, doc, figure))
    out: dict[str, Any] = {"changes": changes}
    for kind, values in delays.items():
        out[kind] = {"p50_s": round(statistics.median(values), 2), "max_s": round(max(values), 2)}
    out["p50_s"] = max(out[k]["p50_s"] for k in KINDS)  # the slowest kind's median decides
    out["timed_out"] = sum(v >= LIMIT_S for values in delays.values() for v in values)
    return out


def _generation(index_dir: Path) -> Callable[[], str]:
    def live() -> str:
        try:
            return (index_dir / "CURRENT").read_text(encoding="utf-8").strip()
        except OSError:
            return ""

    return live


def bench_watch(work: Path, embedder: Any = None, changes: int = 5) -> dict[str, Any]:
    """In process: ``qa index --watch``'s watcher (its own embedder, as the web chat's indexing
    has) and an Assistant answering from the same index folder."""
    from index import Embedder, FolderWatcher, update_index
    from qa import Assistant

    shutil.rmtree(work, ignore_errors=True)
    docs, index_dir = work / "docs", work / "index"
    docs.mkdir(parents=True)
    (docs / "kiln.txt").write_text(FILLER, encoding="utf-8")
    answering = embedder or Embedder.shared()
    indexing = Embedder(answering.model_name)
    update_index(docs, index_dir, embedder=indexing, show_progress=False)
    bot = Assistant(index_dir, embedder=answering).warm_up()

    def ask(question: str) -> tuple[str, set[str]]:
        a = bot.answer(question)
        return a.text, {c.doc for c in a.citations}

    watcher = FolderWatcher.for_index(docs, index_dir, embedder=indexing).start()
    try:
        result = measure(docs, ask, _generation(index_dir), changes)
    finally:
        watcher.stop()
    result["observer"] = "polling" if watcher.poll else "events"
    result["through"] = "in process"
    return result


@contextmanager
def _served(work: Path) -> Iterator[tuple[Path, Path, str]]:
    """A real ``qa serve --watch`` on a free loopback port until the block ends."""
    import socket

    shutil.rmtree(work, ignore_errors=True)
    docs, index_dir = work / "docs", work / "index"
    docs.mkdir(parents=True)
    (docs / "kiln.txt").write_text(FILLER, encoding="utf-8")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    log = work / "serve.log"
    cmd = [sys.executable, "-m", "qa", "serve", "--watch", "--docs", str(docs)]
    cmd += ["--index-dir", str(index_dir), "--port", str(port), "--host", "127.0.0.1"]
    with log.open("w", encoding="utf-8") as out:
        proc = subprocess.Popen(cmd, cwd=REPO, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 300
        while "Running on" not in log.read_text(errors="replace"):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(
                    f"qa serve --watch did not start: {log.read_text(errors='replace')[-2000:]}"
                )
            time.sleep(0.2)
        yield docs, index_dir, f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


def bench_watch_serve(work: Path, changes: int = 5) -> dict[str, Any]:
    """Through a real ``qa serve --watch``: the answer as ``POST /v1/answer`` gives it."""
    import httpx

    with _served(work) as (docs, index_dir, base), httpx.Client(base_url=base, timeout=120) as http:

        def ask(question: str) -> tuple[str, set[str]]:
            body = http.post("/v1/answer", json={"question": question}).json()
            return body["text"], {c["doc"] for c in body["citations"]}

        result = measure(docs, ask, _generation(index_dir), changes)
    result["through"] = "qa serve --watch"
    return result


def table_rows(result: dict[str, Any], met: str) -> list[tuple[str, str, str, str, str, str]]:
    """``qa bench``'s row (``met``: its verdict), when it ran the ``watch`` section."""
    if "watch" not in result:
        return []
    w = result["watch"]
    kinds = ", ".join(f"{k} {w[k]['p50_s']:.2f} s" for k in KINDS)
    return [(f"watched folder: change to answer, median of {w['changes']}", kinds, "", "", "<= 5 s", met)]


def table(result: dict[str, Any]) -> str:
    lines = [
        f"Delay from a change to the first answer that shows it ({result['through']}, "
        f"{result['changes']} changes of each kind):",
        "",
        "| change | median | max |",
        "|---|---|---|",
    ]
    lines += [f"| {k} | {result[k]['p50_s']:.2f} s | {result[k]['max_s']:.2f} s |" for k in KINDS]
    met = "met" if result["p50_s"] <= TARGET_S else "**missed**"
    lines += ["", f"Slowest median {result['p50_s']:.2f} s; target <= {TARGET_S:g} s: {met}."]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m eval.bench_watch", description=__doc__.splitlines()[0])
    p.add_argument("--changes", type=int, default=5, help="rounds of add, edit, rename, delete (default 5)")
    p.add_argument("--serve", action="store_true", help="through a real `qa serve --watch` and its HTTP API")
    p.add_argument("--work", help="scratch folder (default: a temporary one)")
    p.add_argument("--json", action="store_true", help="print the result as JSON too")
    args = p.parse_args(argv)
    from index import set_offline_env

    set_offline_env()
    work = Path(args.work) if args.work else Path(tempfile.mkdtemp(prefix="qa-bench-watch-"))
    result = bench_watch_serve(work, args.changes) if args.serve else bench_watch(work, None, args.changes)
    print(table(result))
    if args.json:
        print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
