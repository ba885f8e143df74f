"""The web chat: ask questions about a folder of documents in a browser, see the cited passages.

>>> from ui import serve                                   # doctest: +SKIP
>>> serve("seeds/")                                        # http://127.0.0.1:7860

Gradio and the models load only when an app is built, so importing ``ui`` is cheap.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ._docs import DEFAULT_MAX_UPLOAD_MB
from ._uploads import safe_filename

if TYPE_CHECKING:
    import gradio as gr

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 7860

__all__ = [
    "DEFAULT_HOST",
    "DEFAULT_MAX_UPLOAD_MB",
    "DEFAULT_PORT",
    "ServeError",
    "build_app",
    "launch_options",
    "safe_filename",
    "serve",
]


class ServeError(Exception):
    """The chat cannot be served (the address is taken, ...); ``str()`` is one line."""


def build_app(
    docs_dir: str | Path,
    index_dir: str | Path | None = None,
    *,
    top_k: int = 5,
    max_upload_mb: float | None = None,
    embedder: Any = None,
    stream_delay: float = 0.02,
    sync: bool = True,
    store: Any = None,
    rebuild: bool = False,
    max_question_chars: int | None = None,
    settings: Any = None,
    watch: bool = False,
) -> gr.Blocks:
    """The chat app over ``docs_dir``; with ``sync`` the folder is indexed (incrementally) first.

    ``embedder`` (a ``qa.Embedder``) is reused for answering, e.g. one already loaded;
    ``rebuild`` re-embeds every file; longer questions than ``max_question_chars`` get a
    one-line message. ``settings`` (a ``qa.Settings``; the environment, read once, when None)
    fill what is not given: the index folder, ``max_upload_mb`` and ``max_question_chars``
    (20 MB and 2,000 characters unless ``QA_MAX_UPLOAD_MB`` / ``QA_MAX_QUESTION_CHARS`` say
    otherwise), the Milvus token, the LLM generators' configuration. A file the index skips
    is named in ``app.qa_service.startup_notes``. With ``watch`` the folder is re-indexed after
    each change to it (a line per change on stdout) and the page's document list follows.
    Raises one-line errors (``qa.IndexError_``, ``ServeError``) when the folder cannot be indexed.
    """
    from ._app import build_blocks
    from ._service import ChatService

    service = ChatService(
        Path(docs_dir).expanduser(),
        Path(index_dir).expanduser() if index_dir else None,
        top_k=top_k,
        max_upload_mb=max_upload_mb,
        embedder=embedder,
        stream_delay=stream_delay,
        store=store,
        max_question_chars=max_question_chars,
        settings=settings,
    )
    if sync:
        from ._causes import IndexingFailed

        try:
            service.sync(rebuild=rebuild)
        except IndexingFailed as exc:
            raise ServeError(f"indexing {service.docs_dir} failed: {exc}") from exc
        if service.n_documents():
            service.bot.warm_up()  # the first question should not wait for the model
    if watch:
        from qa.cli import printable, warn

        service.start_watching(lambda line: print(printable(line), flush=True), warn)
    demo = build_blocks(service)
    demo.qa_service = service  # type: ignore[attr-defined]  # for tests and scripts
    return demo


def launch_options(
    max_upload_mb: float | None = None,
    *,
    app: gr.Blocks | None = None,
    auth: list[tuple[str, str]] | None = None,
) -> dict[str, Any]:
    """Keyword arguments for ``build_app(...).launch()``: theme, CSS, the [n] click script, the
    upload and login guard (``max_upload_mb``: by default the limit ``app`` was built with, else
    20 MB); with ``app`` (that ``build_app`` result) the HTTP API under ``/v1`` too, and with
    ``auth`` the login that the chat and the API both require."""
    from ._app import launch_options as options

    return options(max_upload_mb, app=app, auth=auth)


def serve(
    docs_dir: str | Path,
    index_dir: str | Path | None = None,
    *,
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    auth: list[tuple[str, str]] | None = None,
    max_upload_mb: float | None = None,
    top_k: int = 5,
    store: Any = None,
    rebuild: bool = False,
    max_question_chars: int | None = None,
    settings: Any = None,
    watch: bool = False,
) -> None:
    """Index ``docs_dir`` and serve the chat, and the HTTP API beside it, until interrupted;
    ``store`` is a ``qa.StoreConfig``, ``settings`` a ``qa.Settings`` (see :func:`build_app`).

    Files taken out or skipped while indexing are named on stderr, one line each.
    """
    demo = build_app(
        docs_dir,
        index_dir,
        top_k=top_k,
        max_upload_mb=max_upload_mb,
        store=store,
        rebuild=rebuild,
        max_question_chars=max_question_chars,
        settings=settings,
        watch=watch,
    )
    service = demo.qa_service  # type: ignore[attr-defined]
    max_upload_mb = service.library.max_upload_mb
    for note in service.startup_notes:
        print(f"qa: warning: {note}", file=sys.stderr)
    print(
        f"documents: {service.docs_dir.resolve()} ({service.n_documents()} indexed); index: {service.index_dir}",
        flush=True,
    )
    if service.watcher is not None:
        print(f"watching {service.docs_dir.resolve()} for changes", flush=True)
    try:
        demo.launch(
            server_name=host, server_port=port, **launch_options(max_upload_mb, app=demo, auth=auth or None)
        )
    except OSError as exc:  # the port was taken after all, between the CLI's check and the bind
        reason = str(exc.strerror or exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ServeError(f"cannot serve on {host}:{port}: {reason}") from exc
    finally:
        service.stop_watching()
