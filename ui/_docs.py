"""The documents folder behind the web chat: checked uploads, removal, incremental re-indexing.

Uploads are checked (type, size, readable) *before* they enter the folder, so a corrupt
file never replaces a good one. Indexing runs on its own embedder in a worker thread,
one run at a time, while questions keep being answered from the previous generation.
"""

from __future__ import annotations

import contextlib
import os
import queue
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ._causes import cause, note, report_line, run_indexing
from ._uploads import free_name, human_size, safe_filename

DEFAULT_MAX_UPLOAD_MB = 20.0


class UploadRejected(Exception):
    """A file the user gave us that we will not index; ``str()`` is a friendly line.

    ``status`` says why, as :class:`FileOutcome` does: unsupported, too_large or unreadable.
    """

    def __init__(self, message: str, status: str = "unreadable") -> None:
        super().__init__(message)
        self.status = status


class UnknownDocument(LookupError):
    """Removing a document the folder and the index do not hold; ``str()`` is a friendly line."""


@dataclass
class DocInfo:
    key: str
    title: str
    chunks: int
    chars: int
    pages: int | None


@dataclass
class FileOutcome:
    """What became of one uploaded file, for clients that report per file (the HTTP API).

    ``status``: added, unchanged (the same content is already there), unsupported, too_large,
    unreadable (refused before entering the folder), or failed (it read, but indexing it failed).
    """

    name: str  # as the user gave it
    status: str
    saved_as: str | None = None  # its name in the docs folder, when it got there
    reason: str | None = None  # the one-line message the web chat shows for it

    @property
    def ok(self) -> bool:
        return self.status in ("added", "unchanged")


@dataclass
class Progress:
    """One update from a running indexing job, for the status line."""

    message: str
    done: bool = False
    ok: bool = True
    files: list[FileOutcome] = field(default_factory=list)  # per upload, on the last update of an add


class Library:
    """Owns the docs folder and the writes to its index; the Assistant only reads.

    ``open_index`` returns the live index (the app passes one that shares the answering
    lock, so a reload never happens in the middle of an answer).
    """

    def __init__(
        self,
        docs_dir: Path,
        index_dir: Path,
        *,
        open_index: Callable[[], Any | None],
        max_upload_mb: float = DEFAULT_MAX_UPLOAD_MB,
        embedder: Any = None,
        store: Any = None,
        settings: Any = None,
    ) -> None:
        self.docs_dir = Path(docs_dir)
        self.index_dir = Path(index_dir)
        self.max_bytes = int(max_upload_mb * 1_000_000)
        self.max_upload_mb = max_upload_mb
        self._open_index = open_index
        self._embedder = embedder
        self.store = store  # a qa.StoreConfig, or None: the store the index records
        self.settings = settings  # a qa.Settings for every indexing run, or None: the environment then
        self._lock = threading.Lock()

    @property
    def busy(self) -> bool:
        """True while an indexing run is going on."""
        return self._lock.locked()

    # ------------------------------------------------------------------ reading

    def documents(self) -> list[DocInfo]:
        index = self._open_index()
        if index is None:
            return []
        counts = index.manifest.get("documents", {})
        out = []
        for doc in index.documents:
            info = counts.get(doc.key, {})
            pages = len({p[2] for p in doc.pages}) if doc.pages else None
            out.append(DocInfo(doc.key, doc.title, int(info.get("n_chunks", 0)), len(doc.text), pages))
        return out

    # ------------------------------------------------------------------ uploads

    def check_upload(self, source: Path, original_name: str) -> tuple[str, bytes]:
        """The sanitised name and content of an acceptable upload, or :class:`UploadRejected`."""
        from qa import SUPPORTED_SUFFIXES, BadDocument, parse_document

        name = safe_filename(original_name)
        shown = original_name.replace("\\", "/").rsplit("/", 1)[-1] or name
        suffix = Path(name).suffix.lower()
        if suffix not in SUPPORTED_SUFFIXES:
            kinds = ", ".join(s for s in SUPPORTED_SUFFIXES if s != ".htm")
            raise UploadRejected(
                f"{shown}: unsupported file type {suffix or '(no extension)'}; upload one of {kinds}",
                "unsupported",
            )
        size = source.stat().st_size
        if size > self.max_bytes:
            raise UploadRejected(
                f"{shown} is {human_size(size)}; the limit is {self.max_upload_mb:g} MB per file", "too_large"
            )
        data = source.read_bytes()
        try:
            parse_document(Path(name), data)
        except BadDocument as exc:
            raise UploadRejected(f"{shown} cannot be read: {exc}") from exc
        return name, data

    def _place(self, name: str, data: bytes) -> Path:
        """Write into the docs folder atomically (a hidden temp name is never indexed)."""
        self.docs_dir.mkdir(parents=True, exist_ok=True)
        target = (self.docs_dir / name).resolve()
        if target.parent != self.docs_dir.resolve():  # safe_filename makes this impossible
            raise UploadRejected(f"{name}: not a plain file name")
        tmp = self.docs_dir / f".upload-{os.getpid()}-{threading.get_ident()}-{name}"
        tmp.write_bytes(data)
        os.replace(tmp, target)
        return target

    def add(self, files: list[tuple[Path, str]]) -> Iterator[Progress]:
        """Check, copy and index uploaded ``(temp path, original name)`` pairs.

        A name already in the folder keeps both: the upload is saved as ``name (2).ext``.
        The last update lists each file's :class:`FileOutcome`.
        """
        problems: list[str] = []
        outcomes: list[FileOutcome] = []
        accepted: list[tuple[FileOutcome, bytes]] = []
        if not files:
            yield Progress("Choose one or more files to add.", done=True, ok=False)
            return
        yield Progress(f"Checking {len(files)} file(s)…")
        for source, original in files:
            try:
                name, data = self.check_upload(Path(source), original)
                outcome = FileOutcome(original, "added", saved_as=name)
                accepted.append((outcome, data))
            except UploadRejected as exc:
                outcome = FileOutcome(original, exc.status, reason=str(exc))
            except OSError as exc:
                outcome = FileOutcome(
                    original,
                    "unreadable",
                    reason=f"{original}: could not read the upload ({exc.strerror or exc})",
                )
            if outcome.reason:
                problems.append(outcome.reason)
            outcomes.append(outcome)
        notes: list[str] = []
        names: list[str] = []
        for outcome, data in accepted:
            name = str(outcome.saved_as)
            existing = self.docs_dir / name
            with contextlib.suppress(OSError):
                if existing.is_file() and existing.read_bytes() == data:
                    outcome.status, outcome.reason = (
                        "unchanged",
                        f"{name} is already in the documents (same content); not added again.",
                    )
                    notes.append(outcome.reason)
                    continue
            target = outcome.saved_as = free_name(self.docs_dir, name, set(names))
            if target != name:
                notes.append(f"{name} exists; saved as {target}.")
            self._place(target, data)
            names.append(target)
        if not names:
            yield Progress(" ".join(notes + problems), done=True, ok=not problems, files=outcomes)
            return
        failed: dict[str, str] = {}
        for p in self._reindex(
            f"Adding {', '.join(names)}", problems, uploaded=names, notes=notes, failed=failed
        ):
            if p.done:
                for outcome in outcomes:
                    if outcome.saved_as in failed:
                        outcome.status, outcome.reason = "failed", failed[outcome.saved_as]
                        outcome.saved_as = None
                p.files = outcomes
            yield p

    # ------------------------------------------------------------------ removal

    def locate(self, key: str) -> Path:
        """The file of document ``key`` in the folder (which may be gone already, the index still
        answering from it), or :class:`UnknownDocument` when neither the index nor the folder has it."""
        root = self.docs_dir.resolve()
        path = (root / key).resolve()
        known = {d.key for d in self.documents()}
        if key not in known and not (root in path.parents and path.is_file()):
            raise UnknownDocument(f"There is no indexed document named {key}.")
        if root not in path.parents:
            raise UnknownDocument(f"{key} is not inside the documents folder.")
        return path

    def remove(self, key: str | None) -> Iterator[Progress]:
        """Delete a document from the folder and drop it from the index.

        Works when its file is already gone (the index still answers from it) and for a
        file that is in the folder but never made it into the index.
        """
        key = (key or "").strip()
        if not key:
            yield Progress("Choose a document to remove.", done=True, ok=False)
            return
        try:
            path = self.locate(key)
        except UnknownDocument as exc:
            yield Progress(str(exc), done=True, ok=False)
            return
        try:
            path.unlink(missing_ok=True)
        except OSError as exc:
            yield Progress(f"Could not delete {key}: {exc.strerror or exc}", done=True, ok=False)
            return
        yield from self._reindex(f"Removing {key}", [])

    # ------------------------------------------------------------------ indexing

    def sync(self, *, rebuild: bool = False, embedder: Any = None, notes: list[str] | None = None) -> Any:
        """Index the folder now, in this thread (startup); raises the index's errors.

        Files the index skips come back in the report; a run that fails as a whole raises
        :class:`~ui._causes.IndexingFailed` in one line;
        ``embedder`` (the answering one) saves loading a second model at startup.
        """
        from qa import index_documents

        notes = notes if notes is not None else []
        with self._lock:
            options = self._index_options(rebuild=rebuild, embedder=embedder)
            # skipped files come back in the report (named once, by the caller); other warnings
            # (a file read as cp1252...) are notes too
            options["warn"] = lambda msg: None if msg.startswith("skipped ") else notes.append(msg)
            return run_indexing(
                lambda: index_documents(self.docs_dir, self.index_dir, rebuild=rebuild, **options)
            )

    def _index_options(self, *, rebuild: bool = False, embedder: Any = None) -> dict[str, Any]:
        options: dict[str, Any] = {"show_progress": False, "store": self.store, "settings": self.settings}
        index = None if rebuild else self._open_index()
        if index is not None:  # keep the chunking the index was built with
            m = index.manifest
            options.update(
                embed_model=m["embed_model"], chunk_size=m["chunk_size"], chunk_overlap=m["chunk_overlap"]
            )
        model = options.get("embed_model")
        if embedder is not None and (model is None or embedder.model_name == model):
            options["embedder"] = embedder
        else:
            options["embedder"] = self._indexing_embedder(model)
        return options

    def _indexing_embedder(self, model: str | None) -> Any:
        """A second embedder, so indexing never shares a tokenizer with answering threads."""
        from qa import Embedder

        if self._embedder is None or (model and self._embedder.model_name != model):
            self._embedder = Embedder(model) if model else Embedder()
        return self._embedder

    def _reindex(
        self,
        what: str,
        problems: list[str],
        *,
        uploaded: list[str] | None = None,
        notes: list[str] | None = None,
        failed: dict[str, str] | None = None,
    ) -> Iterator[Progress]:
        """Index in a worker thread, reporting progress; files the index skips are named.

        Uploads that do not make it into the index are deleted again, so nothing of a
        failed upload stays in the folder to break the next run; ``failed`` gets each one's
        name and reason.
        """
        from qa import index_documents

        uploaded = uploaded or []
        notes = list(notes or [])
        failed = {} if failed is None else failed
        while not self._lock.acquire(timeout=0.5):
            yield Progress(f"{what}: waiting for another indexing run to finish…")
        events: queue.Queue[tuple[str, Any]] = queue.Queue()

        def work() -> None:
            try:
                options = self._index_options()
                options["progress"] = lambda done, total: events.put(("progress", (done, total)))
                # skipped files are in the report; other warnings (read as cp1252...) are notes
                options["warn"] = lambda msg: None if msg.startswith("skipped ") else notes.append(note(msg))
                events.put(("done", index_documents(self.docs_dir, self.index_dir, **options)))
            except Exception as exc:  # noqa: BLE001 - shown as one line; the index stays as it was
                events.put(("error", cause(exc)))
            finally:
                self._lock.release()

        try:
            worker = threading.Thread(target=work, name="qa-indexing", daemon=True)
        except BaseException:
            self._lock.release()
            raise
        worker.start()  # it releases the lock, even if nobody is listening any more
        yield Progress(f"{what}: reading and indexing…")
        while True:
            try:
                kind, value = events.get(timeout=0.25)
            except queue.Empty:
                continue
            if kind == "progress":
                done, total = value
                yield Progress(f"{what}: embedded {done} of {total} passages…")
            elif kind == "error":
                gone = self._discard(uploaded)
                failed.update((name, f"{what} failed: {value}") for name in gone)
                tail = f" {', '.join(gone)} not added." if gone else ""
                yield Progress(
                    " ".join([f"{what} failed: {value}.{tail}", *notes, *problems]), done=True, ok=False
                )
                return
            else:
                discarded = self._discard_skipped(value, uploaded, failed)
                notes += discarded
                failed = bool(problems or discarded)
                yield Progress(report_line(value, notes, problems), done=True, ok=not failed)
                return

    def _discard(self, names: list[str]) -> list[str]:
        """Delete uploads that did not get indexed; the names that were still there."""
        gone = []
        for name in names:
            path = self.docs_dir / name
            if path.exists():
                with contextlib.suppress(OSError):
                    path.unlink()
                    gone.append(name)
        return gone

    def _discard_skipped(self, report: Any, uploaded: list[str], failed: dict[str, str]) -> list[str]:
        """Uploads the index skipped (unreadable after all) leave the folder, one note each."""
        notes = []
        for path, why in list(report.skipped):
            name = Path(path).name
            if name in uploaded:
                self._discard([name])
                report.skipped.remove((path, why))
                notes.append(f"{name} could not be indexed: {why}; it was not added.")
                failed[name] = notes[-1]
        return notes
