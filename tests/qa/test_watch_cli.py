"""`qa index DIR --watch` as a user runs it: a real process, a real folder, Ctrl-C to stop."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import _servers
import pytest

from index import CorpusIndex

REPO = Path(__file__).resolve().parents[2]
LIMIT = 90.0  # seconds: generous, for a loaded 2-core machine
KILN = "The Ostrava glass kiln of the Pellam works runs at 1,460 degrees for nine hours."
HERON = "The Velmor heron sanctuary on Lake Triskel counted 1,284 nesting pairs in 2023."


def wait_until(what: str, check: Callable[[], bool], log: Path) -> None:
    _servers.wait_until(what, check, LIMIT, detail=lambda: log.read_text(errors="replace"))


def start(tmp_path: Path, docs: Path) -> tuple[subprocess.Popen, Path]:
    log = tmp_path / "watch.log"
    env = {k: v for k, v in os.environ.items() if k != "QA_INDEX_DIR"}
    with log.open("w", encoding="utf-8") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "qa", "index", str(docs), "--watch", "--quiet"],
            cwd=tmp_path,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            text=True,
        )
    return proc, log


@pytest.mark.slow
def test_index_watch_prints_a_line_per_change_and_stops_on_ctrl_c(tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "kiln.txt").write_text(KILN, encoding="utf-8")
    index_dir = tmp_path / ".qa" / "index"
    proc, log = start(tmp_path, docs)
    try:
        wait_until("watching", lambda: "watching " in log.read_text(), log)
        assert log.read_text().startswith("1 added, 0 updated")
        (docs / "heron.txt").write_text(HERON, encoding="utf-8")
        wait_until("added", lambda: "\nadded heron.txt\n" in log.read_text(), log)
        os.rename(docs / "heron.txt", docs / "birds.txt")
        wait_until("renamed", lambda: "\nrenamed heron.txt -> birds.txt\n" in log.read_text(), log)
        (docs / "kiln.txt").unlink()
        wait_until("removed", lambda: "\nremoved kiln.txt\n" in log.read_text(), log)
        assert [d.key for d in CorpusIndex.open(index_dir).documents] == ["birds.txt"]
        assert "1 added, 0 updated, 1 removed, 1 unchanged" in log.read_text()  # the rename's summary
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=60) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
    text = log.read_text()
    assert "stopped watching" in text and "Traceback" not in text, text


@pytest.mark.slow
def test_an_empty_folder_is_a_warning_with_watch_and_a_file_given_is_one_line(tmp_path):
    docs = tmp_path / "empty"
    docs.mkdir()
    proc, log = start(tmp_path, docs)
    try:
        wait_until("watching", lambda: "watching " in log.read_text(), log)
        assert "qa: warning: nothing to index" in log.read_text()
        (docs / "heron.txt").write_text(HERON, encoding="utf-8")
        wait_until("added", lambda: "\nadded heron.txt\n" in log.read_text(), log)
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=60)
    single = tmp_path / "one.txt"
    single.write_text(KILN, encoding="utf-8")
    out = subprocess.run(
        [sys.executable, "-m", "qa", "index", str(single), "--watch", "--quiet"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 2 and out.stderr.strip().endswith(": not a folder"), out.stderr
    assert out.stderr.count("\n") == 1 and "Traceback" not in out.stderr
