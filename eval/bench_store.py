"""Store benchmark: ingestion throughput and retrieval latency, FAISS vs Milvus, at N chunks.

    python -m eval.bench_store --sizes 10000 100000 [--stores faiss milvus]
        [--milvus-index FLAT] [--milvus-uri PATH.db|http://host:19530] [--queries 100]

Each corpus is the ClapNQ public passages (``../shared/data/clapnq``) followed by
generated filler text (words drawn from the passages' vocabulary) up to N chunks of
about 150 words. To keep 100k chunks feasible on a laptop CPU no chunk is embedded
with the model: chunk vectors are random unit vectors (``--embed-passages`` embeds
the ClapNQ passages for real); queries are the ClapNQ questions, embedded. Exact
(FLAT) search costs the same whatever the vectors. Every number times only the
store's own work:

- ingest: vectors and BM25 texts into the store until searchable. FAISS: IndexFlatIP
  add + bm25s index build + both persisted. Milvus: collection created, nodes inserted
  through ``MilvusVectorStore.add`` in batches of 512 (BM25 computed by Milvus).
- dense / BM25: one top-30 query (the retriever's depth), through the same code
  ``qa`` uses (``CorpusIndex.dense_search`` and ``CorpusIndex.lexical.search``).

Prints a Markdown table. Not a test: it asserts nothing.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from ._datasets import DEFAULT_DATA, clapnq_records
from ._percentiles import observed_percentile

CLAPNQ = DEFAULT_DATA / "clapnq"
DEPTH = 30
WORDS_PER_CHUNK = 150


def _ms(values: list[float], q: float) -> str:
    """A measured time at the nearest rank (see :mod:`eval._percentiles`), in ms."""
    return f"{observed_percentile(values, q, 'nearest') * 1000:.1f}"


def clapnq_passages(folder: Path) -> tuple[list[tuple[str, str]], list[str]]:
    """Unique (title, passage) pairs and the questions of every ClapNQ file in ``folder``."""
    passages: dict[str, tuple[str, str]] = {}
    questions = []
    for path in sorted(folder.glob("*.jsonl")):
        for rec in clapnq_records(path):
            questions.append(rec.question)
            for title, text in rec.passages:
                passages.setdefault(text, (title, text))
    return list(passages.values()), questions


def make_corpus(n: int, passages: list[tuple[str, str]], seed: int = 0) -> list[str]:
    """ClapNQ passages first, then filler chunks of words drawn by their frequency."""
    from collections import Counter

    texts = [f"{t}\n{p}" for t, p in passages][:n]
    words = Counter(w for _, p in passages for w in p.split() if w.isalpha())
    vocab = np.array(list(words))
    probs = np.array([words[w] for w in vocab], dtype=np.float64)
    probs /= probs.sum()
    rng = np.random.default_rng(seed)
    missing = n - len(texts)
    if missing > 0:
        draws = rng.choice(len(vocab), size=(missing, WORDS_PER_CHUNK), p=probs)
        for row in draws:
            words_ = vocab[row]
            texts.append(" ".join(words_[:75]) + ". " + " ".join(words_[75:]) + ".")
    return texts


def make_vectors(n: int, real: np.ndarray, dim: int, seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    vecs = rng.standard_normal((n, dim)).astype(np.float32)
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    k = min(len(real), n)
    vecs[:k] = real[:k]
    return vecs


def ingest_faiss(folder: Path, texts: list[str], vecs: np.ndarray):
    from index._bm25 import SegmentTerms
    from index._faiss import FaissBackend, write_vectors
    from index._segments import Segment

    t0 = time.perf_counter()
    folder.mkdir(parents=True, exist_ok=True)
    write_vectors(folder, vecs)
    SegmentTerms.from_texts(texts).save(folder)
    backend = FaissBackend.load([Segment(folder)], [np.arange(len(texts), dtype=np.int64)])
    return time.perf_counter() - t0, backend


def ingest_milvus(
    folder: Path, texts: list[str], vecs: np.ndarray, uri: str | None, index_type: str, token: str = ""
):
    from index import _milvus as m
    from index import _milvus_backend as mb

    uri = uri or str(folder / "bench.db")
    collection = f"qa_bench_{len(texts)}_{int(time.time())}"
    t0 = time.perf_counter()
    store = m.connect(uri, token, collection, vecs.shape[1], create=True, index_type=index_type)
    ids = []
    batch = []
    for i, text in enumerate(texts):
        nid = m.node_id(f"doc{i}", "h", 0)
        ids.append(nid)
        batch.append(m.make_node(nid, f"doc{i}", "h", 0, 0, len(text), text, vecs[i]))
        if len(batch) == m.BATCH:
            m.insert_nodes(store, uri, batch)
            batch = []
    if batch:
        m.insert_nodes(store, uri, batch)
    lexicon = mb.Lexicon(0, {}).updated([], texts)
    m.flush(store, uri)
    seconds = time.perf_counter() - t0
    return seconds, mb.MilvusBackend(store, ids, lexicon, uri), (uri, token, collection)


def measure(backend, qvecs: np.ndarray, questions: list[str]) -> tuple[list[float], list[float]]:
    backend.dense_search(qvecs[0], DEPTH)  # warm caches / connection
    backend.lexical.search(questions[0], DEPTH)
    dense, lexical = [], []
    for vec, q in zip(qvecs, questions, strict=True):
        t0 = time.perf_counter()
        backend.dense_search(vec, DEPTH)
        t1 = time.perf_counter()
        backend.lexical.search(q, DEPTH)
        t2 = time.perf_counter()
        dense.append(t1 - t0)
        lexical.append(t2 - t1)
    return dense, lexical


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m eval.bench_store",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=[10000, 100000])
    parser.add_argument("--stores", nargs="+", default=["faiss", "milvus"], choices=["faiss", "milvus"])
    parser.add_argument("--milvus-index", default="FLAT", type=str.upper)
    parser.add_argument("--milvus-uri", default=None, help="default: a milvus-lite .db in a temp folder")
    parser.add_argument("--queries", type=int, default=100)
    parser.add_argument("--data", type=Path, default=CLAPNQ)
    parser.add_argument(
        "--embed-passages",
        action="store_true",
        help="embed the ClapNQ passages with the model (minutes on 2 cores) instead of random vectors",
    )
    return parser


def store_row(
    kind: str,
    texts: list[str],
    vecs: np.ndarray,
    qvecs: np.ndarray,
    questions: list[str],
    args: argparse.Namespace,
    token: str,
) -> tuple[str, ...]:
    """One store at one size, in a temp folder it removes: the table's row."""
    n = len(texts)
    with tempfile.TemporaryDirectory(prefix=f"bench-{kind}-") as tmp:
        folder = Path(tmp)
        cleanup = None
        if kind == "faiss":
            seconds, backend = ingest_faiss(folder, texts, vecs)
            label = "faiss (IndexFlatIP + bm25s)"
        else:
            seconds, backend, cleanup = ingest_milvus(
                folder, texts, vecs, args.milvus_uri, args.milvus_index, token
            )
            where = "server" if args.milvus_uri and "://" in args.milvus_uri else "milvus-lite"
            label = f"milvus {args.milvus_index} + BM25 function ({where})"
        dense, lexical = measure(backend, qvecs, questions)
        row = (
            f"{n:,}",
            label,
            f"{n / seconds:,.0f}",
            f"{seconds:.1f}",
            _ms(dense, 0.5),
            _ms(dense, 0.95),
            _ms(lexical, 0.5),
            _ms(lexical, 0.95),
        )
        print(" | ".join(row), file=sys.stderr, flush=True)
        if cleanup is not None:
            from index import _milvus as m

            m.drop_collection(*cleanup)
            backend.close()
        shutil.rmtree(folder, ignore_errors=True)
    return row


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)

    from index import Embedder, Settings, set_offline_env

    token = Settings.load().secret("milvus_token") or ""  # $QA_MILVUS_TOKEN, for a server with auth
    set_offline_env()
    passages, questions = clapnq_passages(args.data)
    questions = questions[: args.queries]
    embedder = Embedder.shared()
    t0 = time.perf_counter()
    qvecs = embedder.embed_texts(questions).astype(np.float32)
    real = np.zeros((0, embedder.dim), np.float32)
    if args.embed_passages:
        real = embedder.embed_texts([f"{t}\n{p}" for t, p in passages]).astype(np.float32)
    print(
        f"embedded {len(questions)} questions{' and the passages' if len(real) else ''} in "
        f"{time.perf_counter() - t0:.0f}s; other chunk vectors are random unit vectors",
        file=sys.stderr,
    )
    rows = []
    for n in args.sizes:
        texts = make_corpus(n, passages)
        vecs = make_vectors(n, real, embedder.dim)
        rows += [store_row(kind, texts, vecs, qvecs, questions, args, token) for kind in args.stores]
    print(
        "\n| chunks | store | ingest chunks/s | ingest s | dense p50 ms | dense p95 ms "
        "| BM25 p50 ms | BM25 p95 ms |\n|---|---|---|---|---|---|---|---|"
    )
    for row in rows:
        print("| " + " | ".join(row) + " |")
    print(f"\n{len(questions)} queries, top-{DEPTH} each; median of per-query times is p50.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
