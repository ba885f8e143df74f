"""The Documents tab's events: upload, remove, refresh the list, follow the folder (``--watch``).

Apart from the page (:mod:`ui._layout`) and the wiring (:mod:`ui._app`) so each handler is a
method of one object holding the :class:`ChatService`. Every indexing job yields
``(status line, documents table, remove choices, upload box)``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import gradio as gr

from ._render import status_html
from ._uploads import discard_upload

if TYPE_CHECKING:
    from ._docs import Progress
    from ._service import ChatService

JobUpdate = tuple[Any, Any, Any, Any]  # status line, documents table, remove choices, upload box


class DocumentEvents:
    """The Documents tab's handlers, over the service every session shares.

    The handlers wired to events say why in comments, not docstrings: Gradio publishes a
    handler's docstring as its endpoint's description in the API page.
    """

    def __init__(self, service: ChatService) -> None:
        self.service = service

    def docs_outputs(self) -> tuple[Any, Any]:
        """The documents table and the remove list's choices, as they are now."""
        table = self.service.documents_table()
        keys = [row[0] for row in table]
        return table, gr.Dropdown(choices=keys, value=None)

    def run_job(self, progress: Iterator[Progress]) -> Iterator[JobUpdate]:
        """A Library job's progress lines; the list is refreshed (and the upload box cleared) at its end."""
        for p in progress:
            if p.done:
                table, choices = self.docs_outputs()
                yield status_html(p), table, choices, None
            else:
                yield status_html(p), gr.skip(), gr.skip(), gr.skip()

    def add_documents(self, files: list[str] | None) -> Iterator[JobUpdate]:
        pairs = [(Path(f), Path(f).name) for f in files or []]
        try:
            yield from self.run_job(self.service.library.add(pairs))
        finally:  # the docs folder has its copy now; Gradio's temp copy must not pile up
            for f in files or []:
                discard_upload(f)

    def remove_document(self, key: str | None) -> Iterator[JobUpdate]:
        yield from self.run_job(self.service.library.remove(key))

    def list_documents(self) -> tuple[Any, Any]:
        return self.docs_outputs()

    def follow_folder(self, seen: str) -> tuple[Any, Any, Any]:
        # qa serve --watch: a new generation, a fresh list (seen: the one the page shows)
        live = self.service.generation()
        if live == seen:
            return gr.skip(), gr.skip(), gr.skip()
        table = self.service.documents_table()
        return table, gr.Dropdown(choices=[row[0] for row in table]), live
