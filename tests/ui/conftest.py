"""A real web-chat server on a free loopback port, over a temp copy of seeds/, for the UI tests."""

from __future__ import annotations

import shutil

import pytest
from _uihelpers import SEEDS, start_server


@pytest.fixture(scope="session")
def server(tmp_path_factory, embedder):
    """The seed article indexed and served; tests that add documents remove them again."""
    root = tmp_path_factory.mktemp("ui")
    shutil.copytree(SEEDS, root / "docs")
    srv = start_server(root / "docs", root / "index", embedder)
    yield srv
    srv.app.close()


@pytest.fixture(scope="session")
def empty_server(tmp_path_factory, embedder):
    """No documents at all: what a first-time user sees."""
    root = tmp_path_factory.mktemp("ui-empty")
    (root / "docs").mkdir()
    srv = start_server(root / "docs", root / "index", embedder)
    yield srv
    srv.app.close()
