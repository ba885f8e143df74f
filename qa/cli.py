"""``qa``: a thin command line over the public API. Heavy imports happen inside commands."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

EXIT_USER_ERROR = 2


def _index_dir(args: argparse.Namespace) -> Path | None:
    return Path(args.index_dir) if getattr(args, "index_dir", None) else None


def _fail(message: str) -> int:
    print(f"qa: error: {message}", file=sys.stderr)
    return EXIT_USER_ERROR


def cmd_index(args: argparse.Namespace) -> int:
    from index import IndexConfig, IndexError_, update_index

    config = IndexConfig(chunk_size=args.chunk_size, chunk_overlap=args.chunk_overlap)
    try:
        report = update_index(
            args.docs, _index_dir(args), config, rebuild=args.rebuild, show_progress=not args.quiet
        )
    except IndexError_ as exc:
        return _fail(str(exc))
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


def _assistant(args: argparse.Namespace):
    from qa import Assistant

    return Assistant(_index_dir(args), top_k=args.top_k)


def cmd_ask(args: argparse.Namespace) -> int:
    from qa import QAError

    try:
        answer = _assistant(args).answer(args.question)
    except QAError as exc:
        return _fail(str(exc))
    _print_answer(answer, args.json)
    return 0


def cmd_chat(args: argparse.Namespace) -> int:
    from qa import QAError, Turn

    bot = _assistant(args)
    try:
        bot.warm_up()
    except QAError as exc:
        return _fail(str(exc))
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
            answer = bot.answer(question, history)
        except QAError as exc:
            print(f"qa: {exc}", file=sys.stderr)
            continue
        _print_answer(answer, args.json)
        print()
        history.append(Turn(question=question, answer=answer.text))


def _serve_auth(args: argparse.Namespace) -> list[tuple[str, str]] | None:
    """Logins from --auth-file (one user:password a line) or $QA_AUTH; ValueError if malformed."""
    if args.auth_file:
        try:
            lines = Path(args.auth_file).read_text(encoding="utf-8").splitlines()
        except OSError as exc:
            raise ValueError(f"--auth-file {args.auth_file}: {exc.strerror or exc}") from exc
        source = f"--auth-file {args.auth_file}"
    elif os.environ.get("QA_AUTH"):
        lines, source = [os.environ["QA_AUTH"]], "QA_AUTH"
    else:
        return None
    logins = []
    for line in (ln.strip() for ln in lines):
        if not line or line.startswith("#"):
            continue
        user, sep, password = line.partition(":")
        if not (sep and user.strip() and password):
            raise ValueError(f"{source} must hold user:password (one per line in a file)")
        logins.append((user.strip(), password))
    if not logins:
        raise ValueError(f"{source} holds no user:password line")
    return logins


def _cmd_serve(args: argparse.Namespace) -> int:
    """Index the docs folder and serve the web chat (Gradio loads only here)."""
    import ipaddress
    import socket

    if not 0 < args.port < 65536:
        return _fail(f"--port must be between 1 and 65535 (got {args.port})")
    try:
        max_mb = float(args.max_upload_mb)
    except ValueError:
        return _fail(
            f"--max-upload-mb / QA_MAX_UPLOAD_MB must be a number of megabytes (got {args.max_upload_mb!r})"
        )
    if not max_mb > 0:
        return _fail(f"--max-upload-mb must be more than 0 (got {args.max_upload_mb})")
    try:
        auth = _serve_auth(args)
    except ValueError as exc:
        return _fail(str(exc))
    try:
        loopback = args.host == "localhost" or ipaddress.ip_address(args.host).is_loopback
    except ValueError:
        loopback = False
    if not loopback and not auth:
        print(
            f"qa: warning: serving on {args.host}, reachable from other machines, without a login; "
            "set QA_AUTH=user:password or --auth-file to require one",
            file=sys.stderr,
        )
    docs = args.docs or os.environ.get("QA_DOCS_DIR")
    if docs and not Path(docs).is_dir():
        return _fail(f"--docs {docs}: no such folder")
    try:  # fail now, not after loading the model, when the port is taken
        socket.create_server((args.host, args.port)).close()
    except OSError as exc:
        reason = str(exc.strerror or exc).split(" (while")[0]
        return _fail(f"cannot serve on {args.host}:{args.port}: {reason}")

    from qa import IndexError_, QAError

    try:
        if not docs:  # the folder the index was built from, else ./docs
            from qa import Assistant

            try:
                docs = Assistant(_index_dir(args)).index.root or "docs"
            except QAError:
                docs = "docs"
        import ui

        ui.serve(
            docs,
            _index_dir(args),
            host=args.host,
            port=args.port,
            auth=auth,
            max_upload_mb=max_mb,
            top_k=args.top_k,
        )
    except (QAError, IndexError_) as exc:
        return _fail(str(exc))
    except OSError as exc:  # typically: the port is taken
        return _fail(f"cannot serve on {args.host}:{args.port}: {exc}")
    return 0


def build_parser() -> argparse.ArgumentParser:
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
        p.set_defaults(func=func)

    p = sub.add_parser("serve", help="the web chat, with sources and document upload, in a browser")
    p.add_argument(
        "--docs",
        help="documents folder to index and upload into (default: $QA_DOCS_DIR, "
        "the folder the index was built from, or ./docs)",
    )
    add_index_dir(p)
    p.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to bind (default 127.0.0.1; anything else exposes the chat to the network)",
    )
    p.add_argument("--port", type=int, default=7860, help="port (default 7860)")
    p.add_argument("--auth-file", help="require a login: a file of user:password lines (else $QA_AUTH)")
    p.add_argument(
        "--max-upload-mb",
        default=os.environ.get("QA_MAX_UPLOAD_MB", "20"),
        help="largest upload per file in MB (default: $QA_MAX_UPLOAD_MB or 20)",
    )
    p.add_argument("--top-k", type=int, default=5, help="passages to retrieve (default 5)")
    p.set_defaults(func=_cmd_serve)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return EXIT_USER_ERROR
    if getattr(args, "top_k", 1) is not None and getattr(args, "top_k", 1) < 1:
        return _fail("--top-k must be at least 1")
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("\nqa: interrupted; the previous index is unchanged", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
