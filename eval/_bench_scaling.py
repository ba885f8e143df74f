"""The ``qa bench`` sections that measure cost against corpus size: retrieval (each size in a
worker process, :mod:`eval._bench_workers`) and re-indexing after one changed document.

Both build their indexes of 1k to 1M chunks with :func:`eval._benchcorpus.build_sized_index`.
"""

from __future__ import annotations

import json
import shutil
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ._bench_measure import log, median, timed_run

if TYPE_CHECKING:
    from index import CorpusIndex, Embedder


def bench_retrieval(
    real_index: CorpusIndex, work: Path, sizes: list[int], questions: list[str], passes: int
) -> dict:
    from ._benchcorpus import build_sized_index, corpus_fingerprint

    qfile = work / "questions.json"
    qfile.write_text(json.dumps(questions), encoding="utf-8")
    out: dict[str, Any] = {}
    for size in sizes:
        index_dir = work / "retrieval" / f"size-{size}-{corpus_fingerprint(real_index, size)}"
        built: dict[str, Any] = {}
        if not (index_dir / "CURRENT").is_file():
            for stale in (work / "retrieval").glob(f"size-{size}-*"):
                shutil.rmtree(stale, ignore_errors=True)
            t0 = time.perf_counter()
            built = build_sized_index(index_dir, real_index, size)
            built["build_s"] = round(time.perf_counter() - t0, 1)
            (index_dir / "corpus.json").write_text(json.dumps(built), encoding="utf-8")
            log(f"built a {size}-chunk index in {built['build_s']}s")
        else:
            built = json.loads((index_dir / "corpus.json").read_text(encoding="utf-8"))
            built["reused"] = True
        _, proc = timed_run(
            [
                sys.executable,
                "-m",
                "eval.bench",
                "--worker",
                "retrieval",
                "--index-dir",
                str(index_dir),
                "--questions-file",
                str(qfile),
                "--passes",
                str(passes),
            ],
            timeout=3600,
        )
        if proc.returncode != 0:
            raise RuntimeError(f"retrieval worker at {size} failed: {proc.stderr[-1500:]}")
        result = json.loads(proc.stdout.strip().splitlines()[-1])
        result["corpus"] = built
        out[str(size)] = result
        log(
            f"retrieval at {size}: ours p50 {result['ours_p50_ms']} ms, limit p50 {result['limit_p50_ms']} ms, "
            f"answer p50 {result['answer_p50_ms']} ms"
        )
    return out


def _edit(path: Path, original: str, r: int) -> None:
    """Revision ``r`` of the document: one new sentence, so one chunk's text changes."""
    path.write_text(original + f"\nRevision {r}: the ferry line carried {40 + r},000 trucks in 2024.\n")


def _profile_update(docs: Path, idx: Path, embedder: Embedder) -> dict[str, float]:
    """Where one more update's time goes: the slowest functions of ``index/``, cumulative seconds."""
    import cProfile
    import pstats

    from index import update_index

    prof = cProfile.Profile()
    prof.enable()
    update_index(docs, idx, embedder=embedder, show_progress=False)
    prof.disable()
    stats = pstats.Stats(prof)
    rows = []
    for (file, line, func), (_, _, _, cum, _) in stats.stats.items():  # type: ignore[attr-defined]
        if "/index/" in file and not func.startswith("<"):
            rows.append((f"{Path(file).name}:{line}({func})", cum))
    rows.sort(key=lambda x: -x[1])
    return {name: round(cum, 3) for name, cum in rows[:12]}


def _one_size(
    real_index: CorpusIndex,
    work: Path,
    size: int,
    seed_key: str,
    repeat: int,
    embedder: Embedder,
    profile: bool,
) -> tuple[dict[str, Any], dict[str, float] | None]:
    """At one size: an unchanged check, ``repeat`` edits of the seed document, ``repeat`` deletions
    of another one; with ``profile``, where one more edit's update spends its time."""
    from index import update_index

    from ._benchcorpus import build_sized_index

    docs, idx = work / f"incr-docs-{size}", work / f"incr-index-{size}"
    shutil.rmtree(docs, ignore_errors=True)
    shutil.rmtree(idx, ignore_errors=True)
    build_sized_index(idx, real_index, size, docs_dir=docs)
    target = docs / seed_key
    original = target.read_text(encoding="utf-8")
    t0 = time.perf_counter()
    noop = update_index(docs, idx, embedder=embedder, show_progress=False)
    noop_s = time.perf_counter() - t0
    assert not (noop.added or noop.updated or noop.removed), noop.summary()
    times, embedded = [], 0
    for r in range(repeat):
        _edit(target, original, r)
        t0 = time.perf_counter()
        rep = update_index(docs, idx, embedder=embedder, show_progress=False)
        times.append(time.perf_counter() - t0)
        embedded = rep.embedded_chunks
    deletes = []
    victims = sorted(p for p in docs.rglob("*") if p.is_file() and p != target)[:repeat]
    for victim in victims:  # deleting one document costs what changing one does
        victim.unlink()
        t0 = time.perf_counter()
        gone = update_index(docs, idx, embedder=embedder, show_progress=False)
        deletes.append(time.perf_counter() - t0)
        assert len(gone.removed) == 1, gone.summary()
    row = {
        "chunks": rep.n_chunks,
        "update_s": round(median(times), 3),
        "update_runs_s": [round(x, 3) for x in times],
        "delete_s": round(median(deletes), 3),
        "delete_runs_s": [round(x, 3) for x in deletes],
        "embedded_chunks": embedded,
        "unchanged_check_s": round(noop_s, 3),
    }
    profiled = None
    if profile:
        _edit(target, original, repeat)
        profiled = _profile_update(docs, idx, embedder)
    shutil.rmtree(docs, ignore_errors=True)
    shutil.rmtree(idx, ignore_errors=True)
    return row, profiled


def _document_alone(
    real_index: CorpusIndex, work: Path, seed_key: str, repeat: int, embedder: Embedder
) -> float:
    """For scale: the median time to index the edited document alone, in a fresh index."""
    from index import update_index

    alone_docs, alone_idx = work / "incr-alone-docs", work / "incr-alone-index"
    times = []
    for r in range(repeat):
        shutil.rmtree(alone_docs, ignore_errors=True)
        shutil.rmtree(alone_idx, ignore_errors=True)
        alone_docs.mkdir(parents=True)
        shutil.copy2(Path(real_index.root) / seed_key, alone_docs / seed_key)
        _edit(alone_docs / seed_key, (alone_docs / seed_key).read_text(encoding="utf-8"), r)
        t0 = time.perf_counter()
        update_index(alone_docs, alone_idx, embedder=embedder, show_progress=False)
        times.append(time.perf_counter() - t0)
    shutil.rmtree(alone_docs, ignore_errors=True)
    shutil.rmtree(alone_idx, ignore_errors=True)
    return round(median(times), 3)


def bench_incremental(
    real_index: CorpusIndex, work: Path, sizes: list[int], repeat: int, embedder: Embedder
) -> dict[str, Any]:
    """Change one document (the seed article) in an index of each size; time ``update_index``."""
    seed_key = next(d.key for d in real_index.documents if d.key.startswith("000_"))
    out: dict[str, Any] = {"document": seed_key, "sizes": {}}
    for size in sizes:
        largest = size == max(sizes)  # where the time goes, at the largest size
        row, profiled = _one_size(real_index, work, size, seed_key, repeat, embedder, largest)
        out["sizes"][str(size)] = row
        if profiled is not None:
            out["profile_largest_s"] = profiled
    out["document_alone_s"] = _document_alone(real_index, work, seed_key, repeat, embedder)
    # the target: a 10x larger corpus (10k chunks against 1k) should not cost more than 1.5x
    small = "1000" if "1000" in out["sizes"] else str(min(sizes))
    large = "10000" if "10000" in out["sizes"] else str(max(sizes))
    out["growth"] = round(out["sizes"][large]["update_s"] / out["sizes"][small]["update_s"], 3)
    out["growth_between"] = [int(small), int(large)]
    return out
