"""Shared fixtures: the real embedder and a real index of the seed article, built once."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

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


@pytest.fixture()
def seed_text() -> str:
    return SEED_FILE.read_text(encoding="utf-8")


@pytest.fixture()
def docs_copy(tmp_path) -> Path:
    """A writable copy of seeds/ for tests that add, change or remove files."""
    target = tmp_path / "docs"
    shutil.copytree(SEEDS, target)
    return target
