"""The folder watcher on a real folder, the real embedder and a real index: each change reaches
the index through one debounced, incremental update, and a failure does not stop the watching."""

from __future__ import annotations

import fcntl
import os
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import _servers
import pytest

from index import CorpusIndex, FolderWatcher, IndexReport, WatchUpdate, update_index
from index._watch import describe_changes, is_scratch

LIMIT = 60.0  # seconds: generous, for a loaded 2-core machine; a working watcher takes ~1 s
HERON = "The Velmor heron sanctuary on Lake Triskel counted 1,284 nesting pairs in 2023."
HERON_EDITED = "The Velmor heron sanctuary on Lake Triskel counted 2,917 nesting pairs in 2023."
KILN = "The Ostrava glass kiln of the Pellam works runs at 1,460 degrees for nine hours."


def wait_until(what: str, check: Callable[[], bool], limit: float = LIMIT) -> None:
    _servers.wait_until(what, check, limit, every=0.1)


def texts(index_dir: Path) -> dict[str, str]:
    """``{key: text}`` of the live generation, read as any reader would."""
    return {d.key: d.text for d in CorpusIndex.open(index_dir).documents}


class Recorder:
    """The watcher's callbacks: every update and warning, kept for the test to read."""

    def __init__(self) -> None:
        self.updates: list[WatchUpdate] = []
        self.warnings: list[str] = []
        self._lock = threading.Lock()

    def update(self, u: WatchUpdate) -> None:
        with self._lock:
            self.updates.append(u)

    def warn(self, msg: str) -> None:
        with self._lock:
            self.warnings.append(msg)

    def changes(self) -> list[str]:
        with self._lock:
            return [line for u in self.updates for line in u.changes]


@pytest.fixture()
def watched(tmp_path, embedder, request) -> Iterator[tuple[Path, Path, FolderWatcher, Recorder]]:
    """A docs folder with one document, indexed, and a watcher on it (events; polling when the
    test is parametrised with ``poll=True``)."""
    docs, index_dir = tmp_path / "docs", tmp_path / "index"
    docs.mkdir()
    (docs / "kiln.txt").write_text(KILN, encoding="utf-8")
    update_index(docs, index_dir, embedder=embedder, show_progress=False)
    rec = Recorder()
    poll = getattr(request, "param", False)
    watcher = FolderWatcher.for_index(
        docs, index_dir, on_update=rec.update, warn=rec.warn, poll=poll, embedder=embedder
    ).start()
    assert watcher.poll is poll
    yield docs, index_dir, watcher, rec
    watcher.stop()


@pytest.mark.slow  # 1-4 s: real files, a real index, a debounce per change
def test_add_edit_rename_delete_each_reach_the_index(watched):
    docs, index_dir, watcher, rec = watched
    (docs / "heron.txt").write_text(HERON, encoding="utf-8")
    wait_until("heron.txt indexed", lambda: "1,284" in texts(index_dir).get("heron.txt", ""))
    wait_until("its line", lambda: "added heron.txt" in rec.changes())

    (docs / "heron.txt").write_text(HERON_EDITED, encoding="utf-8")
    wait_until("the edit indexed", lambda: "2,917" in texts(index_dir).get("heron.txt", ""))
    wait_until("its line", lambda: "updated heron.txt" in rec.changes())

    (docs / "sub").mkdir()
    os.rename(docs / "heron.txt", docs / "sub" / "birds.txt")
    wait_until("the rename indexed", lambda: set(texts(index_dir)) == {"kiln.txt", "sub/birds.txt"})
    wait_until("its line", lambda: "renamed heron.txt -> sub/birds.txt" in rec.changes())
    assert "2,917" in texts(index_dir)["sub/birds.txt"]

    (docs / "sub" / "birds.txt").unlink()
    wait_until("the removal indexed", lambda: set(texts(index_dir)) == {"kiln.txt"})
    wait_until("its line", lambda: "removed sub/birds.txt" in rec.changes())
    assert not rec.warnings
    summaries = [u.report.summary() for u in rec.updates]
    assert all("documents" in s and "chunks" in s for s in summaries)


@pytest.mark.slow
@pytest.mark.parametrize("watched", [True], indirect=True, ids=["polling"])
def test_the_polling_observer_sees_changes_too(watched):
    docs, index_dir, watcher, rec = watched
    (docs / "heron.txt").write_text(HERON, encoding="utf-8")
    wait_until("heron.txt indexed", lambda: "heron.txt" in texts(index_dir))
    (docs / "kiln.txt").unlink()
    wait_until("kiln.txt gone", lambda: set(texts(index_dir)) == {"heron.txt"})
    wait_until("the lines", lambda: {"added heron.txt", "removed kiln.txt"} <= set(rec.changes()))


@pytest.mark.slow  # 1-4 s: real files, a real index, a debounce per change
def test_a_burst_of_writes_is_one_update_and_scratch_files_none(watched):
    docs, index_dir, watcher, rec = watched
    for name in (".heron.txt.swp", "heron.txt~", "heron.tmp", ".hidden.txt", "table.csv", "#heron.txt#"):
        (docs / name).write_text(HERON, encoding="utf-8")
    for n in range(10):  # an editor saving ten times in half a second
        (docs / "heron.txt").write_text(f"{HERON} Revision {n}.", encoding="utf-8")
        time.sleep(0.05)
    wait_until("the last revision indexed", lambda: "Revision 9." in texts(index_dir).get("heron.txt", ""))
    wait_until("its update reported", lambda: len(rec.updates) >= 1)
    assert watcher.updates <= 2, [u.changes for u in rec.updates]  # 1, or 2 if the machine stalled
    triggered = {Path(p).name for u in rec.updates for p in u.paths}
    assert triggered == {"heron.txt"}, triggered  # no scratch file, no unsupported type, no index file


@pytest.mark.slow  # 1-4 s: real files, a real index, a debounce per change
def test_a_failed_update_is_one_warning_and_watching_goes_on(watched):
    docs, index_dir, watcher, rec = watched
    manifest = next(index_dir.glob("gen-*/manifest.json"))
    good = manifest.read_bytes()
    manifest.write_text("{ not json", encoding="utf-8")  # a damaged index: every update fails
    (docs / "heron.txt").write_text(HERON, encoding="utf-8")
    wait_until("a warning", lambda: bool(rec.warnings))
    for line in rec.warnings:  # one, or two if a stall split the write's events into two batches
        assert (
            "\n" not in line and "updating the index after changes in" in line and "JSONDecodeError" in line
        )

    manifest.write_bytes(good)  # repaired: the next change goes in, with the earlier one
    (docs / "heron.txt").write_text(HERON_EDITED, encoding="utf-8")
    wait_until("heron.txt indexed", lambda: "2,917" in texts(index_dir).get("heron.txt", ""))


@pytest.mark.slow  # 1-4 s: real files, a real index, a debounce per change
def test_an_unreadable_file_is_named_once_and_the_rest_goes_in(watched):
    docs, index_dir, watcher, rec = watched
    (docs / "broken.pdf").write_bytes(b"%PDF-1.4 this is not a PDF at all")
    (docs / "heron.txt").write_text(HERON, encoding="utf-8")
    wait_until("heron.txt indexed", lambda: "heron.txt" in texts(index_dir))
    wait_until("the skip named", lambda: any(c.startswith("skipped broken.pdf: ") for c in rec.changes()))
    (docs / "kiln.txt").write_text(KILN + " Twice a week.", encoding="utf-8")
    wait_until("kiln.txt updated", lambda: "updated kiln.txt" in rec.changes())
    skips = [c for c in rec.changes() if c.startswith("skipped ")]
    assert len(skips) == 1, skips  # not named again by an update that did not touch it


@pytest.mark.slow  # 1-4 s: real files, a real index, a debounce per change
def test_an_index_busy_elsewhere_is_waited_for(watched):
    docs, index_dir, watcher, rec = watched
    watcher.busy_retry = 0.3
    with open(index_dir / ".lock", "a+") as lock:  # another writer, as `qa index` in another process
        fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
        (docs / "heron.txt").write_text(HERON, encoding="utf-8")
        wait_until("a busy attempt", lambda: watcher.updates >= 2)
        assert "heron.txt" not in texts(index_dir)
        fcntl.flock(lock.fileno(), fcntl.LOCK_UN)
    wait_until("heron.txt indexed once the lock is free", lambda: "heron.txt" in texts(index_dir))
    assert not rec.warnings  # busy is not a failure


def test_stop_ends_the_threads(tmp_path):
    (tmp_path / "a.txt").write_text(KILN, encoding="utf-8")
    watcher = FolderWatcher(tmp_path, IndexReport, index_dir=tmp_path / ".qa").start()
    before = {t.name for t in threading.enumerate()}
    assert "qa-watch" in before
    watcher.stop()
    assert "qa-watch" not in {t.name for t in threading.enumerate()}


def test_renames_are_told_from_the_hashes():
    report = IndexReport(added=["b.txt", "c.txt"], removed=["a.txt", "gone.txt"], updated=["d.txt"])
    before = {"a.txt": "h1", "gone.txt": "h2", "d.txt": "h3"}
    after = {"b.txt": "h9", "c.txt": "h1", "d.txt": "h4"}
    assert describe_changes(report, before, after) == [
        "renamed a.txt -> c.txt",
        "removed gone.txt",
        "added b.txt",
        "updated d.txt",
    ]


@pytest.mark.parametrize(
    ("name", "scratch"),
    [
        ("notes.txt", False),
        ("sub/report.PDF", False),
        ("sub/v1.2", False),  # a folder with a dot in its name (is_dir below)
        ("notes.txt.swp", True),
        ("notes.txt~", True),
        ("download.pdf.part", True),
        (".notes.txt", True),
        (".git/config.md", True),
        ("data.csv", True),
    ],
)
def test_scratch_files_are_told_apart(tmp_path, name, scratch):
    assert is_scratch(tmp_path / name, tmp_path, is_dir=name.endswith("v1.2")) is scratch


def test_watching_a_file_or_missing_folder_is_one_line(tmp_path):
    from index import IndexError_

    (tmp_path / "a.txt").write_text(KILN, encoding="utf-8")
    for target, why in ((tmp_path / "a.txt", "not a folder"), (tmp_path / "nope", "no such folder")):
        with pytest.raises(IndexError_, match=f"cannot watch .*: {why}$"):
            FolderWatcher(target, IndexReport, index_dir=tmp_path / "i").start()
