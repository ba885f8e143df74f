"""The Milvus store on milvus-lite (and on milvus-lite's gRPC server): same answers as FAISS.

Each index here is small (the seed article plus a few lines), so the whole file runs in
well under a minute on two slow cores.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("llama_index.vector_stores.milvus")
pytest.importorskip("milvus_lite")

from index import (  # noqa: E402
    CorpusIndex,
    IndexMismatch,
    StoreConfig,
    StoreError,
    _milvus,
    _milvus_store,
    _update,
    update_index,  # noqa: E402
)

REPO = Path(__file__).resolve().parents[2]
QUESTIONS = [
    "How much Kazakh oil has been exported via the Baku-Tbilisi-Ceyhan pipeline since 2023?",
    "Where was the 12th OTS Summit held?",
    "How many trucks did the Caspian ferry carry in 2024?",
    "What will the hot-briquetted-iron plant produce?",
    "Which port lies south of Baku?",
]
FERRY = (
    "The Caspian ferry line between Aktau and Alat carried 40,000 trucks in 2024. "
    "Port officials in Aktau expect the number of trucks to double by 2028."
)
NOTES = "# Notes\n\nThe Alat port lies south of Baku. Its ferry terminal opened in 2018."


def _signature(index_dir: Path, embedder, questions=QUESTIONS, store=None):
    """Per question: the ranked passages (doc, span) with fused scores, and the answer."""
    from qa import Assistant

    bot = Assistant(index_dir, embedder=embedder, store=store)
    out = []
    for q in questions:
        a = bot.answer(q)
        out.append(([(r.doc, r.start, r.end, round(r.score, 5)) for r in a.retrieved], a.text))
    return out


def _assert_same_ranking(a, b):
    """Same passages in the same order, except that passages with equal fused scores may swap."""
    for (ra, ta), (rb, tb) in zip(a, b, strict=True):
        assert [r[3] for r in ra] == [r[3] for r in rb]
        groups_a: dict[float, set] = {}
        groups_b: dict[float, set] = {}
        for r in ra:
            groups_a.setdefault(r[3], set()).add(r[:3])
        for r in rb:
            groups_b.setdefault(r[3], set()).add(r[:3])
        assert groups_a == groups_b
        assert ta == tb


def _rows(index_dir: Path) -> int:
    idx = CorpusIndex.open(index_dir)
    stats = idx.vector_store.client.get_collection_stats(idx.store["collection"])
    return int(stats["row_count"])


@pytest.fixture()
def folder(docs_copy) -> Path:
    """The seed article plus two short documents."""
    (docs_copy / "ferry.txt").write_text(FERRY, encoding="utf-8")
    (docs_copy / "notes.md").write_text(NOTES, encoding="utf-8")
    return docs_copy


def test_seed_index_answers_like_faiss(tmp_path, seed_index, embedder):
    index_dir = tmp_path / "m"
    store = StoreConfig(kind="milvus", token="sekrit-1")  # milvus-lite ignores tokens; none is stored
    report = update_index(REPO / "seeds", index_dir, embedder=embedder, show_progress=False, store=store)
    assert report.added == ["000_5c5733213d75056c.txt"] and report.n_chunks > 1
    idx = CorpusIndex.open(index_dir)
    store = idx.store
    assert store["kind"] == "milvus" and store["uri"] == "milvus.db" and store["index_type"] == "FLAT"
    assert store["collection"].startswith("qa_") and "sekrit" not in json.dumps(idx.manifest)
    assert (index_dir / "milvus.db").is_dir() and not (idx.path / "bm25").exists()
    assert _rows(index_dir) == idx.n_chunks
    _assert_same_ranking(_signature(index_dir, embedder), _signature(seed_index, embedder))
    # the stored vectors are FAISS' vectors, and BM25 ranks and scores like bm25s
    faiss = CorpusIndex.open(seed_index)
    np.testing.assert_allclose(idx.chunk_vectors(), faiss.chunk_vectors(), atol=1e-6)
    np.testing.assert_allclose(idx.chunk_vector(3), faiss.chunk_vector(3), atol=1e-6)
    for q in QUESTIONS:
        got, want = idx.lexical.search(q, 5), faiss.lexical.search(q, 5)
        assert [r for r, _ in got] == [r for r, _ in want]
        np.testing.assert_allclose([s for _, s in got], [s for _, s in want], rtol=1e-4)
        for t in ("kazakh", "pipelin", "3.4", "gabala"):
            assert idx.lexical.idf(t) == pytest.approx(faiss.lexical.idf(t))


def test_add_change_remove_reload(tmp_path, docs_copy, embedder):
    index_dir = tmp_path / "m"

    def run():
        return update_index(docs_copy, index_dir, embedder=embedder, show_progress=False, store="milvus")

    run()
    (docs_copy / "ferry.txt").write_text(FERRY, encoding="utf-8")
    r = run()
    assert r.added == ["ferry.txt"] and r.embedded_chunks == 1
    (docs_copy / "ferry.txt").write_text(FERRY.replace("40,000", "55,000"), encoding="utf-8")
    (docs_copy / "notes.md").write_text(NOTES, encoding="utf-8")
    r = run()
    assert r.updated == ["ferry.txt"] and r.added == ["notes.md"] and r.embedded_chunks == 2
    (docs_copy / "notes.md").unlink()
    r = run()
    assert r.removed == ["notes.md"] and r.embedded_chunks == 0
    before = (index_dir / "CURRENT").read_text()
    assert len(run().unchanged) == 2 and (index_dir / "CURRENT").read_text() == before
    # replaced and removed versions are gone from the collection, nothing is pending
    assert _rows(index_dir) == CorpusIndex.open(index_dir).n_chunks
    assert not (index_dir / _milvus.PENDING_FILE).exists()

    full = tmp_path / "faiss"
    update_index(docs_copy, full, embedder=embedder, show_progress=False)
    a, b = CorpusIndex.open(index_dir), CorpusIndex.open(full)
    np.testing.assert_allclose(a.chunk_vectors(), b.chunk_vectors(), atol=1e-6)
    assert a.lexical.n_docs == b.lexical.n_docs
    for t in ("ferry", "truck", "alat", "kazakh"):
        assert a.lexical.idf(t) == pytest.approx(b.lexical.idf(t))
    reloaded = _signature(index_dir, embedder)  # a fresh Assistant: the index as reloaded
    ferry_hits, ferry_answer = reloaded[2]
    assert ferry_hits[0][0] == "ferry.txt" and "40,000" not in ferry_answer
    assert all(r[0] != "notes.md" for sig, _ in reloaded for r in sig)
    # dense retrieval is exact; the incremental collection ranks like a fresh FAISS build
    q = "How many trucks did the Caspian ferry carry in 2024?"
    from index import Embedder

    vec = Embedder.shared().embed_query(q)
    assert [r for r, _ in a.dense_search(vec, 5)] == [r for r, _ in b.dense_search(vec, 5)]


def test_small_folder_retrieval_equals_faiss(tmp_path, folder, embedder):
    m, f = tmp_path / "m", tmp_path / "f"
    update_index(folder, m, embedder=embedder, show_progress=False, store=StoreConfig(kind="milvus"))
    update_index(folder, f, embedder=embedder, show_progress=False, store="faiss")
    _assert_same_ranking(_signature(m, embedder), _signature(f, embedder))


def test_crash_before_commit_is_invisible_then_undone(tmp_path, folder, embedder, monkeypatch):
    index_dir = tmp_path / "m"
    update_index(folder, index_dir, embedder=embedder, show_progress=False, store="milvus")
    live = (index_dir / "CURRENT").read_text()
    n = CorpusIndex.open(index_dir).n_chunks
    expected = _signature(index_dir, embedder)

    class Killed(BaseException):
        pass

    def die(*_a, **_k):
        raise Killed

    (folder / "ferry.txt").write_text(FERRY.replace("Aktau", "Kuryk") * 3, encoding="utf-8")
    (folder / "extra.txt").write_text("Kuryk port handles grain exports to Iran.", encoding="utf-8")
    # a process killed after inserting into Milvus, before swapping CURRENT: no cleanup runs
    monkeypatch.setattr(_update, "commit", die)
    monkeypatch.setattr(_milvus_store, "recover", lambda *a, **k: None)
    with pytest.raises(Killed):
        update_index(folder, index_dir, embedder=embedder, show_progress=False)
    monkeypatch.undo()
    assert (index_dir / "CURRENT").read_text() == live
    assert (index_dir / _milvus.PENDING_FILE).exists() and _rows(index_dir) > n
    # the orphans are never retrieved nor answered from (they do count in Milvus' BM25
    # statistics until removed, so lexical scores may move a little meanwhile)
    after = _signature(index_dir, embedder)
    assert [t for _, t in after] == [t for _, t in expected]
    assert all(r[0] != "extra.txt" for sig, _ in after for r in sig)
    # the next run removes the orphans and completes the update
    r = update_index(folder, index_dir, embedder=embedder, show_progress=False)
    assert r.updated == ["ferry.txt"] and r.added == ["extra.txt"]
    assert not (index_dir / _milvus.PENDING_FILE).exists()
    assert _rows(index_dir) == CorpusIndex.open(index_dir).n_chunks


def test_crash_after_commit_hides_then_removes_replaced_chunks(tmp_path, folder, embedder, monkeypatch):
    index_dir = tmp_path / "m"
    update_index(folder, index_dir, embedder=embedder, show_progress=False, store="milvus")
    (folder / "notes.md").unlink()
    (folder / "ferry.txt").write_text(FERRY.replace("40,000", "61,000"), encoding="utf-8")

    class Killed(BaseException):
        pass

    def die(self, index_dir, warn):
        raise Killed

    monkeypatch.setattr(_milvus_store.MilvusWriter, "after_commit", die)
    with pytest.raises(Killed):
        update_index(folder, index_dir, embedder=embedder, show_progress=False)
    monkeypatch.undo()
    idx = CorpusIndex.open(index_dir)
    assert "notes.md" not in [d.key for d in idx.documents]  # the new generation is live
    assert _rows(index_dir) > idx.n_chunks  # the replaced versions are still in Milvus ...
    sig = _signature(index_dir, embedder, ["How many trucks did the Caspian ferry carry in 2024?"])
    assert "40,000" not in sig[0][1]  # ... but never answered from
    update_index(folder, index_dir, embedder=embedder, show_progress=False)  # nothing changed: recovers
    assert _rows(index_dir) == idx.n_chunks and not (index_dir / _milvus.PENDING_FILE).exists()


def test_store_mismatch_and_rebuild(tmp_path, docs_copy, embedder):
    index_dir = tmp_path / "idx"
    update_index(docs_copy, index_dir, embedder=embedder, show_progress=False)
    with pytest.raises(IndexMismatch, match="--rebuild"):
        update_index(docs_copy, index_dir, embedder=embedder, store="milvus")
    with pytest.raises(IndexMismatch, match="faiss"):
        CorpusIndex.open(index_dir, store="milvus")
    update_index(docs_copy, index_dir, embedder=embedder, show_progress=False, store="milvus", rebuild=True)
    first = CorpusIndex.open(index_dir).store["collection"]
    # with no store named, the index keeps Milvus; a rebuild swaps in a fresh collection
    update_index(docs_copy, index_dir, embedder=embedder, show_progress=False, rebuild=True)
    idx = CorpusIndex.open(index_dir)
    assert idx.store["kind"] == "milvus" and idx.store["collection"] != first
    assert not idx.vector_store.client.has_collection(first)
    with pytest.raises(StoreError, match="neither"):
        StoreConfig(kind="milvus", uri="localhost:19530")


def _run_qa(*args: str, cwd: Path, env: dict | None = None):
    full = {k: v for k, v in os.environ.items() if not k.startswith("QA_")}
    full.update({"PYTHONPATH": str(REPO), **(env or {})})
    return subprocess.run(
        [sys.executable, "-m", "qa", *args], cwd=cwd, env=full, capture_output=True, text=True, timeout=300
    )


def test_cli_index_then_ask_needs_no_flags_and_unreachable_server_is_one_line(tmp_path):
    out = _run_qa("index", str(REPO / "seeds"), "--quiet", cwd=tmp_path, env={"QA_STORE": "milvus"})
    assert out.returncode == 0, out.stderr
    assert "1 added" in out.stdout
    q = "How much Kazakh oil has been exported via the Baku-Tbilisi-Ceyhan pipeline since 2023?"
    dead = "http://127.0.0.1:9"  # discard port: nothing listens on loopback
    secret = "user:s3cret-token"
    for args in (
        ("ask", q, "--milvus-uri", dead),
        ("index", str(REPO / "seeds"), "--store", "milvus", "--milvus-uri", dead),
    ):
        out = _run_qa(*args, cwd=tmp_path, env={"QA_MILVUS_TOKEN": secret})
        assert out.returncode == 2
        assert out.stderr.startswith("qa: error: ") and dead in out.stderr
        assert len(out.stderr.strip().splitlines()) == 1 and "Traceback" not in out.stderr
        assert "s3cret" not in out.stderr + out.stdout
    # nothing was lost, and no flag is needed: the manifest says where the vectors are
    out = _run_qa("ask", q, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert "approximately 3.4 million tons" in out.stdout
    out = _run_qa("ask", q, "--store", "faiss", cwd=tmp_path)
    assert out.returncode == 2 and "--rebuild" in out.stderr and "Traceback" not in out.stderr


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_milvus_server_uri(tmp_path, embedder):
    """The http:// path, against milvus-lite's own gRPC server on loopback."""
    port = _free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "milvus_lite",
            "server",
            "--data-dir",
            str(tmp_path / "data"),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.2)
        uri = f"http://127.0.0.1:{port}"
        index_dir = tmp_path / "idx"
        store = StoreConfig(kind="milvus", uri=uri, collection="qa_test")
        update_index(REPO / "seeds", index_dir, embedder=embedder, show_progress=False, store=store)
        idx = CorpusIndex.open(index_dir)
        assert idx.store["uri"] == uri and idx.store["collection"].startswith("qa_test_")
        sig = _signature(index_dir, embedder, QUESTIONS[:1])
        assert "3.4 million tons" in sig[0][1]
    finally:
        server.terminate()
        server.wait(timeout=30)
    with pytest.raises(StoreError, match=f"127.0.0.1:{port}"):
        CorpusIndex.open(index_dir)
