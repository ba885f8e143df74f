"""Segments: an update writes only what changed, shares the rest by hard link, masks what
it replaces, merges small segments, and migrates a format-2 index without embedding."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from index import CorpusIndex, update_index
from index._segments import MAX_SEGMENTS

NOTES = {
    "lighthouse.txt": "The Skarv lighthouse was first lit in 1871 and stands 31 metres tall.",
    "bakery.txt": "The Ostra bakery bakes 640 loaves of rye bread every morning.",
    "tram.txt": "Line 7 of the Vellmar tram runs every 12 minutes between the harbour and the depot.",
}


def _manifest(index_dir: Path) -> dict:
    gen = index_dir / (index_dir / "CURRENT").read_text().strip()
    return json.loads((gen / "manifest.json").read_text())


def _gen(index_dir: Path) -> Path:
    return index_dir / (index_dir / "CURRENT").read_text().strip()


def _signature(index_dir: Path, embedder, questions: list[str]) -> list:
    from qa import Assistant

    bot = Assistant(index_dir, embedder=embedder)
    out = []
    for q in questions:
        a = bot.answer(q)
        out.append(([(r.doc, r.start, r.end, round(r.score, 6)) for r in a.retrieved], a.text))
    return out


@pytest.fixture()
def folder(tmp_path, docs_copy) -> Path:
    for name, text in NOTES.items():
        (docs_copy / name).write_text(text, encoding="utf-8")
    return docs_copy


def test_an_update_writes_one_segment_and_links_the_rest(tmp_path, folder, embedder, store):
    index_dir = tmp_path / "idx"
    update_index(folder, index_dir, embedder=embedder, show_progress=False, store=store)
    before = _gen(index_dir)
    (first,) = _manifest(index_dir)["segments"]
    (folder / "bakery.txt").write_text(NOTES["bakery.txt"].replace("640", "700"), encoding="utf-8")
    r = update_index(folder, index_dir, embedder=embedder, show_progress=False, store=store)
    assert r.updated == ["bakery.txt"] and r.embedded_chunks == 1
    m = _manifest(index_dir)
    old, new = m["segments"]
    assert old["name"] == first["name"] and old["deleted"] == ["bakery.txt"] and new["documents"] == 1
    assert m["documents"]["bakery.txt"]["segment"] == new["name"]
    kept = [f for f in (before / first["name"]).rglob("*") if f.is_file()]
    assert len(kept) >= 4
    for file in kept:  # the kept segment is the same files, not a copy
        linked = _gen(index_dir) / first["name"] / file.relative_to(before / first["name"])
        assert linked.stat().st_ino == file.stat().st_ino
    idx = CorpusIndex.open(index_dir)
    assert [d.key for d in idx.documents] == sorted(d.key for d in idx.documents)
    assert "700 loaves" in idx.documents[[d.key for d in idx.documents].index("bakery.txt")].text
    assert all("640" not in idx.chunk_text(i) for i in range(idx.n_chunks))  # the old version is masked
    answer = _signature(index_dir, embedder, ["How many loaves does the Ostra bakery bake?"])[0][1]
    assert "700" in answer and "640" not in answer


def test_many_small_updates_merge_and_still_equal_a_full_build(tmp_path, folder, embedder, store):
    index_dir = tmp_path / "idx"
    update_index(folder, index_dir, embedder=embedder, show_progress=False, store=store)
    for step in range(MAX_SEGMENTS + 3):  # each update adds a segment; merges keep the count bounded
        (folder / f"note{step:02d}.txt").write_text(
            f"Harbour crane number {step} lifts {100 + step} tonnes.", encoding="utf-8"
        )
        if step % 3 == 2:
            (folder / "tram.txt").write_text(
                NOTES["tram.txt"].replace("12", str(20 + step)), encoding="utf-8"
            )
        update_index(folder, index_dir, embedder=embedder, show_progress=False, store=store)
        assert len(_manifest(index_dir)["segments"]) <= MAX_SEGMENTS
    (folder / "note03.txt").unlink()
    update_index(folder, index_dir, embedder=embedder, show_progress=False, store=store)
    full = tmp_path / "full"
    update_index(folder, full, embedder=embedder, show_progress=False, store=store)
    a, b = CorpusIndex.open(index_dir), CorpusIndex.open(full)
    assert [d.key for d in a.documents] == [d.key for d in b.documents]
    np.testing.assert_array_equal(a.chunks, b.chunks)
    np.testing.assert_array_equal(a.sentences, b.sentences)
    np.testing.assert_allclose(a.chunk_vectors(), b.chunk_vectors(), atol=1e-5)
    for query in ("harbour crane tonnes", "tram depot minutes", "Kazakh oil"):
        if store == "milvus":  # milvus-lite keeps BM25 statistics per Milvus segment (README, Limits)
            assert [r for r, _ in a.lexical.search(query, 3)] == [r for r, _ in b.lexical.search(query, 3)], (
                query
            )
        else:
            assert a.lexical.search(query, 10) == b.lexical.search(query, 10), query
    questions = [
        "How many tonnes does harbour crane number 7 lift?",
        "How often does line 7 of the tram run?",
    ]
    assert _signature(index_dir, embedder, questions) == _signature(full, embedder, questions)


def test_an_index_in_format_2_is_migrated_without_embedding(tmp_path, folder, embedder, capsys):
    """A format-2 generation (one set of arrays in the generation folder) is turned into
    one segment by the next update: nothing is embedded, answers stay the same."""
    index_dir = tmp_path / "idx"
    update_index(folder, index_dir, embedder=embedder, show_progress=False)
    questions = ["When was the Skarv lighthouse first lit?", "Where was the 12th OTS Summit held?"]
    expected = _signature(index_dir, embedder, questions)
    gen = _gen(index_dir)
    m = _manifest(index_dir)
    (segment,) = m["segments"]
    seg = gen / segment["name"]
    texts = (seg / "texts.bin").read_bytes()
    inline = [  # format 2 kept each document's text inside docs.json
        {
            **{k: v for k, v in d.items() if k != "bytes"},
            "text": texts[d["bytes"][0] : d["bytes"][1]].decode(),
        }
        for d in json.loads((seg / "docs.json").read_text())
    ]
    (gen / "docs.json").write_text(json.dumps(inline))
    for file in seg.iterdir():  # the format-2 layout: the arrays at the top
        if file.name in ("chunks.npy", "sentences.npy", "default__vector_store.json"):
            shutil.move(str(file), gen / file.name)
    shutil.rmtree(gen / segment["name"])
    legacy = {k: v for k, v in m.items() if k != "segments"}
    legacy["format_version"] = 2
    legacy["documents"] = {
        k: {x: y for x, y in d.items() if x != "segment"} for k, d in m["documents"].items()
    }
    (gen / "manifest.json").write_text(json.dumps(legacy))
    with pytest.raises(Exception, match="run `qa index` on its documents once to migrate it"):
        CorpusIndex.open(index_dir)
    warnings: list[str] = []
    r = update_index(folder, index_dir, embedder=embedder, show_progress=False, warn=warnings.append)
    assert r.embedded_chunks == 0 and len(r.unchanged) == len(m["documents"])
    assert any("migrating it to format 3" in w for w in warnings)
    assert _manifest(index_dir)["format_version"] == 3
    assert _signature(index_dir, embedder, questions) == expected


def test_unchanged_files_are_known_by_size_and_time_and_edits_still_seen(
    tmp_path, folder, embedder, monkeypatch, store
):
    """A file whose size and modification time match what was recorded when it was hashed
    is not read again; a file edited since, even to the same size, is."""
    import os

    from index import _plan

    index_dir = tmp_path / "idx"
    update_index(folder, index_dir, embedder=embedder, show_progress=False, store=store)
    old = 1_600_000_000_000_000_000  # files last written long before they were hashed
    for path in folder.iterdir():
        os.utime(path, ns=(old, old))
    (folder / "tram.txt").write_text(NOTES["tram.txt"] + " ", encoding="utf-8")  # records fresh stats
    update_index(folder, index_dir, embedder=embedder, show_progress=False, store=store)
    os.utime(folder / "tram.txt", ns=(old, old))
    (folder / "ferry.txt").write_text("The night ferry leaves at 23:10.", encoding="utf-8")
    os.utime(folder / "ferry.txt", ns=(old, old))
    update_index(
        folder, index_dir, embedder=embedder, show_progress=False, store=store
    )  # records tram's new time too
    reads: list[Path] = []
    real = _plan.read_bytes
    monkeypatch.setattr(_plan, "read_bytes", lambda p: reads.append(p) or real(p))
    r = update_index(folder, index_dir, embedder=embedder, show_progress=False, store=store)
    assert reads == [] and len(r.unchanged) == len(NOTES) + 2
    bakery = folder / "bakery.txt"
    bakery.write_text(NOTES["bakery.txt"].replace("640", "720"), encoding="utf-8")  # the same size
    os.utime(bakery, ns=(old + 1, old + 1))  # an edit moves the time, if only by a nanosecond
    r = update_index(folder, index_dir, embedder=embedder, show_progress=False, store=store)
    assert reads == [bakery] and r.updated == ["bakery.txt"]


def test_files_touched_but_unchanged_are_hashed_once_then_known_by_their_stat(
    tmp_path, folder, embedder, monkeypatch, store
):
    """A checkout that rewrites every file's time without changing it: the next update
    hashes them, finds nothing to re-embed, and records their new size and time, so the
    update after it reads nothing."""
    import os

    from index import _plan

    index_dir = tmp_path / "idx"
    update_index(folder, index_dir, embedder=embedder, show_progress=False, store=store)
    old = 1_600_000_000_000_000_000
    for path in folder.iterdir():
        os.utime(path, ns=(old, old))
    segments = [e["name"] for e in _manifest(index_dir)["segments"]]
    n_files = len(list(folder.iterdir()))
    reads: list[Path] = []
    real = _plan.read_bytes
    monkeypatch.setattr(_plan, "read_bytes", lambda p: reads.append(p) or real(p))
    r = update_index(folder, index_dir, embedder=embedder, show_progress=False, store=store)
    assert len(reads) == n_files and not (r.added or r.updated or r.removed) and r.embedded_chunks == 0
    m = _manifest(index_dir)
    assert [e["name"] for e in m["segments"]] == segments  # nothing was written again
    assert {d["mtime_ns"] for d in m["documents"].values()} == {old}
    reads.clear()
    r = update_index(folder, index_dir, embedder=embedder, show_progress=False, store=store)
    assert reads == [] and len(r.unchanged) == n_files


def test_the_ivf_dense_index_is_recorded_kept_and_finds_what_exact_search_finds(
    tmp_path, folder, embedder, monkeypatch
):
    """``--dense-index ivf`` (here for segments of any size): the segment's FAISS index is
    IVF, the manifest records the choice, later updates keep it, and on a small corpus
    (every bucket probed) the approximate search returns the exact search's passages."""
    from llama_index.vector_stores.faiss import FaissVectorStore

    from index import IndexConfig, _faiss

    monkeypatch.setattr(_faiss, "ANN_MIN_CHUNKS", 1)
    flat, ivf = tmp_path / "flat", tmp_path / "ivf"
    update_index(folder, flat, embedder=embedder, show_progress=False)
    update_index(folder, ivf, IndexConfig(dense_index="ivf"), embedder=embedder, show_progress=False)
    (folder / "ferry.txt").write_text(
        "The night ferry to Aktau leaves at 23:10 every Tuesday.", encoding="utf-8"
    )
    for index_dir in (flat, ivf):
        update_index(folder, index_dir, embedder=embedder, show_progress=False)
    assert _manifest(flat)["dense_index"] == "auto" and _manifest(ivf)["dense_index"] == "ivf"
    for seg in _manifest(ivf)["segments"]:
        store = FaissVectorStore.from_persist_path(str(_gen(ivf) / seg["name"] / _faiss.VECTOR_FILE))
        assert type(store.client).__name__ == "IndexIVFFlat" and store.client.nprobe == store.client.nlist
    questions = ["When does the night ferry to Aktau leave?", "How tall is the Skarv lighthouse?"]
    a, b = _signature(flat, embedder, questions), _signature(ivf, embedder, questions)
    assert [[r[:3] for r in hits] for hits, _ in a] == [[r[:3] for r in hits] for hits, _ in b]
    assert [text for _, text in a] == [text for _, text in b]
    assert "23:10" in b[0][1]


def test_both_stores_implement_the_same_interfaces(tmp_path, folder, embedder, store):
    """A loaded generation's backend and an update's writer are the two protocols of
    ``index._backend``, for FAISS and for Milvus alike."""
    from index import _backend, _milvus_store
    from index._faiss import FaissSegmentWriter

    index_dir = tmp_path / "idx"
    update_index(folder, index_dir, embedder=embedder, show_progress=False, store=store)
    idx = CorpusIndex.open(index_dir)
    assert idx.backend.kind == store
    assert isinstance(idx.backend, _backend.StoreBackend) and isinstance(idx.lexical, _backend.Lexical)
    writer = FaissSegmentWriter(384) if store == "faiss" else _milvus_store.MilvusWriter({}, 384, "")
    assert isinstance(writer, _backend.StoreWriter) and writer.kind == store
    hits = idx.dense_search(embedder.embed_query("How tall is the Skarv lighthouse?"), 3)
    assert idx.chunk_doc(hits[0][0]).key == "lighthouse.txt"
    idx.close()


def test_a_docs_folder_whose_name_is_not_utf8_is_one_line_not_a_crash(tmp_path, embedder):
    """The manifest records the folder; one whose name has a byte that is not UTF-8 (a
    surrogate escape in Python) must not break writing it (orjson refuses such strings), and
    its files are skipped with the walk's one-line reason, run after run."""
    import os

    folder = Path(os.fsdecode(os.fsencode(tmp_path) + b"/notes-caf\xe9"))
    folder.mkdir()
    (folder / "bakery.txt").write_text(NOTES["bakery.txt"], encoding="utf-8")
    index_dir = tmp_path / "idx"
    for _ in range(2):
        r = update_index(folder, index_dir, embedder=embedder, show_progress=False, warn=lambda m: None)
        assert r.added == [] and [reason for _, reason in r.skipped] == [
            "the file name is not valid UTF-8; rename it"
        ]
    assert _manifest(index_dir)["root"] == str(folder.resolve())  # an empty generation records it
