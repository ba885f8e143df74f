"""Bounded load check: concurrent browser-like sessions against a real web-chat server.

    python -m ui.bench_load [--sessions 10] [--questions 5]

Starts the chat over a temp copy of ``seeds/`` on a free loopback port, runs that many
``gradio_client`` sessions at once (each asks the seed questions in turn, as one
conversation), and prints errors (must be 0), wrong answers, and latency percentiles
per question, measured to the end of the streamed answer.
"""

from __future__ import annotations

import argparse
import contextlib
import shutil
import socket
import statistics
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

SEEDS = Path(__file__).resolve().parent.parent / "seeds"
QUESTIONS = (  # seed gold questions (eval/gold/seed.jsonl) and a string each answer must hold
    ("How much Kazakh oil has been exported via the Baku-Tbilisi-Ceyhan pipeline since 2023?", "3.4 million"),
    ("How many companies with Kazakh capital operate in Azerbaijan?", "250"),
    (
        "What was the trade turnover between Azerbaijan and Kazakhstan in the first eight months of 2025?",
        "550",
    ),
    ("Where will the hot-briquetted-iron plant be located?", "Shamkir"),
    ("Where was the 12th OTS Summit held?", "Gabala"),
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _reply(chat: list[dict]) -> str:
    content = chat[-1]["content"] if chat else ""
    if isinstance(content, list):
        return "".join(p.get("text", "") for p in content if isinstance(p, dict))
    return str(content)


def _percentile(values: list[float], q: float) -> float:
    """The measured latency at the nearest rank, never one between two (what this check has always
    printed; eval/_percentiles.py says why eval's reports keep the same method)."""
    import numpy as np

    return float(np.quantile(values, q, method="nearest"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ui.bench_load", description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=10)
    parser.add_argument("--questions", type=int, default=5, help=f"per session, at most {len(QUESTIONS)}")
    parser.add_argument("--stream-delay", type=float, default=0.02, help="seconds per streamed word")
    args = parser.parse_args(argv)

    from gradio_client import Client

    import ui

    work = Path(tempfile.mkdtemp(prefix="qa-bench-load-"))
    try:
        shutil.copytree(SEEDS, work / "docs")
        started = time.perf_counter()
        app = ui.build_app(work / "docs", work / "index", stream_delay=args.stream_delay)
        port = _free_port()
        app.launch(
            server_name="127.0.0.1",
            server_port=port,
            prevent_thread_lock=True,
            quiet=True,
            **ui.launch_options(),
        )
        url = f"http://127.0.0.1:{port}/"
        print(f"server ready in {time.perf_counter() - started:.1f}s at {url}", flush=True)

        questions = QUESTIONS[: args.questions]
        latencies: list[float] = []
        errors: list[str] = []
        wrong: list[str] = []
        lock = threading.Lock()
        barrier = threading.Barrier(args.sessions)

        def session(i: int) -> None:
            try:
                client = Client(url, verbose=False)
            except Exception as exc:  # noqa: BLE001 - counted and printed, not raised
                with lock:
                    errors.append(f"session {i}: connect: {exc!r}")
                barrier.abort()
                return
            with contextlib.suppress(threading.BrokenBarrierError):
                barrier.wait(timeout=120)  # everyone asks at the same moment
            for question, expected in questions:
                t0 = time.perf_counter()
                try:
                    _, chat, _, _ = client.predict(question, 5, "extractive", api_name="/ask")
                except Exception as exc:  # noqa: BLE001
                    with lock:
                        errors.append(f"session {i}: {question[:40]}: {exc!r}")
                    continue
                elapsed = time.perf_counter() - t0
                with lock:
                    latencies.append(elapsed)
                    if expected not in _reply(chat):
                        wrong.append(f"session {i}: {question[:40]}: {_reply(chat)[:80]!r}")

        t_all = time.perf_counter()
        with ThreadPoolExecutor(args.sessions) as pool:
            list(pool.map(session, range(args.sessions)))
        wall = time.perf_counter() - t_all
        app.close()
    finally:
        shutil.rmtree(work, ignore_errors=True)

    total = args.sessions * len(questions)
    for line in errors + wrong:
        print(line)
    print(f"{args.sessions} sessions x {len(questions)} questions = {total} requests in {wall:.1f}s")
    print(f"errors: {len(errors)}  wrong answers: {len(wrong)}")
    if latencies:
        print(
            f"latency to full answer: p50 {statistics.median(latencies):.2f}s  "
            f"p95 {_percentile(latencies, 0.95):.2f}s  max {max(latencies):.2f}s  "
            f"({len(latencies) / wall:.1f} answers/s)"
        )
    return 1 if errors or wrong or len(latencies) != total else 0


if __name__ == "__main__":
    sys.exit(main())
