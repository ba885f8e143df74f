"""``qa eval``: registered into the ``qa`` command through the ``qa.commands`` entry point.

``qa`` knows nothing about ``eval`` (eval sits above it); this module only adds a
subcommand, and imports the heavy parts when the command runs.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from qa.cli import fail

if TYPE_CHECKING:
    from index import IndexReport, StoreConfig
    from qa import LazySettings, Settings

    from ._datasets import GoldItem
    from ._report import RunResult

EXIT_BOUND_MISSED = 1


def register(sub: argparse._SubParsersAction, settings: Settings | LazySettings | None = None) -> None:
    """``qa eval``; the store and LLM options' defaults come from ``settings`` (see
    ``index.add_store_arguments``)."""
    p = sub.add_parser(
        "eval",
        help="score answers against gold questions (accuracy, abstention, citations, retrieval)",
        description="Index the documents (or reuse the index), ask every gold question through qa, "
        "and write report.json, report.md and report.html.",
    )
    p.add_argument(
        "gold",
        nargs="+",
        help="gold files (.jsonl native or ClapNQ, .jsonl[.gz] MTRAG-UN, .json LabelledRagDataset, "
        ".json[.gz] SQuAD)",
    )
    p.add_argument(
        "--docs",
        help="documents the gold questions are about (ClapNQ, SQuAD, MTRAG: built from the passages)",
    )
    p.add_argument(
        "--format",
        default="auto",
        choices=("auto", "native", "clapnq", "llamaindex", "squad", "mtrag"),
        help="default: auto-detect",
    )
    p.add_argument(
        "--split",
        choices=("train", "fit", "report"),
        help="ask only the questions of this split (as the data README defines it: squad2 articles, "
        "ClapNQ odd/even lines, MTRAG conversation ids); the corpus stays every loaded document",
    )
    p.add_argument("--index-dir", help="index folder (default: a folder under .qa/eval/ per docs)")
    p.add_argument("--out", default="qa-eval", help="report folder (default ./qa-eval)")
    p.add_argument("--top-k", type=int, default=5, help="passages to retrieve (default 5)")
    p.add_argument(
        "--fail-under",
        action="append",
        default=[],
        metavar="METRIC=VALUE",
        help="exit 1 when METRIC misses VALUE; for false_abstain_rate and latency_* the bound is a maximum. "
        "CLASS.METRIC bounds one class of the per-class table (MTRAG: answerable+partial, unanswerable, "
        "underspecified, follow-up; metrics rougeL, false_abstain_rate, citation_recall, citation_precision, "
        "abstain_recall, clarify_rate), e.g. underspecified.clarify_rate=0.5 (a minimum), "
        "answerable+partial.clarify_rate=0.05 and follow-up.false_abstain_rate=0.10 (maxima: clarify_rate is a "
        "maximum in every class but underspecified, where a clarifying question is wanted); repeatable",
    )
    p.add_argument(
        "--baseline",
        choices=("llamaindex",),
        help="also run the stock llama-index pipeline (with --llm: its CitationQueryEngine on the same LLM)",
    )
    p.add_argument("--limit", type=int, metavar="N", help="only the first N items of each gold file")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    from index import add_store_arguments  # standard library only: registering stays instant
    from qa._llm import add_llm_arguments

    add_store_arguments(p, settings)
    add_llm_arguments(p, settings)
    p.set_defaults(func=cmd_eval)


def _workdir(gold: list[Path], docs: str | None) -> Path:
    key = "\n".join(sorted(str(p.resolve()) for p in gold)) + f"\n{Path(docs).resolve() if docs else ''}"
    name = (Path(docs).name if docs else gold[0].stem) or "docs"
    return Path(".qa") / "eval" / f"{name}-{hashlib.sha1(key.encode()).hexdigest()[:10]}"


class _UserError(Exception):
    """A mistake in the command line or its files: ``cmd_eval`` prints it as one line."""


def _per_source(items: list[GoldItem], limit: int) -> list[GoldItem]:
    """The first ``limit`` items of each gold file (``--limit``)."""
    taken: dict[str, int] = {}
    kept = []
    for item in items:
        taken[item.source] = taken.get(item.source, 0) + 1
        if taken[item.source] <= limit:
            kept.append(item)
    return kept


def _gold(args: argparse.Namespace, gold: list[Path], workdir: Path) -> tuple[str, Path, list[GoldItem]]:
    """The gold files' format, the documents folder and the items to ask (``--split``, ``--limit``);
    a gold file that carries its documents (ClapNQ, SQuAD, MTRAG) writes them to the folder."""
    from ._datasets import GoldFormatError
    from ._runner import CORPUS_FORMATS, detect_format, load_gold, select_split

    try:
        fmt = args.format if args.format != "auto" else detect_format(gold[0])
        builds_corpus = fmt in CORPUS_FORMATS
        corpus = Path(args.docs) if (args.docs and builds_corpus) else workdir / "corpus"
        items = load_gold(gold, args.format, corpus if builds_corpus else None)
        if args.split:
            items = select_split(items, args.split)
    except GoldFormatError as exc:
        raise _UserError(str(exc)) from exc
    if args.limit is not None:
        if args.limit < 1:
            raise _UserError("--limit must be at least 1")
        items = _per_source(items, args.limit)
    docs = corpus if builds_corpus else (Path(args.docs) if args.docs else None)
    if docs is None:
        raise _UserError(
            f"--docs is required for {fmt} gold files: the folder of documents the questions are about"
        )
    if not docs.exists():
        raise _UserError(f"--docs {docs}: no such folder")
    return fmt, docs, items


def _index(
    args: argparse.Namespace, docs: Path, index_dir: Path, store: StoreConfig, settings: Settings
) -> IndexReport:
    """Index the documents (or bring the index up to date); our own eval index is rebuilt when
    another version built it, the user's ``--index-dir`` never is."""
    from qa import IndexError_, IndexMismatch, index_documents

    try:
        try:
            return index_documents(
                docs, index_dir, show_progress=not args.quiet, store=store, settings=settings
            )
        except IndexMismatch:
            if args.index_dir:  # the user's own index: theirs to rebuild
                raise
            # our private eval index, built by another version: rebuild it
            return index_documents(
                docs, index_dir, show_progress=not args.quiet, rebuild=True, store=store, settings=settings
            )
    except IndexError_ as exc:
        raise _UserError(str(exc)) from exc


def _runs(
    args: argparse.Namespace,
    items: list[GoldItem],
    index_dir: Path,
    store: StoreConfig,
    settings: Settings,
    config: dict,
) -> list[RunResult]:
    """qa's run over the items, then the ``--baseline`` one (the stock pipeline) when asked for."""
    from qa import Assistant, IndexError_, QAError, generator_from_args

    from . import evaluate

    try:
        generator = generator_from_args(args, settings)
        bot = Assistant(index_dir, top_k=args.top_k, generator=generator, store=store, settings=settings)
        bot.warm_up()
        if not isinstance(generator, str):
            generator.warm_up()
    except (IndexError_, QAError) as exc:
        raise _UserError(str(exc)) from exc
    llm = args.llm != "extractive"
    name = f"qa ({args.llm}{', unverified' if llm and args.no_verify else ''})" if llm else "qa"
    config.update(llm=args.llm, verify=not args.no_verify, limit=args.limit, split=args.split)
    runs = [evaluate(bot, items, name=name, progress=not args.quiet, config=config)]
    if args.baseline == "llamaindex" and llm:
        from ._baseline import STOCK_TOP_K, CitationEngineBot

        runs.append(
            evaluate(
                CitationEngineBot(index_dir, generator, settings=settings),
                items,
                name=f"llamaindex CitationQueryEngine ({args.llm})",
                progress=not args.quiet,
                config={**config, "top_k": STOCK_TOP_K, "pipeline": "CitationQueryEngine, default chunking"},
            )
        )
    elif args.baseline == "llamaindex":
        from ._baseline import STOCK_TOP_K, stock_assistant

        runs.append(
            evaluate(
                stock_assistant(index_dir, settings=settings),
                items,
                name="llamaindex",
                progress=not args.quiet,
                config={**config, "top_k": STOCK_TOP_K, "pipeline": "VectorStoreIndex, default chunking"},
            )
        )
    return runs


def _report(args: argparse.Namespace, runs: list[RunResult]) -> None:
    """Write the reports and print the summary and per-class tables."""
    from ._report import class_table, summary_table, write_reports

    paths = write_reports(Path(args.out), runs)
    print(summary_table(runs))
    for run in runs:  # what CLASS.METRIC bounds check
        table = class_table(run)
        if table:
            print(f"\nby class ({run.name}):\n{table}")
    print(f"\nreports: {paths['md']}, {paths['html']}, {paths['json']}")


def cmd_eval(args: argparse.Namespace) -> int:
    """Load the gold files, index their documents, ask every question, report, check the bounds."""
    from ._bounds import BoundError, check_bounds, parse_bound

    try:
        bounds = [parse_bound(b) for b in args.fail_under]
    except BoundError as exc:
        return fail(str(exc))
    gold = [Path(g) for g in args.gold]
    workdir = _workdir(gold, args.docs)
    from index import Settings, StoreError, store_from_args

    try:
        fmt, docs, items = _gold(args, gold, workdir)
        settings = Settings.from_args(args)  # what qa read from the environment, once
        try:
            store = store_from_args(args, settings)
        except StoreError as exc:
            raise _UserError(str(exc)) from exc
        # one default index per store, so --store milvus and faiss runs can be compared side by side
        default_dir = workdir / ("index" if store.kind in (None, "faiss") else f"index-{store.kind}")
        index_dir = Path(args.index_dir) if args.index_dir else default_dir
        print(_index(args, docs, index_dir, store, settings).summary(), file=sys.stderr)
        config = {
            "gold": [str(p) for p in gold],
            "format": fmt,
            "docs": str(docs),
            "index_dir": str(index_dir),
            "top_k": args.top_k,
            "store": store.kind or "as indexed",
        }
        runs = _runs(args, items, index_dir, store, settings, config)
    except _UserError as exc:
        return fail(str(exc))
    _report(args, runs)
    misses = check_bounds(runs[0].metrics, bounds)
    for miss in misses:
        print(f"qa eval: bound missed: {miss}", file=sys.stderr)
    return EXIT_BOUND_MISSED if misses else 0


if __name__ == "__main__":  # python -m eval.cli GOLD ... behaves like qa eval GOLD ...
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from qa.cli import main

    sys.exit(main(["eval", *sys.argv[1:]]))
