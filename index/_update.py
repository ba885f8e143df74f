"""``update_index``: bring an index in line with a folder, embedding only what changed.

An update writes one new segment with the new and changed documents, marks the replaced
and removed ones deleted in the segments that hold them, and links every other segment
into the new generation unchanged, so its cost follows the change, not the corpus.
"""

from __future__ import annotations

import contextlib
import gc
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import _milvus_store
from ._backend import StoreWriter
from ._build import DocBuild, chunk_new, embed_new
from ._config import StoreConfig
from ._corpus import FORMAT_VERSION, LEGACY_FORMAT, CorpusIndex, default_index_dir, read_manifest
from ._embed import Embedder
from ._errors import IndexError_, IndexMismatch, IndexNotFound, IndexNotWritable
from ._faiss import FaissSegmentWriter
from ._generations import commit, current_generation, discard, new_staging, write_lock
from ._plan import Plan, drop_failed, plan_update
from ._readers import EXTRACTION_VERSION
from ._report import IndexConfig, IndexReport
from ._writer import Live, manifest_meta, migrate_legacy, write_generation

if TYPE_CHECKING:
    from ._settings import Settings


def _warn(message: str) -> None:
    print(f"warning: {message}", file=sys.stderr, flush=True)


def update_index(
    docs: str | Path,
    index_dir: str | Path | None = None,
    config: IndexConfig | None = None,
    *,
    rebuild: bool = False,
    embedder: Embedder | None = None,
    show_progress: bool = True,
    progress: Callable[[int, int], None] | None = None,
    warn: Callable[[str], None] = _warn,
    store: StoreConfig | str | None = None,
    settings: Settings | None = None,
) -> IndexReport:
    """Bring the index in line with the files under ``docs``, embedding only what changed.

    ``store`` picks where vectors live for a new index or a ``rebuild`` (``"faiss"``, the
    default, or ``"milvus"`` / a :class:`StoreConfig`); an existing index keeps its own.
    ``settings`` (an :class:`index.Settings`) supply what is not given: the index folder, a
    new Milvus store's URI and the Milvus token, the embedder's query backend.

    >>> report = update_index("seeds/", ".qa/index")   # doctest: +SKIP
    >>> print(report.summary())                        # doctest: +SKIP
    """
    started = time.perf_counter()
    config = config or IndexConfig()
    config.validate()
    requested = StoreConfig.coerce(store).with_settings(settings)
    root = Path(docs).expanduser().resolve()
    index_dir = Path(index_dir).expanduser() if index_dir else default_index_dir(settings)
    if not root.exists():
        raise IndexNotFound(f"{docs}: no such file or folder")
    report = IndexReport(index_dir=str(index_dir))

    with write_lock(index_dir):
        with _collector_paused():
            job = _job(index_dir, requested, config, root, report, rebuild, settings, warn)
            plan = plan_update(root, job.known, report, warn)
        if job.live is not None and not job.changed and not plan.stats_to_record:
            return _unchanged(report, job, started)
        backend = settings.query_backend if settings is not None else None
        # before staging: see the kill test
        embedder = embedder or Embedder.shared(config.embed_model, backend)
        done = _stage(job, plan, embedder, show_progress, progress)
        if done is None:
            return _unchanged(report, job, started)
        manifest, builds, writer = done
        writer.after_commit(index_dir, warn)
        if job.recorded["kind"] == "milvus" and job.target["kind"] == "faiss":  # rebuilt out of Milvus
            _drop_old_collection(job.recorded, requested, index_dir, warn)
        report.embedded_chunks = sum(len(b.chunks) for b in builds)
        report.n_documents = len(manifest["documents"])
        report.n_chunks = sum(int(d["n_chunks"]) for d in manifest["documents"].values())
        report.seconds = time.perf_counter() - started
        return report


_pause_lock = threading.Lock()
_pauses = [0, False]  # updates in a paused stretch now; whether the collector was on before


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """Python's cyclic collector paused for an update's bookkeeping (loading the manifest, the
    walk and plan, writing the generation), not its chunking and embedding. A folder of 100k
    files makes 100k manifest records, walk entries and plan items, long-lived and free of
    cycles, and the collector walked them again and again: 0.6-0.8 s of a 2.3 s update at 1M
    chunks. The collector is process-wide, so overlapping updates (the web chat's threads)
    count their pauses and the last one out turns it back on."""
    with _pause_lock:
        if _pauses[0] == 0:
            _pauses[1] = gc.isenabled()
            gc.disable()
        _pauses[0] += 1
    try:
        yield
    finally:
        with _pause_lock:
            _pauses[0] -= 1
            if _pauses[0] == 0 and _pauses[1]:
                gc.enable()


@dataclass
class _Job:
    """One update's context: the live generation (if any) and the store it writes to."""

    index_dir: Path
    gen: Path | None
    live: Live | None
    previous: CorpusIndex | None  # loaded only for Milvus, whose writer needs the node ids
    recorded: dict[str, Any]
    requested: StoreConfig
    target: dict[str, Any]
    config: IndexConfig
    root: Path
    report: IndexReport
    warn: Callable[[str], None]

    @property
    def dense_index(self) -> str:
        """As asked, else as the live generation records it, else "auto"."""
        recorded = self.live.manifest.get("dense_index") if self.live is not None else None
        return self.config.dense_index or recorded or "auto"

    @property
    def known(self) -> dict[str, dict[str, Any]]:
        return self.live.documents if self.live is not None else {}

    @property
    def changed(self) -> bool:
        r = self.report
        moved = self.previous is not None and self.target.get("uri") != self.previous.store.get("uri")
        return bool(r.added or r.updated or r.removed or moved)

    def close(self) -> None:
        if self.previous is not None:
            self.previous.close()
            self.previous = None


def _job(
    index_dir: Path,
    requested: StoreConfig,
    config: IndexConfig,
    root: Path,
    report: IndexReport,
    rebuild: bool,
    settings: Settings | None,
    warn: Callable[[str], None],
) -> _Job:
    gen = current_generation(index_dir)
    _milvus_store.recover(index_dir, gen, requested)
    manifest = _manifest(gen)  # read once: at 1M chunks it lists 100k documents
    recorded = dict((manifest or {}).get("store") or {"kind": "faiss"})
    live = (
        None
        if rebuild or gen is None
        else _live(index_dir, gen, manifest, recorded, requested, config, root, warn)
    )
    previous = (
        CorpusIndex.load(live.gen, requested) if live is not None and recorded["kind"] == "milvus" else None
    )
    default_uri = settings.milvus_uri if settings is not None else None
    target = _milvus_store.target_store(requested, recorded, live is not None, index_dir, default_uri)
    if target["kind"] == "milvus" and live is None:
        from . import _milvus

        _milvus.check_reachable(target["connect"], target["token"])
    return _Job(index_dir, gen, live, previous, recorded, requested, target, config, root, report, warn)


def _stage(
    job: _Job,
    plan: Plan,
    embedder: Embedder,
    show_progress: bool,
    progress: Callable[[int, int], None] | None,
) -> tuple[dict[str, Any], list[DocBuild], StoreWriter] | None:
    """Chunk, embed, write and commit; None when every change failed and nothing is left.

    The staging folder exists while the update works, so an update killed at any point
    leaves a folder the next run sweeps, never a half-live index.
    """
    staging: Path | None = None
    writing = False
    try:
        staging = new_staging(job.index_dir)
        failed: dict[str, str] = {}
        changes = [(c.key, c.hash, c.parsed) for c in plan.changes]
        built = chunk_new(changes, job.config, embedder, failed)
        embed_new(built, embedder, job.config, show_progress, progress, failed)
        if failed:  # those files are skipped like unreadable ones; the rest goes in
            drop_failed(plan, failed, job.known, job.report, job.warn)
            for key in failed:
                built.pop(key, None)
            if job.live is not None and not job.changed and not plan.stats_to_record:
                discard(staging)
                return None
        writing = True
        builds = list(built.values())
        dim = _vector_dim(builds, job.live) or embedder.dim
        keep = set(plan.kept)
        writer = _writer_for(job, dim, keep)
        writer.add(builds)
        meta = manifest_meta(job.config, job.root, dim, job.target, job.dense_index)
        with _collector_paused():
            manifest = write_generation(staging, job.live, keep, builds, writer, meta, plan.stats)
        writer.before_commit(job.index_dir, staging)
        commit(job.index_dir, staging)
        return manifest, builds, writer
    except BaseException as exc:
        if staging is not None:
            discard(staging)
        if writing and job.target["kind"] == "milvus":  # undo the inserts now if Milvus still answers
            with contextlib.suppress(Exception):
                _milvus_store.recover(job.index_dir, job.gen, job.requested)
        # the previous generation is untouched and stays live
        if isinstance(exc, OSError) and (writing or staging is None):
            raise IndexNotWritable.wrap(job.index_dir, exc) from exc
        raise
    finally:
        job.close()


def _live(
    index_dir: Path,
    gen: Path,
    manifest: dict[str, Any] | None,
    recorded: dict[str, Any],
    requested: StoreConfig,
    config: IndexConfig,
    root: Path,
    warn: Callable[[str], None],
) -> Live | None:
    """The live generation to update, migrated from format 2 first; None when its text
    came from another extraction version, so that every document is read again."""
    if requested.kind and requested.kind != recorded["kind"]:
        raise IndexMismatch(
            f"index at {index_dir} keeps its vectors in {recorded['kind']}, not {requested.kind}; "
            f"re-run with --rebuild to re-embed everything into {requested.kind}"
        )
    if manifest is None:  # it could not be read: reading it again raises what is wrong with it
        manifest = read_manifest(gen)
    _check_compatible(manifest, config, root, index_dir)
    if manifest.get("format_version") == LEGACY_FORMAT:
        warn(
            f"index at {index_dir} is in format {LEGACY_FORMAT}; migrating it to format {FORMAT_VERSION} "
            "(segments), nothing is embedded again"
        )
        staging = new_staging(index_dir)
        try:
            migrate_legacy(gen, staging, manifest, recorded["kind"])
            gen = commit(index_dir, staging)
        except BaseException:
            discard(staging)
            raise
        manifest = read_manifest(gen)
    extraction = manifest.get("extraction", 1)
    if extraction != EXTRACTION_VERSION:  # same bytes, other text: every file is read again
        warn(
            f"index at {index_dir} holds text from extraction version {extraction}, this version "
            f"extracts with {EXTRACTION_VERSION}; re-reading and re-embedding every document"
        )
        return None
    return Live(gen, manifest)


def _check_compatible(manifest: dict[str, Any], config: IndexConfig, root: Path, index_dir: Path) -> None:
    if manifest.get("format_version") not in (FORMAT_VERSION, LEGACY_FORMAT):
        raise IndexMismatch(
            f"index at {index_dir} has format {manifest.get('format_version')}, this version writes "
            f"{FORMAT_VERSION}; re-run with --rebuild to re-embed everything"
        )
    wanted = {
        "embed_model": config.embed_model,
        "chunk_size": config.chunk_size,
        "chunk_overlap": config.chunk_overlap,
    }
    for key, value in wanted.items():
        if manifest.get(key) != value:
            raise IndexMismatch(
                f"index at {index_dir} was built with {key}={manifest.get(key)!r}, not {value!r}; "
                "re-run with --rebuild to re-embed everything"
            )
    if manifest.get("root") and manifest["root"] != str(root):
        raise IndexMismatch(
            f"index at {index_dir} holds documents from {manifest['root']}, not {root}; "
            "use --rebuild to replace them, or another --index-dir"
        )


def _unchanged(report: IndexReport, job: _Job, started: float) -> IndexReport:
    """The report of an update that changes nothing: the live generation's counts."""
    report.n_documents = len(job.known)
    report.n_chunks = sum(int(d["n_chunks"]) for d in job.known.values())
    report.seconds = time.perf_counter() - started
    job.close()
    return report


def _manifest(gen: Path | None) -> dict[str, Any] | None:
    """The live generation's manifest; None without one, or when it cannot be read."""
    if gen is None:
        return None
    with contextlib.suppress(OSError, ValueError):
        return read_manifest(gen)
    return None


def _drop_old_collection(recorded: dict[str, Any], requested: StoreConfig, index_dir: Path, warn) -> None:
    from . import _milvus

    old_uri = _milvus.recorded_uri_to_connect(recorded["uri"], index_dir)
    try:
        _milvus.drop_collection(old_uri, requested.resolved_token(), recorded["collection"])
    except IndexError_ as exc:
        warn(f"{exc}; collection {recorded['collection']} is no longer used and may be dropped")


def _writer_for(job: _Job, dim: int, keep: set[str]) -> StoreWriter:
    """The target store's writer; Milvus' is told which previous nodes this update replaces."""
    if job.target["kind"] == "faiss":
        return FaissSegmentWriter(dim, job.dense_index)
    base = job.gen.name if job.gen else ""
    previous = job.previous
    if previous is None:
        return _milvus_store.MilvusWriter(job.target, dim, base)
    from ._build import chunk_context

    ids, replaced = previous.backend.node_ids, []
    for row, (d, s, e) in enumerate(previous.chunks):
        doc = previous.documents[int(d)]
        if doc.key not in keep:
            replaced.append(
                (ids[row], chunk_context(doc.title, doc.text, int(s)) + doc.text[int(s) : int(e)])
            )
    return _milvus_store.MilvusWriter(job.target, dim, base, previous.backend.lexical.lexicon, replaced)


def _vector_dim(builds: list[DocBuild], live: Live | None) -> int | None:
    """The vector width from what is at hand, so removing files never loads the model for it."""
    for b in builds:
        if b.chunk_vecs is not None and b.chunk_vecs.ndim == 2 and b.chunk_vecs.shape[1]:
            return int(b.chunk_vecs.shape[1])
    return int(live.manifest["dim"]) if live is not None and live.manifest.get("dim") else None
