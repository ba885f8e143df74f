"""Shared fixtures: the real embedder and a real index of the seed article, built once; the
packaged GGUF model and a real OpenAI-compatible LLM server over it (tests/qa and tests/ui)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from _servers import LLM_SERVER_KEY
from _servers import llm_server as start_llm_server

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

REPO = Path(__file__).resolve().parent.parent
SEEDS = REPO / "seeds"
SEED_FILE = SEEDS / "000_5c5733213d75056c.txt"


@pytest.fixture(scope="session")
def embedder():
    from index import Embedder

    emb = Embedder.shared()
    emb.warm_up()
    return emb


@pytest.fixture(scope="session")
def seed_index(tmp_path_factory, embedder) -> Path:
    from index import update_index

    index_dir = tmp_path_factory.mktemp("seed-index")
    update_index(SEEDS, index_dir, embedder=embedder, show_progress=False)
    return index_dir


@pytest.fixture(scope="session")
def seed_bot(seed_index, embedder):
    from qa import Assistant

    return Assistant(seed_index, embedder=embedder).warm_up()


@pytest.fixture(scope="session")
def gguf_path() -> Path:
    """The packaged Gemma 3 270M GGUF, assembled into the cache once."""
    from qa._llm import packaged_model_path

    return packaged_model_path()


@pytest.fixture(scope="session")
def server_key() -> str:
    return LLM_SERVER_KEY


@pytest.fixture(scope="session")
def llm_server(gguf_path, tmp_path_factory) -> Iterator[str]:
    """``python -m llama_cpp.server`` with an API key on a free port, for the whole session; its
    base URL (``http://127.0.0.1:PORT/v1``)."""
    log = tmp_path_factory.mktemp("llm-server") / "server.log"
    with start_llm_server(gguf_path, log) as base_url:
        yield base_url


@pytest.fixture()
def seed_text() -> str:
    return SEED_FILE.read_text(encoding="utf-8")


@pytest.fixture()
def docs_copy(tmp_path) -> Path:
    """A writable copy of seeds/ for tests that add, change or remove files."""
    target = tmp_path / "docs"
    shutil.copytree(SEEDS, target)
    return target


# Markers for tests in files whose owners change them often, applied here by name. `make check`
# runs `-m "not slow and not llm and not browser and not bench"` and must stay under a minute;
# the LLM test modules (tests/qa/test_llm.py, test_openai_like.py) and tests/ui/test_server.py
# mark their own tests. Slow: over ~5 s in a `--durations=0` run on the shared 2-core machine,
# and the 2-4 s ones (milvus-lite, subprocesses, full rebuilds) that together kept the rest over
# a minute. "*" = the whole module; "fixture:NAME" = every test that uses that fixture (a server
# its module starts once, which alone takes that long).
MARKS: dict[str, dict[str, tuple[str, ...]]] = {
    "slow": {
        # over ~5 s in the full suite
        "tests/qa/test_cli.py": (
            "test_index_then_ask_end_to_end",
            "test_index_counts_skips_by_reason_and_verbose_lists_them_escaped",
            "test_an_index_folder_that_cannot_be_written_is_one_line_and_loses_nothing",
            "test_a_folder_with_nothing_to_index_gets_a_hint",
            "test_a_20mb_single_line_file_is_one_warning_and_the_rest_is_indexed",
            "test_chat_keeps_history",
            # ~2.5 s each: a `qa` subprocess that loads the model (what keeps check under a minute)
            "test_ask_into_a_closed_pipe_exits_quietly",
            "test_chat_understands_its_commands",
        ),
        "tests/eval/test_eval_cli.py": (
            "test_seed_gold_set_meets_its_bounds",
            "test_broken_generator_misses_the_bounds",
            "test_baseline_runs_the_stock_pipeline",
        ),
        "tests/eval/test_mtrag.py": (
            "test_qa_eval_on_the_sample_prints_the_class_table_and_checks_class_bounds",
        ),
        "tests/eval/test_conversation_bounds.py": ("*",),
        "tests/index/test_store.py": (
            "test_killed_mid_write_leaves_previous_index_loadable",
            # 2-4 s each: full index builds to compare against
            "test_update_keeps_bm25_term_counts_and_matches_a_full_build",
            "test_incremental_equals_full_rebuild",
            "test_prebuilt_generation_is_a_real_index_that_updates_incrementally",
            "test_index_of_an_older_format_asks_for_rebuild",
            "test_different_chunking_or_folder_needs_rebuild",
        ),
        "tests/index/test_extraction.py": (
            "test_a_5mb_single_line_is_chunked_with_sane_spans",
            "test_sentence_spans_are_bounded_on_pathological_text",  # megabytes of text, ~5 s in all
            "test_a_20mb_wrapped_paragraph_is_joined",
        ),
        "tests/ui/test_api.py": ("fixture:api",),
        "tests/ui/test_serve_cli.py": ("fixture:served",),
        "tests/ui/test_api_limits.py": ("fixture:served",),  # its own qa serve, ~15 s to start
        "tests/ui/test_api_docs.py": ("*",),  # the in-process server, when no other test started it
        # below 5 s each, but together what keeps `make check` over a minute
        "tests/index/test_milvus.py": ("*",),  # milvus-lite: 2-4 s a test, 17 s for its CLI one
        "tests/ui/test_milvus_serving.py": ("*",),
        "tests/qa/test_mcp.py": ("fixture:mcp_run",),  # `qa mcp` over stdio, 5 s to start
        "tests/eval/test_train_reader.py": ("test_pilot_configuration_trains_and_the_loss_falls",),
        "tests/index/test_query.py": ("test_answering_does_not_import_torch",),  # a fresh interpreter
        "tests/ui/test_upload_failures.py": ("*",),  # ~1 s a test: failing uploads, 1 MB questions
    },
    "llm": {"tests/eval/test_eval_cli.py": ("test_llm_eval_beside_the_stock_citation_engine",)},
    "browser": {"tests/ui/test_browser.py": ("*",)},
    "bench": {"tests/eval/test_bench.py": ("test_quick_bench_writes_bench_json_table_and_plots",)},
}


def _matches(item: pytest.Item, entry: str) -> bool:
    if entry == "*":
        return True
    if entry.startswith("fixture:"):
        return entry.removeprefix("fixture:") in getattr(item, "fixturenames", ())
    return getattr(item, "originalname", item.name) == entry


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Apply :data:`MARKS`; an entry naming a test its collected module no longer has is a warning
    (a renamed slow test would otherwise slip into the fast tier unnoticed)."""
    root = Path(str(config.rootpath))
    used: set[tuple[str, str]] = set()
    modules: set[str] = set()
    for item in items:
        path = Path(str(item.path)).resolve().relative_to(root).as_posix()
        modules.add(path)
        for marker, table in MARKS.items():
            for entry in table.get(path, ()):
                if _matches(item, entry):
                    item.add_marker(getattr(pytest.mark, marker))
                    used.add((path, entry))
    for table in MARKS.values():
        for path, entries in table.items():
            for entry in entries:
                if path in modules and (path, entry) not in used:
                    config.issue_config_time_warning(
                        pytest.PytestConfigWarning(f"tests/conftest.py MARKS: {path} has no test {entry}"), 2
                    )
