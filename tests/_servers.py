"""Real servers for tests, on 127.0.0.1: a free port, waiting for one to answer, and
llama-cpp-python's OpenAI-compatible server over the packaged GGUF model.

Also ``wait_until``, the polling every live-process test does. One copy for every test package (tests/conftest.py puts ``tests/`` on ``sys.path``, so
``import _servers`` works from tests/qa and tests/ui alike).
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

LLM_SERVER_KEY = "test-key-5c1f0e"  # the key the test LLM server demands
LLM_SERVER_START_S = 180.0


def wait_until(
    what: str, check: Callable[[], bool], limit: float, every: float = 0.2, detail: Callable[[], str] = str
) -> None:
    """Poll ``check`` until it holds; past ``limit`` seconds fail naming ``what`` (and ``detail()``,
    e.g. a server's log)."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(every)
    more = detail()
    raise AssertionError(f"not within {limit:.0f} s: {what}" + (f"\n{more}" if more else ""))


def free_port() -> int:
    """A port nothing listens on now (the OS picks it), for a server the test starts."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for_http(
    url: str,
    *,
    proc: subprocess.Popen | None = None,
    log: Path | None = None,
    headers: dict[str, str] | None = None,
    timeout: float = 60.0,
) -> None:
    """Return once ``GET url`` answers 200; AssertionError (with the log's tail) when ``proc``
    exits first or ``timeout`` seconds pass."""

    def tail() -> str:
        return log.read_text(encoding="utf-8", errors="replace")[-2000:] if log and log.exists() else ""

    request = urllib.request.Request(url, headers=headers or {})
    deadline = time.monotonic() + timeout
    while True:
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"{proc.args[:3]} exited with {proc.returncode}: {tail()}")
        try:
            with urllib.request.urlopen(request, timeout=5) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        if time.monotonic() > deadline:
            raise AssertionError(f"{url} did not answer within {timeout:g} s: {tail()}")
        time.sleep(0.5)


def stop(proc: subprocess.Popen, grace_s: float = 20.0) -> None:
    """Terminate a server this test started, killing it when it does not stop in time."""
    proc.terminate()
    try:
        proc.wait(timeout=grace_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@contextlib.contextmanager
def llm_server(gguf: Path, log: Path, key: str = LLM_SERVER_KEY, threads: int = 2) -> Iterator[str]:
    """``python -m llama_cpp.server`` serving ``gguf`` with API key ``key`` on a free port;
    yields its OpenAI-style base URL (``http://127.0.0.1:PORT/v1``) once it answers."""
    port = free_port()
    cmd = [sys.executable, "-m", "llama_cpp.server", "--model", str(gguf), "--host", "127.0.0.1"]
    cmd += ["--port", str(port), "--n_ctx", "2048", "--n_threads", str(threads), "--api_key", key]
    with open(log, "wb") as out:
        env = {**os.environ, "OMP_WAIT_POLICY": "PASSIVE"}  # see qa/_llmgen.py: spinning threads stall
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env)
    base_url = f"http://127.0.0.1:{port}/v1"
    try:
        wait_for_http(
            f"{base_url}/models",
            proc=proc,
            log=log,
            headers={"Authorization": f"Bearer {key}"},
            timeout=LLM_SERVER_START_S,
        )
        yield base_url
    finally:
        stop(proc)
