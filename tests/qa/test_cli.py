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


def _no_traceback(out) -> None:
    for noise in ("Traceback", "BrokenPipeError", "Exception ignored"):
        assert noise not in out.stderr, out.stderr


def test_index_counts_skips_by_reason_and_verbose_lists_them_escaped(tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "seed.txt").write_text((REPO / "seeds" / "000_5c5733213d75056c.txt").read_text(encoding="utf-8"))
    evil = "ferry\n\x1b[31mnotes.txt"  # a newline and a terminal colour code in the name
    (docs / evil).write_text("The Caspian ferry from Aktau to Alat carried 40,000 trucks in 2024.")
    (docs / "table.xlsx").write_bytes(b"PK\x03\x04 not a spreadsheet")
    os.symlink(docs / "gone.txt", docs / "dangling.txt")
    env = {"PYTHONPATH": str(REPO)}
    out = run_qa("index", str(docs), "--quiet", "--verbose", "--index-dir", str(tmp_path / "idx"), env=env)
    assert out.returncode == 0, out.stderr
    _no_traceback(out)
    lines = out.stdout.splitlines()
    assert lines[0].startswith("2 added, 0 updated, 0 removed, 0 unchanged, 2 skipped (1 broken symlink, 1 unsupported")
    assert sorted(lines[1:]) == [
        f"  skipped {docs}/dangling.txt: broken symlink (its target does not exist)",
        f"  skipped {docs}/table.xlsx: unsupported file type .xlsx; use one of .txt, .md, .html, .htm, .pdf, .docx, .png, .jpg, .jpeg",
    ]
    assert out.stderr.splitlines() == [
        f"qa: warning: skipped {docs}/dangling.txt: broken symlink (its target does not exist)"
    ]

    q = "How many trucks did the Caspian ferry carry in 2024?"
    out = run_qa("ask", q, "--index-dir", str(tmp_path / "idx"), env=env)
    assert out.returncode == 0, out.stderr
    assert "\x1b" not in out.stdout and "[1] ferry\\n\\x1b[31mnotes.txt (chars" in out.stdout
    out = run_qa("ask", q, "--json", "--index-dir", str(tmp_path / "idx"), env=env)
    assert json.loads(out.stdout)["citations"][0]["doc"] == evil  # JSON keeps the name exact


def test_a_20mb_single_line_file_is_one_warning_and_the_rest_is_indexed(tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "ferry.txt").write_text("The Caspian ferry from Aktau to Alat carried 40,000 trucks in 2024.")
    (docs / "dump.txt").write_text("The relay station logged a pressure of 40 bar. " * 440_000)
    assert (docs / "dump.txt").stat().st_size > 20_000_000
    out = run_qa("index", str(docs), "--quiet", "--index-dir", str(tmp_path / "idx"), env={"PYTHONPATH": str(REPO)})
    assert out.returncode == 0, out.stderr
    _no_traceback(out)
    assert out.stdout.startswith("1 added, 0 updated, 0 removed, 0 unchanged, 1 skipped (1 "), out.stdout
    (warning,) = out.stderr.splitlines()
    assert warning.startswith(f"qa: warning: skipped {docs}/dump.txt: a line of ")
    assert warning.endswith("characters without a line break (the most is 1,000,000); split it into paragraphs")


def test_a_folder_with_nothing_to_index_gets_a_hint(tmp_path):
    env = {"PYTHONPATH": str(REPO)}
    (tmp_path / "empty").mkdir()
    out = run_qa("index", str(tmp_path / "empty"), "--quiet", "--index-dir", str(tmp_path / "i1"), env=env)
    assert out.returncode == 2 and len(out.stderr.splitlines()) == 1
    assert "nothing to index" in out.stderr and ".txt .md .html .htm .pdf .docx" in out.stderr
    (tmp_path / "sheets").mkdir()
    (tmp_path / "sheets" / "a.xlsx").write_bytes(b"PK")
    out = run_qa("index", str(tmp_path / "sheets"), "--quiet", "--index-dir", str(tmp_path / "i2"), env=env)
    assert out.returncode == 2 and "1 skipped (1 unsupported type)" in out.stdout
    assert "nothing to index" in out.stderr and len(out.stderr.splitlines()) == 1


def _limit_file_size() -> None:
    """In the child: files may not grow past 16 KB (a full disk, as root can meet it too)."""
    import resource
    import signal

    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG instead
    resource.setrlimit(resource.RLIMIT_FSIZE, (16384, 16384))


def test_an_index_folder_that_cannot_be_written_is_one_line_and_loses_nothing(tmp_path, docs_copy):
    env = {"PYTHONPATH": str(REPO)}
    (tmp_path / "a-file").write_text("not a folder")
    out = run_qa("index", str(docs_copy), "--quiet", "--index-dir", str(tmp_path / "a-file" / "idx"), env=env)
    assert out.returncode == 2 and out.stderr.splitlines() == [
        f"qa: error: cannot write the index folder {tmp_path}/a-file/idx: Not a directory"
    ]
    if os.geteuid() != 0:  # root writes anywhere, whatever the mode says
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o555)
        out = run_qa("index", str(docs_copy), "--quiet", "--index-dir", str(locked / "idx"), env=env)
        assert out.returncode == 2 and "Permission denied" in out.stderr and len(out.stderr.splitlines()) == 1

    index_dir = tmp_path / "idx"
    assert run_qa("index", str(docs_copy), "--quiet", "--index-dir", str(index_dir), env=env).returncode == 0
    before = (index_dir / "CURRENT").read_text()
    (docs_copy / "more.txt").write_text("The Alat port lies south of Baku. " * 200)
    full = {**os.environ, **env}
    full.pop("QA_INDEX_DIR", None)
    out = subprocess.run(
        [sys.executable, "-m", "qa", "index", str(docs_copy), "--quiet", "--index-dir", str(index_dir)],
        env=full,
        capture_output=True,
        text=True,
        timeout=300,
        preexec_fn=_limit_file_size,
    )
    assert out.returncode == 2, out.stderr
    assert out.stderr.startswith(f"qa: error: cannot write the index folder {index_dir}: ")
    assert len(out.stderr.splitlines()) == 1
    assert (index_dir / "CURRENT").read_text() == before
    assert not [p for p in index_dir.iterdir() if p.name.startswith(".staging-")]
    q = "How much Kazakh oil has been exported via the Baku-Tbilisi-Ceyhan pipeline since 2023?"
    out = run_qa("ask", q, "--index-dir", str(index_dir), env=env)
    assert out.returncode == 0 and "3.4 million tons" in out.stdout


def test_ask_into_a_closed_pipe_exits_quietly(seed_index):
    """`qa ask ... --json | head -c 10`: the reader is gone before qa writes a byte."""
    full = {**os.environ, "PYTHONPATH": str(REPO), "QA_INDEX_DIR": str(seed_index)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "qa", "ask", "Where was the 12th OTS Summit held?", "--json"],
        env=full,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    proc.stdout.close()
    stderr = proc.stderr.read()
    assert proc.wait(timeout=300) == 141  # 128 + SIGPIPE, what a shell shows for `yes | head`
    assert stderr == "", stderr


def test_chat_understands_its_commands(seed_index):
    q = "How much Kazakh oil has been exported via the Baku-Tbilisi-Ceyhan pipeline since 2023?"
    script = f"/help\nhelp\n/frobnicate now\n{q}\n/new\nquit\n{q}\n"
    out = run_qa("chat", env={"QA_INDEX_DIR": str(seed_index)}, stdin=script)
    assert out.returncode == 0, out.stderr
    assert out.stdout.count("/new forgets the conversation") == 2  # /help and plain help
    assert out.stderr.splitlines() == ["qa: unknown command /frobnicate; /help lists the commands"]
    before, after = out.stdout.split("(new conversation)")
    assert "3.4 million tons" in before  # the question was answered
    assert after.strip() == ""  # and "quit" ended the chat: the question after it was never asked


def test_chat_commands_and_terminal_escaping():
    from qa._chat_cli import chat_command
    from qa._terminal import printable

    assert [chat_command(x) for x in ("/quit", "Exit", "quit.", "/HELP", "/new", "/nope", "/etc/hosts?")] == [
        "quit",
        "quit",
        "quit",
        "help",
        "new",
        "unknown",
        None,
    ]
    assert chat_command("How do I quit smoking?") is None
    assert printable("a\nb\x1b[0m\tc\u200b\udcff") == "a\\nb\\x1b[0m\\tc\\u200b\\xff"
    assert printable("Baku–Tbilisi «ok» ü") == "Baku–Tbilisi «ok» ü"
