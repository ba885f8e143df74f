"""The store tests that hold for any store run against both: FAISS and Milvus (milvus-lite)."""

from __future__ import annotations

import pytest


@pytest.fixture(params=["faiss", pytest.param("milvus", marks=pytest.mark.slow)])
def store(request) -> str:
    """A store kind for ``update_index(..., store=...)``; Milvus runs on milvus-lite, which
    ``make test`` installs (the milvus extra)."""
    if request.param == "milvus":
        pytest.importorskip("milvus_lite")
    return request.param
