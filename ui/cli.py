"""``qa serve``: registered into the ``qa`` command through the ``qa.commands`` entry point.

``qa`` knows nothing about the web chat (ui sits above it); this module only adds a
subcommand, and imports Gradio and the models when the command runs. The options' defaults
come from the :class:`qa.Settings` that ``qa`` loaded (``$QA_DOCS_DIR``, ``$QA_AUTH``,
``$QA_MAX_UPLOAD_MB``, ``$QA_MAX_QUESTION_CHARS``, ...), found again as ``args.settings``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from qa.cli import fail, index_dir_help

from . import DEFAULT_HOST, DEFAULT_MAX_UPLOAD_MB, DEFAULT_PORT

if TYPE_CHECKING:
    from qa import LazySettings, Settings

DEFAULT_MAX_QUESTION_CHARS = 2000  # qa.MAX_QUESTION_CHARS; kept here so --help loads nothing


def register(sub: argparse._SubParsersAction, settings: Settings | LazySettings | None = None) -> None:
    """``qa serve``, its option defaults from ``settings`` (``qa`` passes its LazySettings, filled
    in when ``serve`` is parsed; the environment now when None)."""
    from qa import add_store_arguments, setting  # standard library only: registering stays instant

    p = sub.add_parser(
        "serve",
        help="the web chat, with sources and document upload, in a browser",
        description="Index the documents folder (incrementally), then serve the chat at "
        f"http://{DEFAULT_HOST}:{DEFAULT_PORT}.",
    )
    p.add_argument(
        "--docs",
        default=setting(settings, lambda s: s.docs_dir),
        help="documents folder to index and upload into (default: $QA_DOCS_DIR, "
        "the folder the index was built from, or ./docs)",
    )
    p.add_argument(
        "--index-dir",
        default=setting(settings, lambda s: s.index_dir),
        help=setting(settings, index_dir_help),
    )
    p.add_argument(
        "--host",
        default=DEFAULT_HOST,
        help=f"address to bind (default {DEFAULT_HOST}; anything else exposes the chat to the network)",
    )
    p.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT})")
    p.add_argument("--auth-file", help="require a login: a file of user:password lines (else $QA_AUTH)")
    p.add_argument(  # parsed by cmd_serve, so that a bad value gets qa's one-line error
        "--max-upload-mb",
        default=setting(settings, lambda s: f"{s.max_upload_mb:g}"),
        help=setting(
            settings,
            lambda s: (
                f"largest upload per file in MB (default: {s.max_upload_mb:g}, "
                f"from $QA_MAX_UPLOAD_MB or {DEFAULT_MAX_UPLOAD_MB:g})"
            ),
        ),
    )
    p.add_argument(
        "--max-question-chars",
        default=setting(settings, lambda s: str(s.max_question_chars)),
        help=setting(
            settings,
            lambda s: (
                f"longest question accepted, in characters (default: {s.max_question_chars:,}, "
                f"from $QA_MAX_QUESTION_CHARS or {DEFAULT_MAX_QUESTION_CHARS:,})"
            ),
        ),
    )
    p.add_argument("--top-k", type=int, default=5, help="passages to retrieve (default 5)")
    p.add_argument(
        "--rebuild",
        action="store_true",
        help="discard the index and embed every document again (after a model or chunking change)",
    )
    p.add_argument(
        "--watch",
        action="store_true",
        help="re-index the documents folder whenever files in it are added, changed, renamed or removed",
    )
    add_store_arguments(p, settings)
    p.set_defaults(func=cmd_serve)


def _auth(args: argparse.Namespace, settings: Settings) -> list[tuple[str, str]] | None:
    """Logins from --auth-file (one user:password a line) or the settings' ``auth`` ($QA_AUTH);
    ValueError if malformed."""
    if args.auth_file:
        try:
            lines = Path(args.auth_file).read_text(encoding="utf-8").splitlines()
        except OSError as exc:
            raise ValueError(f"--auth-file {args.auth_file}: {exc.strerror or exc}") from exc
        source = f"--auth-file {args.auth_file}"
    elif settings.auth is not None:
        lines, source = [settings.secret("auth") or ""], "QA_AUTH"
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


def _port_and_limits(args: argparse.Namespace) -> tuple[float, int]:
    """The port checked, and the upload and question limits parsed; ValueError in one line if wrong."""
    if not 0 < args.port < 65536:
        raise ValueError(f"--port must be between 1 and 65535 (got {args.port})")
    try:
        max_mb = float(args.max_upload_mb)
    except ValueError:
        raise ValueError(
            f"--max-upload-mb / QA_MAX_UPLOAD_MB must be a number of megabytes (got {args.max_upload_mb!r})"
        ) from None
    if not max_mb > 0:
        raise ValueError(f"--max-upload-mb must be more than 0 (got {args.max_upload_mb})")
    try:
        max_chars = int(args.max_question_chars)
    except ValueError:
        raise ValueError(
            "--max-question-chars / QA_MAX_QUESTION_CHARS must be a whole number of characters "
            f"(got {args.max_question_chars!r})"
        ) from None
    if max_chars < 1:
        raise ValueError(f"--max-question-chars must be at least 1 (got {args.max_question_chars})")
    return max_mb, max_chars


def _warn_if_exposed(host: str, auth: list[tuple[str, str]] | None) -> None:
    """A warning on stderr when the chat is reachable from other machines without a login."""
    import ipaddress

    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback and not auth:
        print(
            f"qa: warning: serving on {host}, reachable from other machines, without a login; "
            "set QA_AUTH=user:password or --auth-file to require one",
            file=sys.stderr,
        )


def cmd_serve(args: argparse.Namespace) -> int:
    """Check the options (cheaply, before any model loads), index the docs folder, serve."""
    import socket

    from qa import Settings

    settings = Settings.from_args(args)
    try:
        max_mb, max_chars = _port_and_limits(args)
        auth = _auth(args, settings)
    except ValueError as exc:
        return fail(str(exc))
    _warn_if_exposed(args.host, auth)
    docs = args.docs
    if docs and not Path(docs).is_dir():
        return fail(f"--docs {docs}: no such folder")
    try:  # fail now, not after loading the model, when the port is taken
        socket.create_server((args.host, args.port)).close()
    except OSError as exc:
        reason = str(exc.strerror or exc).split(" (while")[0]
        return fail(f"cannot serve on {args.host}:{args.port}: {reason}")

    from qa import IndexError_, QAError, StoreError, store_from_args

    from . import ServeError, serve

    index_dir = Path(args.index_dir) if args.index_dir else None
    try:
        store = store_from_args(args, settings)
    except StoreError as exc:
        return fail(str(exc))
    try:
        if not docs:  # the folder the index was built from, else ./docs
            from qa import Assistant

            try:
                docs = Assistant(index_dir, store=store, settings=settings).index.root or "docs"
            except QAError:
                docs = "docs"
        serve(
            docs,
            index_dir,
            host=args.host,
            port=args.port,
            auth=auth,
            max_upload_mb=max_mb,
            top_k=args.top_k,
            store=store,
            rebuild=args.rebuild,
            max_question_chars=max_chars,
            settings=settings,
            watch=args.watch,
        )
    except (QAError, IndexError_, ServeError) as exc:
        return fail(str(exc))
    except OSError as exc:  # reading the documents or the index, not the port (ServeError says that)
        return fail(f"cannot start: {exc.strerror or exc}" + (f": {exc.filename}" if exc.filename else ""))
    return 0
