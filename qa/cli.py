"""``qa``: a thin command line over the public API. Heavy imports happen inside commands.

The environment is read once, into an :class:`index.Settings`: the options' defaults come
from it, and every command finds it as ``args.settings`` and passes it down. The parser is
built from an :class:`index.LazySettings`, so the settings (and pydantic) load only when a
subcommand is parsed: ``qa --help`` stays instant.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from typing import TYPE_CHECKING

from qa._llm import add_llm_arguments

from ._chat_cli import ask_streaming, assistant, cmd_chat, index_dir
from ._terminal import EXIT_BROKEN_PIPE, EXIT_USER_ERROR, fail, printable, warn

if TYPE_CHECKING:
    from index import IndexConfig, LazySettings, Settings, WatchUpdate

__all__ = ["EXIT_BROKEN_PIPE", "EXIT_USER_ERROR", "build_parser", "fail", "main", "printable"]


def cmd_index(args: argparse.Namespace) -> int:
    from index import SUPPORTED_SUFFIXES, IndexConfig, IndexError_, Settings, store_from_args, update_index

    from ._reader import reader_version

    config = IndexConfig(
        chunk_size=args.chunk_size,
        chunk_overlap=args.chunk_overlap,
        reader=reader_version(),
        dense_index=args.dense_index,
    )
    if args.watch and os.path.exists(args.docs) and not os.path.isdir(args.docs):
        return fail(f"cannot watch {args.docs}: not a folder")
    try:
        settings = Settings.from_args(args)
        report = update_index(
            args.docs,
            index_dir(args),
            config,
            rebuild=args.rebuild,
            show_progress=not args.quiet,
            warn=warn,
            store=store_from_args(args, settings),
            settings=settings,
        )
    except IndexError_ as exc:
        return fail(str(exc))
    print(printable(report.summary()))
    if args.verbose:
        for path, why in report.skipped:
            print(f"  skipped {printable(path)}: {printable(why)}")
    problem = None
    if report.n_documents == 0:  # an empty index answers nothing: say why, and let scripts notice
        problem = f"nothing indexed: none of the {report.found} documents in {args.docs} could be read"
        if report.found == 0:
            problem = (
                f"nothing to index: {args.docs} holds no {' '.join(SUPPORTED_SUFFIXES)} files "
                "(hidden files and folders are ignored)"
            )
    if args.watch:  # an empty folder is where watching starts: the files come later
        if problem:
            warn(problem)
        return _watch(args, config, settings)
    return fail(problem) if problem else 0


def _watch(args: argparse.Namespace, config: IndexConfig, settings: Settings) -> int:
    """``qa index DIR --watch`` after the first update: a line per change, until Ctrl-C."""
    from index import FolderWatcher, IndexError_, default_index_dir, store_from_args

    def show(update: WatchUpdate) -> None:
        for line in update.changes:
            print(printable(line))
        print(printable(update.report.summary()), flush=True)

    watcher = FolderWatcher.for_index(
        args.docs,
        index_dir(args) or default_index_dir(settings),
        config,
        on_update=show,
        warn=warn,
        store=store_from_args(args, settings),
        settings=settings,
    )
    try:
        watcher.start()
    except IndexError_ as exc:
        return fail(str(exc))
    # Ctrl-C and SIGTERM stop watching even when started in the background, where a shell
    # leaves SIGINT ignored and Python then never raises KeyboardInterrupt for it
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    print(f"watching {printable(str(watcher.root))} for changes (Ctrl-C stops)", flush=True)
    watcher.wait()  # returns on Ctrl-C, the watcher stopped
    print(f"qa: stopped watching {printable(str(watcher.root))}", file=sys.stderr)
    return 0


def cmd_ask(args: argparse.Namespace) -> int:
    from index import IndexError_
    from qa import QAError

    try:
        ask_streaming(assistant(args), args.question, None, args.json)
    except (QAError, IndexError_) as exc:
        return fail(str(exc))
    return 0


def cmd_mcp(args: argparse.Namespace) -> int:
    from index import IndexError_
    from qa import QAError

    try:
        from ._mcp import serve
    except ModuleNotFoundError as exc:
        if (exc.name or "").split(".")[0] != "mcp":
            raise
        return fail("qa mcp needs the MCP SDK: pip install 'qa-docs[mcp]' (or: pip install 'mcp>=2.3,<3')")
    try:
        bot = assistant(args)  # a bad --llm or --store setting stops here; a missing index does not
    except (QAError, IndexError_) as exc:
        return fail(str(exc))
    try:
        return serve(bot, top_k=args.top_k)
    except KeyboardInterrupt:
        return 130


def index_dir_help(settings: Settings) -> str:
    """``--index-dir``'s help, naming the folder used without it."""
    if settings.index_dir:
        return f"index folder (default: {settings.index_dir}, from $QA_INDEX_DIR)"
    return "index folder (default: ./.qa/index; $QA_INDEX_DIR sets another)"


def build_parser(settings: Settings | LazySettings | None = None) -> argparse.ArgumentParser:
    """The parser; option defaults come from ``settings``, loaded from the environment when a
    subcommand is parsed if not given (and then found as ``args.settings``)."""
    from index import LazySettings, SettingsParser, add_store_arguments  # standard library only

    settings = settings if isinstance(settings, LazySettings) else LazySettings(settings)
    parser = SettingsParser(
        prog="qa",
        description="Ask questions about a folder of documents; every answer cites its sources.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")  # SettingsParsers too

    def add_index_dir(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--index-dir",
            default=settings.later(lambda s: s.index_dir),
            help=settings.later(index_dir_help),
        )

    p = sub.add_parser("index", help="index (or incrementally re-index) a folder of documents")
    p.add_argument("docs", help="folder (or file) of .txt .md .html .pdf .docx .png .jpg documents")
    add_index_dir(p)
    p.add_argument("--rebuild", action="store_true", help="discard the index and embed everything")
    p.add_argument("--chunk-size", type=int, default=200, help="tokens per chunk (default 200)")
    p.add_argument("--chunk-overlap", type=int, default=40, help="overlap in tokens (default 40)")
    p.add_argument(
        "--dense-index",
        choices=("auto", "flat", "ivf"),
        help="FAISS' vector index per segment: exact (flat), approximate (ivf, for segments of 10k+ "
        "chunks), or auto: ivf from 400k chunks (default: what the index records, else auto)",
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--verbose", action="store_true", help="list every skipped file with the reason")
    p.add_argument(
        "--watch",
        action="store_true",
        help="keep running: re-index whenever files are added, changed, renamed or removed (Ctrl-C stops)",
    )
    add_store_arguments(p, settings)
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
        add_store_arguments(p, settings)
        add_llm_arguments(p, settings)
        p.set_defaults(func=func)

    p = sub.add_parser(
        "mcp",
        help="serve the documents to MCP clients (Claude Desktop, IDEs, agents) over stdio",
        description="An MCP server over stdin/stdout with two tools: ask (a cited answer) and search "
        "(ranked passages). Start it from the client's configuration; see the README's 'MCP server'.",
    )
    add_index_dir(p)
    p.add_argument("--top-k", type=int, default=5, help="passages to retrieve (default 5)")
    add_store_arguments(p, settings)
    add_llm_arguments(p, settings)
    p.set_defaults(func=cmd_mcp)
    _add_plugins(sub, settings)
    for command in sub.choices.values():  # every command's args.settings: the ones loaded once
        command.set_defaults(settings=settings.later(lambda s: s))
    return parser


def _add_plugins(sub: argparse._SubParsersAction, settings: LazySettings) -> None:
    """Subcommands of the stages above qa (``qa eval``, ``qa serve``), found by entry point;
    each ``register(sub, settings)`` takes its option defaults from the same settings."""
    from importlib.metadata import entry_points

    for ep in sorted(entry_points(group="qa.commands"), key=lambda e: e.name):
        try:
            ep.load()(sub, settings)
        except Exception as exc:  # a broken plugin must not take qa down with it
            print(f"qa: warning: command {ep.name!r} unavailable ({exc})", file=sys.stderr)


def _run(argv: list[str] | None) -> int:
    from index import IndexError_

    parser = build_parser()
    try:
        args = parser.parse_args(argv)  # a subcommand's parser reads the environment, once
    except IndexError_ as exc:  # SettingsError: a QA_* variable that does not parse
        return fail(str(exc))
    except SystemExit as exc:  # --help, or a usage error argparse has already printed
        sys.stdout.flush()
        return exc.code if isinstance(exc.code, int) else EXIT_USER_ERROR
    if not getattr(args, "func", None):
        parser.print_help()
        return EXIT_USER_ERROR
    if getattr(args, "top_k", 1) is not None and getattr(args, "top_k", 1) < 1:
        return fail("--top-k must be at least 1")
    return int(args.func(args) or 0)


def main(argv: list[str] | None = None) -> int:
    try:
        code = _run(argv)
        sys.stdout.flush()  # here, not at exit: a reader gone away (qa ask | head) is caught below
        return code
    except KeyboardInterrupt:
        print("\nqa: interrupted; the previous index is unchanged", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # Whatever still sits in the buffer goes nowhere, so that the flush at exit cannot
        # raise again; the exit code is the one a shell gives a tool killed by SIGPIPE.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_BROKEN_PIPE
    except OSError as exc:  # the environment, not a bug: a full disk, a permission
        where = f"{exc.filename}: " if exc.filename else ""
        return fail(f"{where}{exc.strerror or exc}")


if __name__ == "__main__":
    sys.exit(main())
