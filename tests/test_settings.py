"""Settings in one place: every ``QA_*`` variable is a field of ``index.Settings``, the README's
table lists exactly those, nothing else in the packages reads one from ``os.environ``, and a
variable set in the environment reaches the component it configures."""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("index", "qa", "ui", "eval")
SETTINGS_MODULE = REPO / "index" / "_settings.py"


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch):
    """No QA_* variable of the shell running the tests leaks into these."""
    for name in list(os.environ):
        if name.upper().startswith("QA_") or name.upper() == "OPENAI_API_KEY":
            monkeypatch.delenv(name)


def _readme_table() -> dict[str, str]:
    """``{"QA_X": default cell}`` from the README's "Settings" section."""
    text = (REPO / "README.md").read_text(encoding="utf-8")
    section = text.split("\n## Settings\n", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| `(QA_[A-Z_]+)` \| ([^|]+) \|", section, flags=re.M)
    assert rows, "the README's Settings section has no table of QA_ variables"
    names = [name for name, _ in rows]
    assert len(names) == len(set(names)), f"listed twice: {sorted({n for n in names if names.count(n) > 1})}"
    return {name: cell.strip() for name, cell in rows}


def test_the_readme_table_lists_every_setting_with_its_default():
    from index import Settings
    from index._settings import show_default

    readme = _readme_table()
    fields = {name: show_default(default) for name, (default, _) in Settings.variables().items()}
    assert sorted(readme) == sorted(fields), (
        f"only in the README: {sorted(set(readme) - set(fields))}; "
        f"only in Settings: {sorted(set(fields) - set(readme))}"
    )
    assert readme == fields
    for name, (_, description) in Settings.variables().items():
        assert description, f"{name} has no description"


def test_defaults_agree_with_the_constants_of_the_stages():
    import qa
    import ui
    from index import Settings
    from ui.cli import DEFAULT_MAX_QUESTION_CHARS

    s = Settings.load()
    assert s.max_question_chars == qa.MAX_QUESTION_CHARS == DEFAULT_MAX_QUESTION_CHARS
    assert s.max_upload_mb == ui.DEFAULT_MAX_UPLOAD_MB
    assert qa.Settings is Settings


def _environment_reads(source: str) -> set[int]:
    """Lines that touch ``os.environ`` / ``getenv`` other than to set a default of, or read, a
    variable named by a literal outside QA_ (``HF_HUB_OFFLINE``, ``XDG_CACHE_HOME``), or to copy
    the whole environment for a subprocess; and lines that read an environment (a copy, an
    alias) with a QA_ name on them."""
    tree = ast.parse(source)
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    found: set[int] = set()

    def literal(node: ast.AST | None) -> str | None:
        return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None

    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and any(a.name in ("environ", "getenv") for a in node.names):
            found.add(node.lineno)
            continue
        name = (
            node.attr if isinstance(node, ast.Attribute) else node.id if isinstance(node, ast.Name) else None
        )
        if name not in ("environ", "getenv"):
            continue
        parent = parents.get(node)
        key = None
        if name == "environ" and isinstance(parent, ast.Attribute):  # os.environ.<method>(...)
            call = parents.get(parent)
            if not isinstance(call, ast.Call):
                found.add(node.lineno)
                continue
            if parent.attr == "copy":
                continue
            if parent.attr in ("setdefault", "get") and call.args:
                key = literal(call.args[0])
        elif name == "environ" and isinstance(parent, ast.Subscript):  # os.environ["NAME"]
            key = literal(parent.slice)
        elif name == "getenv" and isinstance(parent, ast.Call) and parent.func is node and parent.args:
            key = literal(parent.args[0])
        if key is None or key.upper().startswith("QA_"):
            found.add(node.lineno)
    for n, line in enumerate(source.splitlines(), start=1):
        if re.search(r"""\b(environ|getenv|env)\b[^#]*\W["']QA_[A-Z_]+["']""", line):
            found.add(n)
    return found


def test_only_the_settings_module_reads_qa_variables_from_the_environment():
    reads = []
    for package in PACKAGES:
        for path in sorted((REPO / package).rglob("*.py")):
            if path == SETTINGS_MODULE:
                continue
            lines = path.read_text(encoding="utf-8").splitlines()
            for n in sorted(_environment_reads("\n".join(lines))):
                reads.append(f"{path.relative_to(REPO)}:{n}: {lines[n - 1].strip()}")
    assert reads == [], "read QA_ variables through index.Settings instead:\n" + "\n".join(reads)


@pytest.mark.parametrize(
    ("source", "lines"),
    [
        ('import os\nx = os.environ.get("QA_INDEX_DIR")\n', {2}),
        ('import os\nx = os.getenv("QA_AUTH", "")\n', {2}),
        ('import os\nx = os.environ["QA_STORE"]\n', {2}),
        ('import os\nenv = os.environ\nx = env.get("QA_LLM")\n', {2, 3}),
        ('import os\nenv = dict(os.environ)\nx = env["QA_LLM"]\n', {2, 3}),
        ('import os\nNAME = "QA_X"\nx = os.environ.get(NAME)\n', {3}),
        ('from os import environ\nx = environ.get("QA_LLM")\n', {1, 2}),
        (
            'import os\nos.environ.setdefault("HF_HUB_OFFLINE", "1")\nx = os.environ.get("XDG_CACHE_HOME")\n',
            set(),
        ),
        ('import os\nenv = os.environ.copy()\nhelp_text = "set QA_AUTH=user:password"\n', set()),
    ],
)
def test_the_source_check_catches_the_ways_of_reading_a_variable(source, lines):
    assert _environment_reads(source) == lines


# ---------------------------------------------------------------- the environment reaches the component


def _qa(*args: str, env: dict[str, str], cwd: Path = REPO) -> subprocess.CompletedProcess:
    full = {k: v for k, v in os.environ.items() if not k.upper().startswith("QA_")}
    full.update({"PYTHONPATH": str(REPO), "COLUMNS": "400", **env})  # help lines unwrapped
    return subprocess.run(
        [sys.executable, "-m", "qa", *args], cwd=cwd, env=full, capture_output=True, text=True, timeout=120
    )


def test_qa_index_dir_is_the_default_index_folder(monkeypatch, tmp_path):
    from index import Settings, default_index_dir

    monkeypatch.chdir(tmp_path)
    assert default_index_dir() == tmp_path / ".qa" / "index"
    assert default_index_dir(Settings.load()) == tmp_path / ".qa" / "index"
    monkeypatch.setenv("QA_INDEX_DIR", str(tmp_path / "elsewhere"))
    settings = Settings.load()
    assert default_index_dir(settings) == tmp_path / "elsewhere"
    assert default_index_dir() == tmp_path / ".qa" / "index"  # a library call without settings
    from qa import Assistant

    assert Assistant().index_dir == tmp_path / "elsewhere"  # the entry point reads the environment
    assert Assistant(tmp_path / "given").index_dir == tmp_path / "given"  # an argument wins
    other = Settings(index_dir=tmp_path / "from-settings")
    assert Assistant(settings=other).index_dir == tmp_path / "from-settings"


def test_qa_index_dir_is_the_default_of_the_command_line(tmp_path):
    shown = _qa("ask", "--help", env={"QA_INDEX_DIR": str(tmp_path / "custom")})
    assert shown.returncode == 0
    assert f"default: {tmp_path / 'custom'}, from $QA_INDEX_DIR" in " ".join(shown.stdout.split())
    plain = _qa("ask", "--help", env={})
    assert "default: ./.qa/index" in plain.stdout
    # and the command uses it: the hint names no --index-dir, since qa index would use the same folder
    out = _qa("ask", "Where is Gabala?", env={"QA_INDEX_DIR": str(tmp_path / "custom")}, cwd=tmp_path)
    assert out.returncode == 2
    assert out.stderr.strip() == (
        f"qa: error: no index at {tmp_path / 'custom'}; build one first with: qa index DOCS_DIR"
    )


def test_qa_max_question_chars_sets_the_serve_limit(monkeypatch, tmp_path):
    import ui
    from qa import QAError

    shown = _qa("serve", "--help", env={"QA_MAX_QUESTION_CHARS": "40", "QA_MAX_UPLOAD_MB": "2.5"})
    assert "(default: 40, from $QA_MAX_QUESTION_CHARS" in " ".join(shown.stdout.split())
    assert "(default: 2.5, from $QA_MAX_UPLOAD_MB" in " ".join(shown.stdout.split())

    monkeypatch.setenv("QA_MAX_QUESTION_CHARS", "40")
    monkeypatch.setenv("QA_MAX_UPLOAD_MB", "2.5")
    app = ui.build_app(tmp_path / "docs", tmp_path / "index", sync=False)
    service = app.qa_service
    assert service.max_question_chars == 40 and service.library.max_upload_mb == 2.5
    assert service.bot.check_question("x" * 40) == "x" * 40
    with pytest.raises(QAError, match="the limit is 40"):
        service.bot.check_question("x" * 41)
    assert ui.launch_options(app=app)["max_file_size"] == "2500000b"  # the upload endpoint's limit too
    explicit = ui.build_app(tmp_path / "docs", tmp_path / "index", sync=False, max_question_chars=90)
    assert explicit.qa_service.bot.max_question_chars == 90  # an argument wins over the settings


def test_a_bad_value_is_one_line_naming_the_variable(tmp_path):
    out = _qa("ask", "Where is Gabala?", env={"QA_MAX_QUESTION_CHARS": "lots"}, cwd=tmp_path)
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert out.stderr.startswith("qa: error: QA_MAX_QUESTION_CHARS='lots' is not valid")
    assert len(out.stderr.strip().splitlines()) == 1
    assert _qa("--help", env={"QA_MAX_QUESTION_CHARS": "lots"}).returncode == 0  # parses no command
    out = _qa("index", str(tmp_path), env={"QA_STORE": "sqlite"}, cwd=tmp_path)
    assert out.returncode == 2 and out.stderr.startswith("qa: error: QA_STORE='sqlite' is not valid")
    secret = _qa("ask", "x", env={"QA_AUTH": "user:pw", "QA_MAX_UPLOAD_MB": "x"}, cwd=tmp_path)
    assert "QA_MAX_UPLOAD_MB" in secret.stderr and "user:pw" not in secret.stderr


def test_secrets_reach_their_component_and_are_never_shown(monkeypatch):
    from index import Settings, StoreConfig
    from qa import llm_generator

    monkeypatch.setenv("OPENAI_API_KEY", "sk-openai-fallback")
    monkeypatch.setenv("QA_MILVUS_TOKEN", "root:milvus-secret")
    monkeypatch.setenv("QA_AUTH", "reader:login-secret")
    settings = Settings.load()
    assert settings.secret("llm_api_key") == "sk-openai-fallback"  # QA_LLM_API_KEY unset
    monkeypatch.setenv("QA_LLM_API_KEY", "sk-qa-key")
    settings = Settings.load()
    assert settings.secret("llm_api_key") == "sk-qa-key"
    for shown in (repr(settings), str(settings), settings.model_dump_json()):
        assert "secret" not in shown and "sk-qa-key" not in shown
    assert StoreConfig().with_settings(settings).resolved_token() == "root:milvus-secret"
    assert StoreConfig(token="given").with_settings(settings).resolved_token() == "given"
    assert StoreConfig().resolved_token() == ""  # no settings, no token
    server = "http://127.0.0.1:9/v1"
    no_backend = object()  # a stand-in llama-index LLM: no LLM extra needed, nothing is called
    gen = llm_generator("openai-like", base_url=server, settings=settings, llm=no_backend)
    assert gen.settings.api_key == "sk-qa-key" and "sk-qa-key" not in repr(gen)
    gen = llm_generator("openai-like", base_url=server, llm=no_backend)  # the environment, read now
    assert gen.settings.api_key == "sk-qa-key"
    other = Settings(llm_api_key="sk-explicit", llm_model="m1")
    gen = llm_generator("openai-like", base_url=server, settings=other, llm=no_backend)
    assert (gen.settings.api_key, gen.settings.model) == ("sk-explicit", "m1")
    gen = llm_generator("openai-like", settings=other, model="m2", api_key="sk-arg", llm=no_backend)
    assert (gen.settings.api_key, gen.settings.model) == ("sk-arg", "m2")  # arguments win


def test_llm_settings_reach_the_generators_an_assistant_builds(monkeypatch, tmp_path):
    """The web chat and the API build a request's generator by name through the Assistant: its
    settings configure it, with nothing read from the environment per request."""
    from qa import Assistant, LLMSettings, Settings

    monkeypatch.setenv("QA_LLM_BASE_URL", "http://127.0.0.1:9/v1")
    monkeypatch.setenv("QA_LLM_MODEL", "served-model")
    bot = Assistant(tmp_path)
    monkeypatch.setenv("QA_LLM_BASE_URL", "http://changed.invalid/v1")  # read once: no effect now
    assert LLMSettings.from_settings("openai-like", bot.settings).base_url == "http://127.0.0.1:9/v1"
    pytest.importorskip("llama_index.llms.openai_like")  # building the generator checks the extra
    gen = bot.generator_for("openai-like")
    assert (gen.settings.base_url, gen.settings.model) == ("http://127.0.0.1:9/v1", "served-model")
    assert bot.generator.name == "extractive"  # the Assistant's own generator is unchanged
    configured = Assistant(tmp_path, settings=Settings(llm_base_url="http://10.0.0.1:8080/v1"))
    assert configured.generator_for("openai-like").settings.base_url == "http://10.0.0.1:8080/v1"
