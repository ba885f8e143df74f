"""``qa``: a thin command line over the public API. Heavy imports happen inside commands."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from qa._llm import add_llm_arguments

EXIT_USER_ERROR = 2


def _index_dir(args: argparse.Namespace) -> Path | None:
    return Path(args.index_dir) if getattr(args, "index_dir", None) else None


def fail(message: str) -> int:
    """Print a user mistake as one line (no traceback) and give the exit code for it;
    every ``qa`` subcommand, including the ones ``eval`` and ``ui`` plug in, reports this way."""
    print(f"qa: error: {message}", file=sys.stderr)
    return EXIT_USER_ERROR


def cmd_index(args: argparse.Namespace) -> int:
    from index import IndexConfig, IndexError_, store_from_args, update_index

    from ._reader import reader_version

    config = IndexConfig(
        chunk_size=args.chunk_size, chunk_overlap=args.chunk_overlap, reader=reader_version()
    )
    try:
        report = update_index(
            args.docs,
            _index_dir(args),
            config,
            rebuild=args.rebuild,
            show_progress=not args.quiet,
            store=store_from_args(args),
        )
    except IndexError_ as exc:
        return fail(str(exc))
    print(report.summary())
    return 0


def _print_answer(answer, as_json: bool) -> None:
    if as_json:
        print(answer.to_json(indent=2))
        return
    print(answer.text)
    if answer.citations:
        print()
        print(answer.sources_text())


def _generator(args: argparse.Namespace):
    from qa import generator_from_args

    return generator_from_args(args)


def _assistant(args: argparse.Namespace):
    from index import store_from_args
    from qa import Assistant

    return Assistant(
        _index_dir(args), top_k=args.top_k, generator=_generator(args), store=store_from_args(args)
    )


def _ask_streaming(bot, question: str, history, as_json: bool):
    """Print the answer as it is generated, then what verification changed, then the sources."""
    if as_json:
        answer = bot.answer(question, history)
        _print_answer(answer, True)
        return answer
    answer, streamed = None, []
    try:
        for item in bot.stream(question, history):
            if isinstance(item, str):
                print(item, end="", flush=True)
                streamed.append(item)
            else:
                answer = item
    finally:
        if streamed:
            print(flush=True)
    if answer.text.strip() != "".join(streamed).strip():
        print(f"\nVerified answer: {answer.text}")
    for s in answer.sentences:
        if not s.kept:
            print(f"  (dropped \u201c{s.text}\u201d: {s.reason})")
    if answer.citations:
        print()
        print(answer.sources_text())
    return answer


def cmd_ask(args: argparse.Namespace) -> int:
    from index import IndexError_
    from qa import QAError

    try:
        _ask_streaming(_assistant(args), args.question, None, args.json)
    except (QAError, IndexError_) as exc:
        return fail(str(exc))
    return 0


def cmd_chat(args: argparse.Namespace) -> int:
    from index import IndexError_
    from qa import QAError, Turn

    try:
        bot = _assistant(args)
        bot.warm_up()
    except (QAError, IndexError_) as exc:
        return fail(str(exc))
    history: list[Turn] = []
    interactive = sys.stdin.isatty()
    if interactive:
        print("Ask about your documents. Empty line or Ctrl-D to quit; '/new' starts over.")
    while True:
        try:
            line = input("you> " if interactive else "")
        except (EOFError, KeyboardInterrupt):
            print()
            return 0
        question = line.strip()
        if not question:
            if interactive:
                return 0
            continue
        if question == "/new":
            history.clear()
            print("(new conversation)")
            continue
        try:
            answer = _ask_streaming(bot, question, history, args.json)
        except QAError as exc:
            print(f"qa: {exc}", file=sys.stderr)
            continue
        print()
        history.append(Turn(question=question, answer=answer.text))


def build_parser() -> argparse.ArgumentParser:
    from index import add_store_arguments  # standard library only: --help stays instant

    parser = argparse.ArgumentParser(
        prog="qa",
        description="Ask questions about a folder of documents; every answer cites its sources.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    def add_index_dir(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--index-dir",
            default=os.environ.get("QA_INDEX_DIR"),
            help="index folder (default: $QA_INDEX_DIR or ./.qa/index)",
        )

    p = sub.add_parser("index", help="index (or incrementally re-index) a folder of documents")
    p.add_argument("docs", help="folder (or file) of .txt .md .html .pdf .docx documents")
    add_index_dir(p)
    p.add_argument("--rebuild", action="store_true", help="discard the index and embed everything")
    p.add_argument("--chunk-size", type=int, default=200, help="tokens per chunk (default 200)")
    p.add_argument("--chunk-overlap", type=int, default=40, help="overlap in tokens (default 40)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    add_store_arguments(p)
    p.set_defaults(func=cmd_index)

    for name, help_text, func in (
        ("ask", "answer one question", cmd_ask),
        ("chat", "a conversation in the terminal, with follow-up questions", cmd_chat),
    ):
        p = sub.add_parser(name, help=help_text)
        if name == "ask":
            p.add_argument("question")
        add_index_dir(p)
        p.add_argument("--top-k", type=int, default=5, help="passages to retrieve (default 5)")
        p.add_argument("--json", action="store_true", help="print the Answer as JSON")
        add_store_arguments(p)
        add_llm_arguments(p)
        p.set_defaults(func=func)
    _add_plugins(sub)
    return parser


def _add_plugins(sub: argparse._SubParsersAction) -> None:
    """Subcommands of the stages above qa (``qa eval``, ``qa serve``), found by entry point."""
    from importlib.metadata import entry_points

    for ep in sorted(entry_points(group="qa.commands"), key=lambda e: e.name):
        try:
            ep.load()(sub)
        except Exception as exc:  # a broken plugin must not take qa down with it
            print(f"qa: warning: command {ep.name!r} unavailable ({exc})", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return EXIT_USER_ERROR
    if getattr(args, "top_k", 1) is not None and getattr(args, "top_k", 1) < 1:
        return fail("--top-k must be at least 1")
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("\nqa: interrupted; the previous index is unchanged", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
