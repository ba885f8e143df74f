"""Watched folders: re-index a documents folder whenever its files change.

A watchdog observer (inotify on Linux; polling where events are unavailable, e.g. a network
mount) feeds a debouncer: events are collected until the folder has been quiet for a moment,
then ONE incremental update runs (``update_index``, crash-safe and locked, as ``qa index``).
An update that fails is a one-line warning and the watcher keeps going; one that finds the
index busy (another process writing it) is retried shortly.

>>> w = FolderWatcher.for_index("docs/", ".qa/index", on_update=print)   # doctest: +SKIP
>>> w.start(); ...; w.stop()                                             # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from watchdog.events import FileSystemEventHandler

from ._errors import IndexBusy, IndexError_
from ._readers import SUPPORTED_SUFFIXES
from ._report import IndexConfig, IndexReport

if TYPE_CHECKING:
    from watchdog.events import FileSystemEvent
    from watchdog.observers.api import BaseObserver

QUIET_SECONDS = 0.75  # an update starts once the folder has had no event for this long
MAX_WAIT_SECONDS = 10.0  # ... or this long after the first event, for a file written non-stop
BUSY_RETRY_SECONDS = 2.0  # another process holds the index's write lock: try again after this
POLL_SECONDS = 1.0  # the polling observer's scan interval
# Editors' and downloaders' scratch files: their changes say nothing about the documents.
SCRATCH_SUFFIXES = (".swp", ".swx", ".swo", ".tmp", ".temp", ".part", ".crdownload", ".bak", "~")
# Filesystems on which inotify misses changes made elsewhere (another machine, the host of a VM).
NO_EVENT_FILESYSTEMS = frozenset(
    {"nfs", "nfs4", "cifs", "smb3", "smbfs", "9p", "virtiofs", "vboxsf", "afs", "ceph", "glusterfs"}
)

# watchdog's event types that may change what the index holds (not "opened", not "closed_no_write":
# reading the files, as every update does, must not trigger the next update)
_RELEVANT = frozenset({"created", "modified", "moved", "deleted", "closed", "attrib"})


@dataclass
class WatchUpdate:
    """One update the watcher ran: the index's report and a line per change (``added notes.txt``,
    ``renamed a.txt -> b.txt``, ``skipped bad.pdf: why``)."""

    report: IndexReport
    changes: list[str] = field(default_factory=list)
    paths: set[str] = field(default_factory=set)  # the changed paths (absolute) that triggered it


def live_hashes(index_dir: Path) -> dict[str, str]:
    """``{key: content hash}`` of the live generation, from its manifest alone (no vectors load);
    empty before the first update. The watcher reads it to tell a rename from an add."""
    try:
        name = (index_dir / "CURRENT").read_text(encoding="utf-8").strip()
        manifest = json.loads((index_dir / name / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return {key: str(doc.get("hash", "")) for key, doc in (manifest.get("documents") or {}).items()}


def describe_changes(
    report: IndexReport, before: dict[str, str], after: dict[str, str], changed: set[str] | None = None
) -> list[str]:
    """A line per change. A removed key and an added key with the same content hash are a rename;
    skipped files are named only when among the ``changed`` paths (a folder's long-broken file
    would otherwise be named after every update)."""
    added = list(report.added)
    lines: list[str] = []
    for old in report.removed:
        digest = before.get(old)
        new = next((a for a in added if digest and after.get(a) == digest), None)
        if new is None:
            lines.append(f"removed {old}")
        else:
            added.remove(new)
            lines.append(f"renamed {old} -> {new}")
    lines += [f"added {key}" for key in added]
    lines += [f"updated {key}" for key in report.updated]
    resolved = {str(Path(p).resolve()) for p in changed or ()}
    for path, why in report.skipped:
        if changed is None or str(Path(path).resolve()) in resolved:
            lines.append(f"skipped {Path(path).name}: {why}")
    return lines


def is_scratch(path: Path, root: Path, is_dir: bool = False) -> bool:
    """Hidden files and folders, editors' temp files and unsupported types: never worth an update."""
    try:
        parts = path.relative_to(root).parts
    except ValueError:
        return True
    if not parts:
        return False
    name = parts[-1]
    if (
        any(p.startswith(".") for p in parts)
        or name.startswith("#")
        or name.lower().endswith(SCRATCH_SUFFIXES)
    ):
        return True
    suffix = Path(name).suffix.lower()
    return not is_dir and bool(suffix) and suffix not in SUPPORTED_SUFFIXES


def needs_polling(folder: Path) -> bool:
    """True when ``folder`` lies on a filesystem whose changes inotify may not report (a network
    or a VM's shared mount), from ``/proc/self/mounts``; False where that cannot be read."""
    try:
        mounts = Path("/proc/self/mounts").read_text(encoding="utf-8").splitlines()
    except OSError:
        return False
    target, best, fstype = folder.resolve(), -1, ""
    for line in mounts:
        fields = line.split()
        if len(fields) < 3:
            continue
        point = Path(fields[1].replace("\\040", " "))
        if (point == target or point in target.parents) and len(point.parts) > best:
            best, fstype = len(point.parts), fields[2]
    return fstype.removeprefix("fuse.") in NO_EVENT_FILESYSTEMS or fstype.startswith("fuse.sshfs")


class FolderWatcher:
    """Runs ``update()`` (an incremental index update returning its :class:`IndexReport`) after
    each quiet spell that follows changes under ``docs``; ``on_update`` gets a
    :class:`WatchUpdate` per run, ``warn`` a line per problem. ``start()``, then ``stop()``."""

    def __init__(
        self,
        docs: str | Path,
        update: Callable[[], IndexReport],
        *,
        index_dir: str | Path,
        on_update: Callable[[WatchUpdate], None] | None = None,
        warn: Callable[[str], None] | None = None,
        poll: bool | None = None,
        quiet: float = QUIET_SECONDS,
        max_wait: float = MAX_WAIT_SECONDS,
        busy_retry: float = BUSY_RETRY_SECONDS,
    ) -> None:
        """``poll``: True forces polling, False forces events, None picks (polling where the
        folder's filesystem reports no events, or inotify cannot be set up)."""
        self.root = Path(docs).expanduser().resolve()
        self.index_dir = Path(index_dir).expanduser().resolve()
        self._update = update
        self._on_update = on_update or (lambda u: None)
        self._warn = warn or (lambda msg: None)
        self.poll = needs_polling(self.root) if poll is None else poll
        self.quiet, self.max_wait, self.busy_retry = quiet, max_wait, busy_retry
        self.updates = 0  # runs of ``update`` so far, failed ones included
        self._cond = threading.Condition()
        self._changed: set[str] = set()
        self._first = self._last = 0.0  # monotonic times of the batch's first and last event
        self._stopping = False
        self._observer: BaseObserver | None = None
        self._worker: threading.Thread | None = None

    @classmethod
    def for_index(
        cls,
        docs: str | Path,
        index_dir: str | Path,
        config: IndexConfig | None = None,
        *,
        on_update: Callable[[WatchUpdate], None] | None = None,
        warn: Callable[[str], None] | None = None,
        poll: bool | None = None,
        quiet: float = QUIET_SECONDS,
        **update_options: Any,
    ) -> FolderWatcher:
        """A watcher whose update is ``update_index(docs, index_dir, config, **update_options)``;
        the update's own "skipped FILE" warnings are left to the watcher's change lines."""
        from . import update_index  # through the package: whichever module holds it

        quiet_warn = warn or (lambda msg: None)

        def update() -> IndexReport:
            return update_index(
                docs,
                index_dir,
                config,
                show_progress=False,
                warn=lambda msg: None if msg.startswith("skipped ") else quiet_warn(msg),
                **update_options,
            )

        return cls(docs, update, index_dir=index_dir, on_update=on_update, warn=warn, poll=poll, quiet=quiet)

    # ------------------------------------------------------------------ running

    def start(self) -> FolderWatcher:
        """Start watching (an observer thread and the updating thread); returns self."""
        if not self.root.is_dir():
            why = "not a folder" if self.root.exists() else "no such folder"
            raise IndexError_(f"cannot watch {self.root}: {why}")
        self._observer = self._schedule()
        self._worker = threading.Thread(target=self._run, name="qa-watch", daemon=True)
        self._worker.start()
        return self

    def stop(self, timeout: float = 30.0) -> None:
        """Stop watching; an update in flight may finish (it is crash-safe if the process exits)."""
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        if self._observer is not None:
            self._observer.stop()
            self._observer.join(timeout)
        if self._worker is not None and self._worker is not threading.current_thread():
            self._worker.join(timeout)

    def wait(self) -> None:
        """Block until :meth:`stop` (from another thread) or Ctrl-C, which stops the watcher."""
        try:
            while self._worker is not None and self._worker.is_alive():
                self._worker.join(0.5)
        except KeyboardInterrupt:
            self.stop()

    def notify(self, path: str | Path) -> None:
        """Note a change at ``path``; the observer calls this, tests and callers may too."""
        now = time.monotonic()
        with self._cond:
            if not self._changed:
                self._first = now
            self._changed.add(str(path))
            self._last = now
            self._cond.notify_all()

    def _schedule(self) -> BaseObserver:
        """An observer on the folder: inotify's, or polling's where that is unavailable."""
        from watchdog.observers import Observer
        from watchdog.observers.polling import PollingObserver

        handler = _Handler(self)
        if not self.poll:
            observer = Observer()
            try:
                observer.schedule(handler, str(self.root), recursive=True)
                observer.start()
                return observer
            except OSError as exc:  # inotify's watch or instance limit, usually
                with contextlib.suppress(Exception):
                    observer.stop()
                self._warn(f"no file events for {self.root} ({exc.strerror or exc}); polling instead")
                self.poll = True
        observer = PollingObserver(timeout=POLL_SECONDS)
        observer.schedule(handler, str(self.root), recursive=True)
        observer.start()
        return observer

    def _next_batch(self) -> set[str] | None:
        """The paths changed in the next quiet-ended batch, or None once stopping."""
        with self._cond:
            while True:
                if self._stopping:
                    return None
                if self._changed:
                    now = time.monotonic()
                    due = min(self._last + self.quiet, self._first + self.max_wait)
                    if now >= due:
                        batch, self._changed = self._changed, set()
                        return batch
                    self._cond.wait(due - now)
                else:
                    self._cond.wait()

    def _run(self) -> None:
        while (batch := self._next_batch()) is not None:
            before = live_hashes(self.index_dir)
            self.updates += 1
            try:
                report = self._update()
            except IndexBusy:  # another writer; its update may not have seen these changes
                with self._cond:
                    if not self._stopping:
                        self._cond.wait(self.busy_retry)
                for path in batch:
                    self.notify(path)
                continue
            except Exception as exc:  # noqa: BLE001 - one line; the previous index stays live
                self._warn(f"updating the index after changes in {self.root} failed: {_one_line(exc)}")
                continue
            changes = describe_changes(report, before, live_hashes(self.index_dir), batch)
            try:
                self._on_update(WatchUpdate(report, changes, batch))
            except Exception as exc:  # noqa: BLE001 - a broken callback must not stop the watching
                self._warn(f"after an update of {self.root}: {_one_line(exc)}")


class _Handler(FileSystemEventHandler):
    """Passes the paths of relevant events on to the watcher."""

    def __init__(self, watcher: FolderWatcher) -> None:
        super().__init__()
        self.watcher = watcher

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.event_type not in _RELEVANT or (event.is_directory and event.event_type == "modified"):
            return
        for raw in (event.src_path, event.dest_path):
            if not raw:
                continue
            path = Path(raw.decode() if isinstance(raw, bytes) else raw)
            inside_index = path == self.watcher.index_dir or self.watcher.index_dir in path.parents
            if not inside_index and not is_scratch(path, self.watcher.root, event.is_directory):
                self.watcher.notify(path)


def _one_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    text = lines[0].strip() if lines else ""
    if isinstance(exc, IndexError_) and text:
        return text
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
