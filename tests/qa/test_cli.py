"""The command line as a user runs it: real processes, real index."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def run_qa(*args: str, cwd: Path = REPO, env: dict | None = None, stdin: str | None = None):
    full_env = {**os.environ, **(env or {})}
    full_env.pop("QA_INDEX_DIR", None)
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "qa", *args],
        cwd=cwd,
        env=full_env,
        capture_output=True,
        text=True,
        input=stdin,
        timeout=300,
    )


def test_help_lists_commands_without_heavy_imports():
    out = run_qa("--help")
    assert out.returncode == 0
    for command in ("index", "ask", "chat"):
        assert command in out.stdout
    code = "import sys, qa.cli; qa.cli.build_parser(); print('torch' in sys.modules, 'numpy' in sys.modules)"
    probe = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True)
    assert probe.stdout.strip() == "False False"


def test_ask_before_any_index_gives_a_hint(tmp_path):
    out = run_qa("ask", "Where is Gabala?", cwd=tmp_path, env={"PYTHONPATH": str(REPO)})
    assert out.returncode == 2
    assert "qa index" in out.stderr and "Traceback" not in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1


def test_index_then_ask_end_to_end(tmp_path):
    env = {"PYTHONPATH": str(REPO)}
    seeds = REPO / "seeds"
    out = run_qa("index", str(seeds), "--quiet", cwd=tmp_path, env=env)
    assert out.returncode == 0, out.stderr
    assert "1 added" in out.stdout and (tmp_path / ".qa" / "index" / "CURRENT").exists()
    again = run_qa("index", str(seeds), "--quiet", cwd=tmp_path, env=env)
    assert "1 unchanged" in again.stdout

    q = "How much Kazakh oil has been exported via the Baku-Tbilisi-Ceyhan pipeline since 2023?"
    out = run_qa("ask", q, cwd=tmp_path, env=env)
    assert out.returncode == 0, out.stderr
    assert "approximately 3.4 million tons" in out.stdout
    assert "[1] 000_5c5733213d75056c.txt" in out.stdout

    out = run_qa("ask", q, "--json", cwd=tmp_path, env=env)
    data = json.loads(out.stdout)
    c = data["citations"][0]
    text = (seeds / c["doc"]).read_text(encoding="utf-8")
    assert "approximately 3.4 million tons" in text[c["start"] : c["end"]]


def test_index_dir_from_environment_and_bad_folder(tmp_path):
    env = {"PYTHONPATH": str(REPO), "QA_INDEX_DIR": str(tmp_path / "custom")}
    out = run_qa("index", str(tmp_path / "missing"), cwd=tmp_path, env=env)
    assert out.returncode == 2 and "no such file or folder" in out.stderr
    assert "Traceback" not in out.stderr


def test_chat_keeps_history(seed_index):
    env = {"QA_INDEX_DIR": str(seed_index)}
    script = (
        "How much Kazakh oil has been exported via the Baku-Tbilisi-Ceyhan pipeline since 2023?\n"
        "And by 2027?\n"
    )
    out = run_qa("chat", env=env, stdin=script)
    assert out.returncode == 0, out.stderr
    assert "3.4 million tons" in out.stdout and "7 million tons" in out.stdout
