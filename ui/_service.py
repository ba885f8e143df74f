"""The shared half of the app: one Assistant, one Library, one answering lock.

The web chat (``ui._app``), the HTTP API (``ui._api``) and the OpenAI-compatible routes
(``ui._openai``) all answer through one :class:`ChatService`; it knows nothing of Gradio.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ._docs import Library

if TYPE_CHECKING:
    from qa import Answer

SEED_KEY = "000_5c5733213d75056c.txt"
SEED_EXAMPLES = (
    "How much Kazakh oil has been exported via the Baku-Tbilisi-Ceyhan pipeline since 2023?",
    "Where will the hot-briquetted-iron plant be located?",
    "How many companies with Kazakh capital operate in Azerbaijan?",
    "Where was the 12th OTS Summit held?",
)


class ChatService:
    """The shared half of the app: one Assistant, one Library, one answering lock."""

    def __init__(
        self,
        docs_dir: Path,
        index_dir: Path | None,
        *,
        top_k: int,
        max_upload_mb: float | None,
        embedder: Any,
        stream_delay: float,
        store: Any = None,
        max_question_chars: int | None = None,
        settings: Any = None,
    ) -> None:
        """``settings`` (a ``qa.Settings``, read from the environment once here when None) fill
        ``max_upload_mb`` and ``max_question_chars`` when they are None, and what the Assistant
        and the indexing runs are not given."""
        from qa import Assistant, Settings

        self.settings = settings if settings is not None else Settings.load()
        self.docs_dir = docs_dir
        self.top_k = top_k
        self.stream_delay = stream_delay
        self.max_question_chars = max_question_chars or self.settings.max_question_chars
        max_upload_mb = max_upload_mb if max_upload_mb is not None else self.settings.max_upload_mb
        self.bot = Assistant(
            index_dir,
            top_k=top_k,
            embedder=embedder,
            store=store,
            max_question_chars=self.max_question_chars,
            settings=self.settings,
        )
        self.startup_notes: list[str] = []  # files taken out or skipped at startup, one line each
        self.store = store
        self.index_dir = self.bot.index_dir  # the default ($QA_INDEX_DIR or ./.qa/index) resolved
        self._embedder = embedder
        # One answer at a time: the model is CPU-bound anyway, and the Assistant must not
        # reload a new index generation in the middle of another thread's answer.
        self._lock = threading.Lock()
        self.library = Library(
            docs_dir,
            self.index_dir,
            open_index=self.live_index,
            max_upload_mb=max_upload_mb,
            store=store,
            settings=self.settings,
        )
        self.watcher: Any = None  # an index.FolderWatcher while ``qa serve --watch`` runs

    def live_index(self) -> Any | None:
        """The current index generation, or None before the first indexing run."""
        from qa import QAError

        if not (self.index_dir / "CURRENT").exists():
            return None
        with self._lock:
            try:
                return self.bot.index
            except QAError:
                return None

    def sync(self, rebuild: bool = False) -> Any:
        """Index the docs folder at startup, with the answering embedder (nothing else runs yet)."""
        self.docs_dir.mkdir(parents=True, exist_ok=True)
        report = self.library.sync(rebuild=rebuild, embedder=self._embedder, notes=self.startup_notes)
        self.startup_notes += [f"skipped {Path(path).name}: {why}" for path, why in report.skipped]
        return report

    def generation(self) -> str:
        """The live generation's name ("" before the first run): the page refreshes its document
        list when this changes."""
        try:
            return (self.index_dir / "CURRENT").read_text(encoding="utf-8").strip()
        except OSError:
            return ""

    def start_watching(self, log: Callable[[str], None], warn: Callable[[str], None]) -> Any:
        """Re-index the docs folder after each change to it, in a background thread; ``log`` gets
        a line per change and the summary, ``warn`` a line per problem. Updates go through the
        Library, one at a time with uploads and removals, on the indexing embedder."""
        from index import FolderWatcher

        def update() -> Any:
            notes: list[str] = []
            report = self.library.sync(notes=notes)  # waits for an upload's run; IndexBusy: retried
            for line in notes:
                warn(line)
            return report

        def updated(change: Any) -> None:
            for line in change.changes:
                log(line)
            log(change.report.summary())
            self.live_index()  # load the new generation now, not in the next question's time

        self.watcher = FolderWatcher(
            self.docs_dir, update, index_dir=self.index_dir, on_update=updated, warn=warn
        ).start()
        return self.watcher

    def stop_watching(self) -> None:
        if self.watcher is not None:
            self.watcher.stop()
            self.watcher = None

    def n_documents(self) -> int:
        index = self.live_index()
        return len(index.documents) if index is not None else 0

    def answer(
        self, question: str, history: Sequence[Any], top_k: int | None, generator: str | None
    ) -> Answer:
        """This call's answer with its own generator and top-k: nothing shared changes per call."""
        with self._lock:
            return self.bot.answer(
                question, history, top_k=int(top_k or self.top_k), generator=generator or None
            )

    def stream(
        self, question: str, history: Sequence[Any], top_k: int | None, generator: str | None
    ) -> Iterator[str | Answer]:
        """An LLM's text deltas as they come, then the verified :class:`Answer`.

        Holds the answering lock throughout: one model, one answer at a time.
        """
        with self._lock:
            yield from self.bot.stream(
                question, history, top_k=int(top_k or self.top_k), generator=generator or None
            )

    def documents_table(self) -> list[list[Any]]:
        return [
            [d.key, d.title, d.chunks, d.pages if d.pages is not None else "", d.chars]
            for d in self.library.documents()
        ]

    def examples(self) -> list[dict[str, str]]:
        keys = {d.key for d in self.library.documents()}
        if any(k.rsplit("/", 1)[-1] == SEED_KEY for k in keys):
            return [{"text": q} for q in SEED_EXAMPLES]
        return []
