"""The measuring tools every ``qa bench`` section shares: percentiles and medians of timings,
a process's memory, the machine's load, timed child processes, the progress log.

Apart from the sections so that the parent run and the worker processes measure the same way.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

from ._bench_config import REPO
from ._percentiles import percentile


def pct(values: list[float], q: float) -> float:
    """The interpolated ``q`` quantile (see :mod:`eval._percentiles`); 0.0 for no values."""
    return float(percentile(values, q) or 0.0)


def median(values: list[float]) -> float:
    """The median, NaN for no values (a section that measured nothing shows it, not 0)."""
    return float(statistics.median(values)) if values else float("nan")


def rss_kb(field: str = "VmRSS") -> int:
    """This process's memory from ``/proc/self/status`` (kB; 0 where there is none): ``VmRSS``,
    ``RssAnon`` (private) or ``VmHWM`` (peak)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def dir_bytes(path: Path) -> int:
    """Bytes of every file under ``path``: an index's size on disk."""
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def mem_total_gib() -> float:
    """The machine's memory, for the report's header line."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 2**20, 1)
    except OSError:
        pass
    return float("nan")


def log(message: str) -> None:
    """Progress on stderr, timestamped: stdout carries the table (and a worker's JSON)."""
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


class LoadSampler:
    """Samples the 1-minute load average while the benchmark runs."""

    def __init__(self, every: float = 5.0) -> None:
        self.samples: list[float] = [os.getloadavg()[0]]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(every,), daemon=True)
        self._thread.start()

    def _run(self, every: float) -> None:
        while not self._stop.wait(every):
            self.samples.append(os.getloadavg()[0])

    def summary(self) -> dict[str, float]:
        self._stop.set()
        s = self.samples + [os.getloadavg()[0]]
        return {"min": min(s), "median": round(median(s), 2), "max": max(s), "samples": len(s)}


def subprocess_env() -> dict[str, str]:
    """The environment of a child process: offline, and importing this checkout."""
    env = os.environ.copy()
    env.setdefault("HF_HUB_OFFLINE", "1")
    env.setdefault("TRANSFORMERS_OFFLINE", "1")
    # python -m from the repository root: the checkout's packages, whatever is installed
    env["PYTHONPATH"] = str(REPO) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env


def timed_run(cmd: list[str], timeout: float = 600) -> tuple[float, subprocess.CompletedProcess]:
    """Wall seconds and the finished process of ``cmd``, run from the repository root."""
    t0 = time.perf_counter()
    proc = subprocess.run(
        cmd, cwd=REPO, env=subprocess_env(), capture_output=True, text=True, timeout=timeout
    )
    return time.perf_counter() - t0, proc
