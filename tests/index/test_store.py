"""Incremental indexing, the manifest, mismatch errors, and crash safety, on real data."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from index import CorpusIndex, IndexConfig, IndexMismatch, IndexNotFound, update_index

REPO = Path(__file__).resolve().parents[2]

EXTRA = (
    "The Caspian ferry line between Aktau and Alat carried 40,000 trucks in 2024. "
    "Port officials in Aktau expect the number of trucks to double by 2028."
)


def _retrieval_signature(index_dir: Path, embedder, questions: list[str]):
    from qa import Assistant

    bot = Assistant(index_dir, embedder=embedder)
    out = []
    for q in questions:
        a = bot.answer(q)
        out.append([(r.doc, r.start, r.end, round(r.score, 6)) for r in a.retrieved])
    return out


def test_manifest_records_model_chunking_and_hashes(seed_index):
    idx = CorpusIndex.open(seed_index)
    m = idx.manifest
    assert m["format_version"] == 3 and m["embed_model"] == "all-MiniLM-L6-v2"
    assert m["dim"] == 384 and m["chunk_size"] == 200 and m["chunk_overlap"] == 40
    doc = m["documents"]["000_5c5733213d75056c.txt"]
    assert len(doc["hash"]) == 64 and doc["n_chunks"] == idx.n_chunks > 1
    # every chunk and sentence span points into its document's text
    for i in range(idx.n_chunks):
        s, e = idx.chunk_span(i)
        assert 0 <= s < e <= len(idx.chunk_doc(i).text)
    assert [len(idx.sentence_vectors(i)) for i in range(idx.n_chunks)] == [
        len(idx.chunk_sentences(i)) for i in range(idx.n_chunks)
    ]


def test_incremental_equals_full_rebuild(tmp_path, docs_copy, embedder):
    inc = tmp_path / "inc"
    r = update_index(docs_copy, inc, embedder=embedder, show_progress=False)
    assert len(r.added) == 1 and r.embedded_chunks > 0

    # add
    (docs_copy / "ferry.txt").write_text(EXTRA, encoding="utf-8")
    r = update_index(docs_copy, inc, embedder=embedder, show_progress=False)
    assert (r.added, r.unchanged, r.updated, r.removed) == (
        ["ferry.txt"],
        ["000_5c5733213d75056c.txt"],
        [],
        [],
    )
    assert r.embedded_chunks == 1  # only the new document was embedded
    # change
    (docs_copy / "ferry.txt").write_text(EXTRA.replace("40,000", "55,000"), encoding="utf-8")
    (docs_copy / "notes.md").write_text("# Notes\n\nThe Alat port lies south of Baku.", encoding="utf-8")
    r = update_index(docs_copy, inc, embedder=embedder, show_progress=False)
    assert r.updated == ["ferry.txt"] and r.added == ["notes.md"]
    # delete
    (docs_copy / "notes.md").unlink()
    r = update_index(docs_copy, inc, embedder=embedder, show_progress=False)
    assert r.removed == ["notes.md"] and r.embedded_chunks == 0
    # nothing changed: no new generation
    before = (inc / "CURRENT").read_text()
    r = update_index(docs_copy, inc, embedder=embedder, show_progress=False)
    assert (inc / "CURRENT").read_text() == before and len(r.unchanged) == 2

    full = tmp_path / "full"
    update_index(docs_copy, full, embedder=embedder, show_progress=False)
    questions = [
        "How many trucks did the Caspian ferry carry in 2024?",
        "Where was the 12th OTS Summit held?",
        "How much Kazakh oil has been exported since 2023?",
    ]
    assert _retrieval_signature(inc, embedder, questions) == _retrieval_signature(full, embedder, questions)
    a, b = CorpusIndex.open(inc), CorpusIndex.open(full)
    np.testing.assert_allclose(a.chunk_vectors(), b.chunk_vectors(), atol=1e-5)
    assert "55,000" in a.documents[[d.key for d in a.documents].index("ferry.txt")].text


def test_different_chunking_or_folder_needs_rebuild(tmp_path, docs_copy, embedder):
    index_dir = tmp_path / "idx"
    update_index(docs_copy, index_dir, embedder=embedder, show_progress=False)
    with pytest.raises(IndexMismatch, match="--rebuild"):
        update_index(docs_copy, index_dir, IndexConfig(chunk_size=120), embedder=embedder)
    other = tmp_path / "other"
    other.mkdir()
    (other / "x.txt").write_text(EXTRA, encoding="utf-8")
    with pytest.raises(IndexMismatch, match="--rebuild"):
        update_index(other, index_dir, embedder=embedder)
    # the index is untouched by the refused calls
    assert CorpusIndex.open(index_dir).manifest["chunk_size"] == 200
    r = update_index(
        docs_copy,
        index_dir,
        IndexConfig(chunk_size=120),
        rebuild=True,
        embedder=embedder,
        show_progress=False,
    )
    assert CorpusIndex.open(index_dir).manifest["chunk_size"] == 120 and r.n_chunks > 0


def test_bad_files_are_skipped_and_listed(tmp_path, docs_copy, embedder, store):
    (docs_copy / "junk.txt").write_bytes(bytes(range(256)) * 10)
    (docs_copy / "broken.pdf").write_bytes(b"%PDF-1.4 not really")
    (docs_copy / "empty.md").write_bytes(b"")
    warnings: list[str] = []
    r = update_index(
        docs_copy, tmp_path / "idx", embedder=embedder, show_progress=False, store=store, warn=warnings.append
    )
    assert r.added == ["000_5c5733213d75056c.txt"]
    assert sorted(Path(p).name for p, _ in r.skipped) == ["broken.pdf", "empty.md", "junk.txt"]
    assert len(warnings) == 3 and all("\n" not in w for w in warnings)
    assert "3 skipped (3 invalid content);" in r.summary() and "\n" not in r.summary()


def test_corrupted_update_keeps_last_good_version(tmp_path, docs_copy, embedder, store):
    index_dir = tmp_path / "idx"
    (docs_copy / "ferry.txt").write_text(EXTRA, encoding="utf-8")
    update_index(docs_copy, index_dir, embedder=embedder, show_progress=False, store=store)
    (docs_copy / "ferry.txt").write_bytes(b"\xff\xfe\x00\x00" + bytes(range(256)) * 4)
    r = update_index(
        docs_copy, index_dir, embedder=embedder, show_progress=False, store=store, warn=lambda m: None
    )
    assert r.skipped and not r.removed
    keys = [d.key for d in CorpusIndex.open(index_dir).documents]
    assert "ferry.txt" in keys


def test_missing_index_is_a_clear_error(tmp_path):
    with pytest.raises(IndexNotFound, match="qa index"):
        CorpusIndex.open(tmp_path / "nothing")


EXTRA_FILES = 12  # enough new text that embedding and writing take a while


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _wait_for(predicate, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.005)
    return False


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGINT])
def test_killed_mid_write_leaves_previous_index_loadable(tmp_path, docs_copy, embedder, sig):
    index_dir = tmp_path / "idx"
    update_index(docs_copy, index_dir, embedder=embedder, show_progress=False)
    before = CorpusIndex.open(index_dir)
    for i in range(EXTRA_FILES):
        (docs_copy / f"extra{i}.txt").write_text((EXTRA + f" Note {i}. ") * 30, encoding="utf-8")
    proc = subprocess.Popen(
        [sys.executable, "-m", "qa", "index", str(docs_copy), "--index-dir", str(index_dir), "--quiet"],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        # Ctrl-C as at a terminal, even when the suite itself runs in the background (a shell
        # starts background jobs with SIGINT ignored, and children inherit that)
        preexec_fn=_default_sigint,
    )
    staged = _wait_for(lambda: any(index_dir.glob(".staging-*")), timeout=120)
    assert staged, "the update never started writing"
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode != 0, err.decode(errors="replace")[-1500:]
    if sig == signal.SIGINT:
        assert b"Traceback" not in err and b"interrupted" in err
        assert not any(index_dir.glob(".staging-*"))  # Ctrl-C cleans up after itself
    after = CorpusIndex.open(index_dir)
    assert after.path == before.path
    assert [d.key for d in after.documents] == ["000_5c5733213d75056c.txt"]
    # and the next run completes the update
    r = update_index(docs_copy, index_dir, embedder=embedder, show_progress=False)
    assert len(r.added) == EXTRA_FILES
    assert not any(index_dir.glob(".staging-*"))
    manifest = json.loads((CorpusIndex.open(index_dir).path / "manifest.json").read_text())
    assert len(manifest["documents"]) == EXTRA_FILES + 1


def test_chunks_carry_a_meaningful_title_only():
    from index._build import chunk_context

    assert chunk_context("000_5c5733213d75056c", "Some text", 0) == ""  # a file name, not a subject
    assert chunk_context("Doctor Who", "# Doctor Who\n\nCast list", 0) == ""  # already there
    assert (
        chunk_context("Doctor Who", "# Doctor Who\n\nCast list. The Doctor is played by", 24)
        == "Doctor Who\n"
    )


def test_index_of_an_older_format_asks_for_rebuild(tmp_path, docs_copy, embedder):
    import json

    from index import IndexMismatch, update_index

    index_dir = tmp_path / "idx"
    update_index(docs_copy, index_dir, embedder=embedder, show_progress=False)
    gen = index_dir / (index_dir / "CURRENT").read_text().strip()
    manifest = json.loads((gen / "manifest.json").read_text())
    manifest["format_version"] = 1
    (gen / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(IndexMismatch, match="--rebuild"):
        update_index(docs_copy, index_dir, embedder=embedder, show_progress=False)
    report = update_index(docs_copy, index_dir, embedder=embedder, show_progress=False, rebuild=True)
    assert len(report.added) == 1


def test_removing_the_last_document_leaves_an_empty_answerable_index(tmp_path, docs_copy, embedder, store):
    from qa import Assistant

    index_dir = tmp_path / "idx"
    update_index(docs_copy, index_dir, embedder=embedder, show_progress=False, store=store)
    for path in docs_copy.iterdir():
        path.unlink()
    report = update_index(docs_copy, index_dir, embedder=embedder, show_progress=False, store=store)
    assert len(report.removed) == 1 and report.n_documents == 0 and report.n_chunks == 0
    idx = CorpusIndex.open(index_dir)
    assert idx.documents == [] and idx.lexical.n_docs == 0 and idx.lexical.search("Gabala", 5) == []
    answer = Assistant(index_dir, embedder=embedder).answer("Where was the 12th OTS Summit held?")
    assert answer.abstained and answer.retrieved == []


def test_prebuilt_generation_is_a_real_index_that_updates_incrementally(
    tmp_path, docs_copy, embedder, monkeypatch
):
    """What the benchmarks build their 10k/100k indexes with: same files, same loading, same updates."""
    from index import PrebuiltDocument, _plan, write_prebuilt_generation

    real_read = _plan.read_bytes
    source = tmp_path / "source"
    update_index(docs_copy, source, embedder=embedder, show_progress=False)
    src = CorpusIndex.open(source)
    vecs = src.chunk_vectors()
    docs = []
    for d, doc in enumerate(src.documents):
        rows = np.flatnonzero(src.chunks[:, 0] == d)
        sents = [(src.chunk_sentences(int(r)), src.sentence_vectors(int(r))) for r in rows]
        docs.append(
            PrebuiltDocument(
                doc.key,
                doc.title,
                doc.text,
                doc.hash,
                doc.pages,
                [src.chunk_span(int(r)) for r in rows],
                [(i, int(s[1]), int(s[2])) for i, (srows, _) in enumerate(sents) for s in srows],
                vecs[rows],
                np.concatenate([v for _, v in sents]),
            )
        )
    prebuilt = tmp_path / "prebuilt"
    write_prebuilt_generation(prebuilt, docs_copy, docs)
    questions = ["Where was the 12th OTS Summit held?", "How much Kazakh oil has been exported since 2023?"]
    assert _retrieval_signature(prebuilt, embedder, questions) == _retrieval_signature(
        source, embedder, questions
    )
    reads: list[Path] = []
    monkeypatch.setattr(_plan, "read_bytes", lambda p: reads.append(p) or real_read(p))
    report = update_index(docs_copy, prebuilt, embedder=embedder, show_progress=False)
    assert report.unchanged == [docs[0].key] and report.embedded_chunks == 0
    assert reads == []  # the files' size and time were recorded with the prebuilt generation
    (docs_copy / "ferry.txt").write_text(EXTRA, encoding="utf-8")
    report = update_index(docs_copy, prebuilt, embedder=embedder, show_progress=False)
    assert report.added == ["ferry.txt"] and report.embedded_chunks == 1


@pytest.mark.parametrize("stored_terms", ["kept", "missing", "other tokens() version"])
def test_update_keeps_bm25_term_counts_and_matches_a_full_build(tmp_path, docs_copy, embedder, stored_terms):
    """Unchanged chunks' BM25 rows come from stored term counts (or, for an index written
    before they were kept or by another tokenizer, from re-tokenising); through an added, an
    edited and a removed document the incremental index equals a full build of the same files."""
    inc = tmp_path / "inc"
    update_index(docs_copy, inc, embedder=embedder, show_progress=False)
    gen = inc / (inc / "CURRENT").read_text().strip()
    (segment,) = [gen / e["name"] for e in json.loads((gen / "manifest.json").read_text())["segments"]]
    terms_file = segment / "bm25" / "rows.npy"
    assert terms_file.is_file()
    if stored_terms == "missing":
        terms_file.unlink()
    elif stored_terms == "other tokens() version":  # counts a different tokenizer made: all one term
        np.save(terms_file, np.zeros_like(np.load(terms_file)))
        meta = json.loads((segment / "bm25" / "vocab.json").read_text())
        (segment / "bm25" / "vocab.json").write_text(json.dumps({**meta, "version": 0}))
    seed = next(p for p in docs_copy.iterdir() if p.is_file())

    def edit_add():
        (docs_copy / "ferry.txt").write_text(EXTRA, encoding="utf-8")

    def edit_change():
        seed.write_text(
            seed.read_text(encoding="utf-8") + "\n\nThe ferry to Aktau sails weekly.\n", encoding="utf-8"
        )

    def edit_remove():
        (docs_copy / "ferry.txt").unlink()

    for step, edit in enumerate((edit_add, edit_change, edit_remove)):
        edit()
        update_index(docs_copy, inc, embedder=embedder, show_progress=False)
        full = tmp_path / f"full{step}"
        update_index(docs_copy, full, embedder=embedder, show_progress=False)
        a, b = CorpusIndex.open(inc), CorpusIndex.open(full)
        np.testing.assert_array_equal(a.chunks, b.chunks)
        np.testing.assert_array_equal(a.sentences, b.sentences)
        for query in ("Caspian ferry trucks Aktau", "Gabala summit", "Kazakh oil pipeline 2023"):
            assert a.lexical.search(query, 10) == b.lexical.search(query, 10), (edit.__name__, query)
        for word in ("ferry", "summit", "weekly", "oil"):
            assert a.lexical.idf(word) == b.lexical.idf(word), (edit.__name__, word)


def test_sentence_vectors_are_pooled_on_demand_and_match_their_sentence(seed_index, embedder):
    """Not stored (the LLM path's check reads a few per answer): pooled from the chunk when
    asked, unit length, and the sentence nearest a question about it is the one holding it."""
    idx = CorpusIndex.open(seed_index)
    assert not any(idx.path.rglob("sentence_vecs.npy"))
    query = embedder.embed_query("How much Kazakh oil has been exported?")
    checked = 0
    for i in range(idx.n_chunks):
        rows, vecs = idx.chunk_sentences(i), idx.sentence_vectors(i)
        np.testing.assert_allclose(np.linalg.norm(vecs, axis=1), 1.0, atol=1e-4)
        best = rows[int(np.argmax(vecs @ query))]
        if "oil" in idx.chunk_text(i).lower() and "export" in idx.chunk_text(i).lower():
            assert "oil" in idx.chunk_doc(i).text[best[1] : best[2]].lower()
            checked += 1
    assert checked >= 1


def test_dense_search_leaves_the_threads_openmp_setting_as_it_was(seed_index, embedder):
    """A search runs on one OpenMP thread, but torch shares that runtime: the setting must
    come back, or every later embedding in the same thread runs on one core."""
    import faiss

    idx = CorpusIndex.open(seed_index)
    before = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(2)
    try:
        assert idx.dense_search(embedder.embed_query("Where was the 12th OTS Summit held?"), 3)
        assert faiss.omp_get_max_threads() == 2
    finally:
        faiss.omp_set_num_threads(before)


class _FailingEmbedder:
    """The real embedder, except that it raises for one document's chunks (or token counts):
    no real file makes the model or the tokenizer fail on demand, and the point is what
    update_index does when one does."""

    def __init__(self, real, marker: str, stage: str) -> None:
        self.real, self.marker, self.stage = real, marker, stage

    def __getattr__(self, name: str):
        return getattr(self.real, name)

    def token_counter(self):
        count = self.real.token_counter()

        def counter(text: str):
            if self.stage == "chunking" and self.marker in text:
                raise RecursionError("maximum recursion depth exceeded\nwhile splitting")
            return count(text)

        return counter

    def embed_passages(self, texts, spans):
        if self.stage == "embedding" and any(self.marker in t for t in texts):
            raise RuntimeError("tokenizer and model disagree on token count")
        return self.real.embed_passages(texts, spans)


@pytest.mark.parametrize("stage", ["chunking", "embedding"])
def test_a_file_that_fails_is_skipped_in_one_line_and_the_rest_indexed(
    tmp_path, docs_copy, embedder, stage, store
):
    index_dir = tmp_path / "idx"
    (docs_copy / "ferry.txt").write_text(EXTRA, encoding="utf-8")
    update_index(docs_copy, index_dir, embedder=embedder, show_progress=False, store=store)
    # an update of ferry.txt that fails keeps the indexed version; a new file that fails is left out
    (docs_copy / "ferry.txt").write_text(EXTRA + " Zanzibarite cargo.", encoding="utf-8")
    (docs_copy / "poison.md").write_text(
        "# Poison\n\nThe Zanzibarite freighter docked at Alat.", encoding="utf-8"
    )
    (docs_copy / "notes.txt").write_text("The Alat port lies south of Baku.", encoding="utf-8")
    warnings: list[str] = []
    r = update_index(
        docs_copy,
        index_dir,
        embedder=_FailingEmbedder(embedder, "Zanzibarite", stage),
        show_progress=False,
        warn=warnings.append,
    )
    assert r.added == ["notes.txt"] and r.updated == [] and not r.removed
    assert sorted(Path(p).name for p, _ in r.skipped) == ["ferry.txt", "poison.md"]
    want = (
        "RecursionError: maximum recursion depth exceeded"
        if stage == "chunking"
        else "RuntimeError: tokenizer"
    )
    assert all(f"failed while {stage} it ({want}" in why for _, why in r.skipped)
    assert len(warnings) == 2 and all("\n" not in w for w in warnings)
    assert "ferry.txt" in warnings[0] + warnings[1] and "poison.md" in warnings[0] + warnings[1]
    assert "2 skipped (2 failed)" in r.summary()
    idx = CorpusIndex.open(index_dir)
    docs = {d.key: d.text for d in idx.documents}
    assert sorted(docs) == ["000_5c5733213d75056c.txt", "ferry.txt", "notes.txt"]
    assert "Zanzibarite" not in docs["ferry.txt"]  # the last good version


def test_the_walk_reports_what_it_skips_and_why(tmp_path, docs_copy, embedder):
    import os

    (docs_copy / "table.xlsx").write_bytes(b"PK not a table")
    (docs_copy / ".hidden.txt").write_text(EXTRA, encoding="utf-8")  # hidden: passed over silently
    (docs_copy / "sub").mkdir()
    (docs_copy / "sub" / "ferry.txt").write_text(EXTRA, encoding="utf-8")
    os.symlink(docs_copy, docs_copy / "sub" / "loop")
    os.symlink(docs_copy / "gone.txt", docs_copy / "dangling.txt")
    os.mkfifo(docs_copy / "pipe.txt")  # reading it would block forever
    warnings: list[str] = []
    r = update_index(
        docs_copy, tmp_path / "idx", embedder=embedder, show_progress=False, warn=warnings.append
    )
    assert r.added == ["000_5c5733213d75056c.txt", "sub/ferry.txt"]
    reasons = {Path(p).name: why for p, why in r.skipped}
    assert sorted(reasons) == ["dangling.txt", "loop", "pipe.txt", "table.xlsx"]
    assert "unsupported file type .xlsx" in reasons["table.xlsx"]
    assert "symlink loop" in reasons["loop"] and "broken symlink" in reasons["dangling.txt"]
    assert r.skipped_by_reason() == {
        "broken symlink": 1,
        "not a regular file": 1,
        "symlink loop": 1,
        "unsupported type": 1,
    }
    assert (
        "4 skipped (1 broken symlink, 1 not a regular file, 1 symlink loop, 1 unsupported type);"
        in r.summary()
    )
    assert len(warnings) == 3 and not any("table.xlsx" in w for w in warnings)  # unsupported: counted only


def _unlistable(path: Path) -> bool:
    import os

    try:
        os.listdir(path)
    except PermissionError:
        return True
    return False


def test_an_unlistable_folder_is_reported_and_its_documents_kept(tmp_path, docs_copy, embedder):
    import os

    real = tmp_path / "real-sub"
    real.mkdir()
    (real / "ferry.txt").write_text(EXTRA, encoding="utf-8")
    os.symlink(real, docs_copy / "sub")
    index_dir = tmp_path / "idx"
    update_index(docs_copy, index_dir, embedder=embedder, show_progress=False)
    real.chmod(0)
    try:
        if not _unlistable(real):  # root lists any folder; it cannot list another process's map_files
            if not _unlistable(Path("/proc/1/map_files")):
                pytest.skip("no folder here that this user cannot list (root with CAP_SYS_ADMIN)")
            (docs_copy / "sub").unlink()
            os.symlink("/proc/1/map_files", docs_copy / "sub")
        r = update_index(docs_copy, index_dir, embedder=embedder, show_progress=False, warn=lambda m: None)
    finally:
        real.chmod(0o755)
    assert r.skipped_by_reason() == {"unreadable folder": 1} and not r.removed
    assert r.skipped[0][0].endswith("sub") and "cannot list the folder (Permission denied)" in r.skipped[0][1]
    assert "sub/ferry.txt" in [d.key for d in CorpusIndex.open(index_dir).documents]
