"""``Assistant``: load the models and the index once, answer many questions fast."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from index import (
    CorpusIndex,
    Embedder,
    IndexError_,
    Settings,
    StoreConfig,
    default_index_dir,
    set_offline_env,
)

from ._build_answer import build_answer
from ._clarify import clarify
from ._errors import QAError
from ._followup import condense, context_queries
from ._generation import ABSTAIN_TEXT, Generation, GenerationRequest, Generator, StreamingGenerator
from ._generators import get_generator
from ._retrieval import Hit, HybridRetriever, Retriever, fuse
from ._types import Answer, Turn

DEFAULT_TOP_K = 5
MAX_QUESTION_CHARS = 2000  # characters; a question is a sentence or two, not a document
FUSION_DEPTH = 30  # passages per query when a follow-up's queries are fused


class Assistant:
    """Answers questions over one index, with citations.

    ``generator`` is ``"extractive"`` (the default: quotes, no LLM), ``"llamacpp"`` (a
    local GGUF model; the packaged Gemma 3 270M unless ``QA_LLM_GGUF`` names one),
    ``"openai-like"`` (any OpenAI-compatible server, from ``QA_LLM_BASE_URL``,
    ``QA_LLM_MODEL`` and ``QA_LLM_API_KEY``), or a generator instance such as
    ``qa.llm_generator("llamacpp", max_tokens=128)``.

    ``settings`` (an :class:`index.Settings`) fill what the arguments leave out: the index
    folder (``QA_INDEX_DIR``), the Milvus token, the query backend and the LLM backends'
    configuration. Without them the environment is read once, here.

    >>> bot = Assistant(".qa/index")                      # doctest: +SKIP
    >>> a = bot.answer("Where was the 12th OTS Summit held?")  # doctest: +SKIP
    >>> a.text, a.citations[0].quote                     # doctest: +SKIP
    """

    def __init__(
        self,
        index_dir: str | Path | None = None,
        *,
        top_k: int = DEFAULT_TOP_K,
        generator: str | Generator = "extractive",
        embedder: Embedder | None = None,
        retriever: Callable[[CorpusIndex], Retriever] = HybridRetriever,
        store: StoreConfig | str | None = None,
        max_question_chars: int = MAX_QUESTION_CHARS,
        settings: Settings | None = None,
    ) -> None:
        """``store``: None reads the index's own record of where its vectors live; a
        StoreConfig (or ``"faiss"``/``"milvus"``) insists on a kind or points at a moved URI.
        ``max_question_chars``: longer questions are refused in one line (a question of a
        million characters would hold every other user of a shared server up for seconds)."""
        set_offline_env()
        self.settings = settings if settings is not None else Settings.load()
        self.index_dir = Path(index_dir) if index_dir else default_index_dir(self.settings)
        self.store = StoreConfig.coerce(store).with_settings(self.settings)
        self.top_k = top_k
        self.max_question_chars = max_question_chars
        try:
            self.generator = get_generator(generator, settings=self.settings)
        except ValueError as exc:
            raise QAError(str(exc)) from exc
        self._embedder = embedder
        self._index: CorpusIndex | None = None
        self._make_retriever = retriever
        self._retriever: Retriever | None = None
        self._lock = threading.Lock()
        self._generators: dict[str, Generator] = {}  # per-call generators by name, built once each
        self._generators_lock = threading.Lock()

    # -- loading -----------------------------------------------------------------

    @property
    def index(self) -> CorpusIndex:
        """The live index; reloaded when another process committed a new generation."""
        current = self.index_dir / "CURRENT"
        try:
            live = current.read_text(encoding="utf-8").strip()
        except OSError:
            live = ""
        if self._index is None or self._index.path.name != live:
            with self._lock:
                if self._index is None or self._index.path.name != live:
                    try:
                        fresh = CorpusIndex.open(self.index_dir, store=self.store, settings=self.settings)
                    except Exception as exc:  # surfaced as one line to the user
                        raise QAError(str(exc)) from exc
                    self._index = fresh  # the old one may still be answering in another thread
                    self._retriever = self._make_retriever(self._index)
        return self._index

    def _snapshot(self) -> tuple[CorpusIndex, Retriever]:
        """The index and its retriever as one pair, so a reload between the two reads cannot mix them."""
        _ = self.index
        with self._lock:
            assert self._index is not None and self._retriever is not None
            return self._index, self._retriever

    @property
    def embedder(self) -> Embedder:
        if self._embedder is None:
            self._embedder = Embedder.shared(self.index.embed_model, self.settings.query_backend)
        return self._embedder

    def warm_up(self) -> Assistant:
        """Load the index, the embedder and the generator's model now rather than on first use."""
        _ = self.index
        self.embedder.embed_query("warm up")
        warm = getattr(self.generator, "warm_up", None)
        if callable(warm):
            warm()
        return self

    def retrieve(self, question: str, *, top_k: int | None = None, query_vec=None) -> list[Hit]:
        """The passages an answer to a standalone ``question`` would draw on, without answering:
        for tuning and inspecting retrieval (``eval.calibrate``) through the same retriever.

        >>> [h.chunk for h in Assistant(".qa/index").retrieve("Where is Shamkir?")]  # doctest: +SKIP
        [3, 0, 5, 1, 2]
        """
        _, retriever = self._snapshot()
        vec = self.embedder.embed_query(question) if query_vec is None else query_vec
        return retriever.retrieve(question, vec, top_k or self.top_k)

    # -- answering ---------------------------------------------------------------

    def generator_for(self, generator: str | Generator | None = None) -> Generator:
        """One call's generator: this Assistant's own for None or its name, an instance as it is,
        another name built once by ``get_generator`` and kept; calls never change ``self.generator``
        or each other's. ``QAError`` when the name is unknown or cannot run here (not installed)."""
        if generator is None or generator == self.generator.name:
            return self.generator
        if not isinstance(generator, str):
            return generator
        with self._generators_lock:
            if generator not in self._generators:
                try:
                    self._generators[generator] = get_generator(generator, settings=self.settings)
                except ValueError as exc:
                    raise QAError(str(exc)) from exc
            return self._generators[generator]

    def answer(
        self,
        question: str,
        history: Sequence[Turn | dict | str] | None = None,
        *,
        top_k: int | None = None,
        generator: str | Generator | None = None,
    ) -> Answer:
        final: Answer | None = None
        for item in self.stream(question, history, top_k=top_k, generator=generator):
            if isinstance(item, Answer):
                final = item
        assert final is not None
        return final

    def stream(
        self,
        question: str,
        history: Sequence[Turn | dict | str] | None = None,
        *,
        top_k: int | None = None,
        generator: str | Generator | None = None,
    ) -> Iterator[str | Answer]:
        """Answer while the generator writes: yields text deltas (``str``), then one final ``Answer``.

        The deltas are the generator's *draft*, shown to the user as it is produced; the
        final ``Answer`` is the verified one, whose ``text`` may differ: unsupported
        sentences dropped, citations re-pointed and renumbered (see ``Answer.sentences``
        and ``Answer.draft``). The extractive generator yields its whole text at once.
        The question is checked before this returns, so an empty one raises ``QAError``
        here, not on the first ``next()``; backend failures raise ``QAError`` while iterating.
        ``generator`` picks this call's generator (see :meth:`generator_for`; checked here too).

        >>> for item in bot.stream("Where was the 12th OTS Summit held?"):  # doctest: +SKIP
        ...     if isinstance(item, str): print(item, end="", flush=True)
        ...     else: final = item
        """
        question = self.check_question(question)
        return self._stream(question, history, top_k, self.generator_for(generator))

    def check_question(self, question: str) -> str:
        """The question as it will be asked (stripped), or ``QAError`` in one line when it is empty
        or longer than ``max_question_chars``; a server can check before queueing it."""
        question = (question or "").strip()
        if not question:
            raise QAError("the question is empty; ask something about your documents")
        if len(question) > self.max_question_chars:
            raise QAError(
                f"the question is {len(question):,} characters long; the limit is "
                f"{self.max_question_chars:,}: ask about one thing at a time"
            )
        return question

    def request(
        self,
        question: str,
        history: Sequence[Turn | dict | str] | None = None,
        *,
        top_k: int | None = None,
        timings: dict[str, float] | None = None,
        generator: str | Generator | None = None,
    ) -> GenerationRequest:
        """What a generator gets for this turn: the standalone reading, the passages retrieved
        for the turn in its context, and the previous question for the reader. The web chat,
        the CLI and ``eval.fit_answerer`` (which fits the decision on exactly these) share it."""
        timings = {} if timings is None else timings
        t0 = time.perf_counter()
        index, retriever = self._snapshot()
        generator = self.generator_for(generator)
        standalone = None
        if history and isinstance(generator, StreamingGenerator):
            standalone = generator.condense(question, history)
        standalone = standalone or condense(question, history)
        queries = list(dict.fromkeys([standalone, *context_queries(question, history)]))
        t1 = time.perf_counter()
        vectors = [self.embedder.embed_query(q) for q in queries]
        t2 = time.perf_counter()
        k = top_k or self.top_k
        try:  # a remote store can fail mid-question: one line, not a traceback
            if len(queries) == 1:
                hits = retriever.retrieve(standalone, vectors[0], k)
            else:
                depth = max(FUSION_DEPTH, k)
                hits = fuse(
                    [retriever.retrieve(q, v, depth) for q, v in zip(queries, vectors, strict=True)], k
                )
        except IndexError_ as exc:
            raise QAError(str(exc)) from exc
        t3 = time.perf_counter()
        timings.update(condense=t1 - t0, embed=t2 - t1, retrieve=t3 - t2)
        # the reader was trained on a turn beside the question before it (question | previous),
        # 15% of the time an unrelated one, so it reads a follow-up in context without being
        # pulled off a new topic (on MTRAG's non-report turns: fewer false declines, 0.35 -> 0.33)
        previous = _previous_turn(history)
        return GenerationRequest(question, standalone, vectors[0], hits, index, self.embedder, previous)

    def _stream(
        self,
        question: str,
        history: Sequence[Turn | dict | str] | None,
        top_k: int | None,
        generator: Generator,
    ) -> Iterator[str | Answer]:
        timings: dict[str, float] = {}
        t0 = time.perf_counter()
        request = self.request(question, history, top_k=top_k, timings=timings, generator=generator)
        t3 = time.perf_counter()
        asked = clarify(question, history, request.hits, request.index)
        if asked is not None:  # ask back rather than guess a reading or decline
            clarification, text = asked
            timings.update(first_token=time.perf_counter() - t0, total=time.perf_counter() - t0)
            yield text
            gen = Generation(text, False, generator=generator.name)
            yield self.build_answer(
                question,
                request.standalone,
                request.hits,
                gen,
                generator.name,
                timings,
                request.index,
                clarification,
            )
            return
        gen: Generation | None = None
        if isinstance(generator, StreamingGenerator):
            for item in generator.stream(request):
                if isinstance(item, Generation):
                    gen = item
                elif item:
                    timings.setdefault("first_token", time.perf_counter() - t0)
                    yield item
        else:
            gen = generator.generate(request)
            timings["first_token"] = time.perf_counter() - t0
            yield gen.text if not gen.abstained else (gen.text or ABSTAIN_TEXT)
        assert gen is not None, "a streaming generator must end with a Generation"
        t4 = time.perf_counter()
        timings.update(generate=t4 - t3, total=t4 - t0)
        yield self.build_answer(
            question, request.standalone, request.hits, gen, generator.name, timings, request.index
        )

    # the Answer every surface gets from one generation (eval.fit_answerer scores through it too)
    build_answer = staticmethod(build_answer)


def _previous_turn(history: Sequence[Turn | dict | str] | None) -> str | None:
    """The last earlier question, which the reader takes beside a follow-up."""
    if not history:
        return None
    last = history[-1]
    if isinstance(last, str):
        return last or None
    if isinstance(last, dict):
        return str(last.get("question") or last.get("q") or "") or None
    return last.question or None


_DEFAULT: dict[tuple, Assistant] = {}


def answer(
    question: str,
    history: Sequence[Turn | dict | str] | None = None,
    index_dir: str | Path | None = None,
    **options,
) -> Answer:
    """Answer one question from the index, citing the passages used.

    Keeps one :class:`Assistant` per index folder, settings and options, so repeated calls are
    fast; ``settings`` (an :class:`index.Settings`) default to the environment, read per call.

    >>> from qa import answer                                # doctest: +SKIP
    >>> a = answer("Where will the hot-briquetted-iron plant be located?")  # doctest: +SKIP
    >>> print(a.text)                                        # doctest: +SKIP
    """
    top_k = options.pop("top_k", None)
    settings = options.pop("settings", None)
    settings = settings if settings is not None else Settings.load()
    folder = Path(index_dir) if index_dir else default_index_dir(settings)
    key = (str(folder), settings, tuple(sorted(options.items())))
    bot = _DEFAULT.get(key)
    if bot is None:
        bot = _DEFAULT[key] = Assistant(folder, settings=settings, **options)
    return bot.answer(question, history, top_k=top_k)


def index_documents(docs: str | Path, index_dir: str | Path | None = None, **options):
    """Index (or incrementally re-index) ``docs``; the one entry point the UI and eval use.

    ``settings`` (an :class:`index.Settings`, the environment now when not given) supply the
    index folder (``QA_INDEX_DIR``), a new Milvus store's URI and the Milvus token.

    >>> from qa import index_documents                      # doctest: +SKIP
    >>> print(index_documents("seeds/").summary())          # doctest: +SKIP
    """
    from index import IndexConfig, update_index

    from ._reader import reader_version

    settings = options.pop("settings", None)
    settings = settings if settings is not None else Settings.load()
    config_keys = {"embed_model", "chunk_size", "chunk_overlap", "batch_size"}
    config = IndexConfig(
        **{k: options.pop(k) for k in list(options) if k in config_keys}, reader=reader_version()
    )
    return update_index(docs, index_dir, config, settings=settings, **options)
