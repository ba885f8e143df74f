"""The LLM generator: numbered sources in, streamed draft out, verified answer last.

Both backends are llama-index LLMs (``OpenAILike`` for any OpenAI-compatible server,
``LlamaCPP`` for a local GGUF file), so prompting, streaming, follow-up rewriting and
verification are written once. Backend failures become one-line :class:`QAError`
messages that never contain the API key.
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from index import CorpusIndex, tokens

from . import _prompts as prompts
from ._answerer import ExtractiveGenerator
from ._errors import QAError
from ._followup import needs_history
from ._generation import ABSTAIN_TEXT, Generation, GenerationRequest
from ._hostile import without_hostile
from ._llamacpp_compat import llama_model
from ._llm import LLMSettings, packaged_model_path
from ._retrieval import Hit
from ._terms import capitalised_terms, names_another_figure
from ._types import AnswerSentence, Turn
from ._verify import compose, split_claims, verify

_CHARS_PER_TOKEN = 3.5  # a conservative estimate when the backend's tokenizer is not at hand


class LLMGenerator:
    """Answers with an LLM over numbered sources, then verifies every sentence.

    >>> gen = LLMGenerator(LLMSettings("llamacpp", max_tokens=64))   # doctest: +SKIP
    >>> for item in gen.stream(request): ...                         # doctest: +SKIP
    """

    def __init__(self, settings: LLMSettings, llm: Any = None) -> None:
        self.settings = settings
        self.name = settings.backend
        self._llm = llm
        self._lock = threading.RLock()  # llama.cpp contexts are not thread-safe
        self._fallback = ExtractiveGenerator()

    def __repr__(self) -> str:  # the settings' repr already leaves the key out
        return f"LLMGenerator({self.settings!r})"

    # ------------------------------------------------------------ the model

    @property
    def llm(self) -> Any:
        """The llama-index LLM, built on first use."""
        if self._llm is None:
            with self._lock:
                if self._llm is None:
                    self._llm = self._load()
        return self._llm

    def warm_up(self) -> LLMGenerator:
        _ = self.llm
        return self

    def _load(self) -> Any:
        return (
            _load_llamacpp(self.settings) if self.settings.backend == "llamacpp" else self._load_openai_like()
        )

    def _load_openai_like(self) -> Any:
        """``OpenAILike`` on an ``openai`` client of our own, which also lists the server's models."""
        s = self.settings
        try:
            import openai
            from llama_index.llms.openai.utils import resolve_openai_credentials
            from llama_index.llms.openai_like import OpenAILike
        except ImportError as exc:
            raise QAError(f"the openai-like backend is not installed ({exc})") from exc
        # local servers need no key; the client insists on one. Resolved as OpenAILike resolves
        # its own (argument, then OPENAI_API_BASE...), so the client is the one it would build.
        api_key, api_base, _ = resolve_openai_credentials(api_key=s.api_key or "no-key", api_base=s.base_url)
        client = openai.OpenAI(
            api_key=api_key, base_url=api_base, max_retries=s.max_retries, timeout=s.timeout
        )
        llm = OpenAILike(
            model=s.model or "default",
            api_base=s.base_url,
            api_key=s.api_key or "no-key",
            is_chat_model=s.mode == "chat",
            context_window=s.context_window,
            max_tokens=s.max_tokens,
            temperature=s.temperature,
            timeout=s.timeout,
            max_retries=s.max_retries,
            openai_client=client,
        )
        if not s.model:  # llama.cpp's server ignores the name; vLLM and Ollama need a real one
            try:
                first = next(iter(client.models.list()), None)
            except Exception as exc:
                raise self._error(exc) from exc
            if first is not None:
                llm.model = first.id
        return llm

    # ------------------------------------------------------------ calling it

    def _count(self) -> Callable[[str], int]:
        model = llama_model(self.llm)
        if model is not None:
            return lambda text: len(model.tokenize(text.encode("utf-8"), add_bos=False, special=False))
        return lambda text: int(len(text) / _CHARS_PER_TOKEN) + 1

    def _deltas(self, prompt: str | list[tuple[str, str]], stop: list[str], max_tokens: int) -> Iterator[str]:
        """Text deltas from the backend, with its errors turned into one-line ``QAError``s."""
        llm = self.llm
        try:
            if isinstance(prompt, list):
                from llama_index.core.llms import ChatMessage

                messages = [ChatMessage(role=role, content=content) for role, content in prompt]
                stream = llm.stream_chat(messages, max_tokens=max_tokens, stop=stop)
                for chunk in stream:
                    if chunk.delta:
                        yield chunk.delta
                return
            if self.settings.backend == "llamacpp":  # LlamaCPP reads per-call options from here only
                llm.generate_kwargs.update(stop=stop, max_tokens=max_tokens)
                stream = llm.stream_complete(prompt, formatted=True)
            else:
                stream = llm.stream_complete(prompt, formatted=True, max_tokens=max_tokens, stop=stop)
            for chunk in stream:
                if chunk.delta:
                    yield chunk.delta
        except QAError:
            raise
        except Exception as exc:
            raise self._error(exc) from exc

    def _error(self, exc: BaseException) -> QAError:
        """One line a user can act on; the API key is scrubbed from anything quoted."""
        s = self.settings
        where = f"the LLM server at {s.base_url}" if s.backend == "openai-like" else "llama.cpp"
        status = getattr(exc, "status_code", None)
        name = type(exc).__name__
        if name in ("APIConnectionError", "ConnectError", "ConnectionError"):
            message = f"cannot reach {where}; is it running?"
        elif name == "APITimeoutError":
            message = f"{where} did not answer within {s.timeout:g}s"
        elif status in (401, 403):
            message = f"{where} refused the API key (HTTP {status}); set QA_LLM_API_KEY"
        elif status == 404:
            message = f"{where} has no model {s.model or 'default'!r} or no such endpoint (HTTP 404); check --llm-model and --llm-base-url"
        elif status is not None:
            message = f"{where} answered HTTP {status}: {_one_line(exc)}"
        else:
            message = f"{where} failed: {_one_line(exc)}"
        if s.api_key:
            message = message.replace(s.api_key, "***")
        return QAError(message)

    # ------------------------------------------------------------ generating

    def _fit_sources(self, request: GenerationRequest, chat: bool) -> tuple[list[str], list[int]]:
        """Chunk texts in rank order, as many as fit the context window beside the answer; with the
        answerer's figure check on, not those about another one of what the question numbers.
        Returns the texts and their chunks: source ``[n]`` is the n-th of each."""
        count = self._count()
        s = self.settings
        budget = (
            s.context_window - s.max_tokens - count(prompts.prompt_overhead(request.standalone, chat)) - 32
        )
        out: list[str] = []
        chunks: list[int] = []
        figures = self._fallback.settings.require_figures
        for hit in request.hits:
            text = prompts.flatten(_source_text(request.index, hit))
            if figures and names_another_figure(request.standalone, text):
                continue  # about another ticket, year...: it must not be the answer's source
            need = count(text) + 4
            if need > budget:
                if not out and budget > 64:  # always give the model something: the top chunk, cut
                    out.append(text[: int(budget * _CHARS_PER_TOKEN * 0.8)])
                    chunks.append(hit.chunk)
                break
            out.append(text)
            chunks.append(hit.chunk)
            budget -= need
        return out, chunks

    def stream(self, request: GenerationRequest) -> Iterator[str | Generation]:
        """Yield the draft as it is written, then the verified :class:`Generation`."""
        chat = self.settings.mode == "chat"
        sources, chunks = self._fit_sources(request, chat)
        if not sources:
            yield (fallback := self._fallback.generate(request)).text
            yield self._with_fallback(fallback, [], None, "nothing was retrieved")
            return
        question = request.standalone if request.standalone != request.question else request.question
        if chat:
            prompt: str | list[tuple[str, str]] = prompts.chat_messages(question, sources)
        else:
            prompt = prompts.completion_prompt(question, sources)
        parts: list[str] = []
        with self._lock:
            stop = prompts.CHAT_STOP if chat else prompts.COMPLETION_STOP
            for delta in self._deltas(prompt, stop, self.settings.max_tokens):
                if not parts:
                    delta = delta.lstrip()
                    if not delta:
                        continue
                parts.append(delta)
                yield delta
        draft = _trim("".join(parts))
        yield self._finish(request, draft, chunks)

    def generate(self, request: GenerationRequest) -> Generation:
        result = None
        for item in self.stream(request):
            if isinstance(item, Generation):
                result = item
        assert result is not None
        return result

    def _finish(self, request: GenerationRequest, draft: str, chunks: list[int]) -> Generation:
        claims = split_claims(draft)
        if not claims:
            return self._with_fallback(self._fallback.generate(request), [], draft, "the model wrote nothing")
        if all(c.abstains for c in claims):
            sentence = AnswerSentence(
                text=" ".join(c.text for c in claims), support=0.0, kept=True, reason="the model abstained"
            )
            return Generation(ABSTAIN_TEXT, True, [], [sentence], draft)
        checks = verify(
            claims,
            chunks,
            request.index,
            request.standalone,
            request.embedder,
            drop=self.settings.verify,
        )
        text, spans, verified, sentences = compose(checks)
        if not text:
            why = "no sentence of the model's answer is supported by the sources"
            return self._with_fallback(self._fallback.generate(request), sentences, draft, why)
        return Generation(text, False, spans, sentences, draft, verified=verified)

    def _with_fallback(
        self, fallback: Generation, dropped: list[AnswerSentence], draft: str | None, why: str
    ) -> Generation:
        """The extractive answer (or its abstention) in place of an unsupported draft."""
        sentences = list(dropped)
        for s in fallback.sentences or []:
            sentences.append(s.model_copy(update={"reason": f"extractive fallback: {why}"}))
        return Generation(
            fallback.text, fallback.abstained, fallback.spans, sentences, draft, generator="extractive"
        )

    # ------------------------------------------------------------ follow-ups

    def condense(self, question: str, history: Sequence[Turn | dict | str]) -> str | None:
        """The follow-up rewritten by the LLM as a standalone question, or None to use the rules.

        As llama-index's CondensePlusContext does, but only for questions that need the
        history, and the rewrite is refused unless it keeps the question's own names and
        figures: a small model's paraphrase must not lose what the user asked about.
        """
        turns = [_as_pair(t) for t in history]
        turns = [t for t in turns if t[0]]
        if not turns or not needs_history(question):
            return None
        if self.settings.mode == "chat":
            prompt: str | list[tuple[str, str]] = prompts.condense_messages(turns[-4:], question)
        else:
            prompt = prompts.condense_prompt(turns[-4:], question)
        with self._lock:
            text = "".join(self._deltas(prompt, prompts.CONDENSE_STOP, 64))
        rewrite = prompts.flatten(text.split("\n")[0]).strip(" \"'")
        if not rewrite or len(rewrite) > 300 or rewrite.lower() == question.lower():
            return None
        q_tokens = set(tokens(question))
        must = {t for t in q_tokens if t[0].isdigit()} | (capitalised_terms(question) & q_tokens)
        if not must <= set(tokens(rewrite)):
            return None
        return rewrite


def _load_llamacpp(s: LLMSettings) -> Any:
    """llama-index's ``LlamaCPP`` over a GGUF file (the packaged Gemma 3 270M by default)."""
    path = Path(s.model).expanduser() if s.model else packaged_model_path(s.cache_dir)
    # llama.cpp's OpenMP threads spin-wait at every barrier; on a busy CPU a descheduled
    # thread then stalls the others (2 threads decoding at 1.4 tok/s spinning, 17 tok/s
    # passive). libgomp reads this once, when it loads: with torch, set_offline_env did.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    try:
        from llama_index.llms.llama_cpp import LlamaCPP
    except ImportError as exc:
        raise QAError(f"the llamacpp backend is not installed ({exc})") from exc
    model_kwargs: dict[str, Any] = {"verbose": False}
    if s.n_threads:
        model_kwargs.update(n_threads=s.n_threads, n_threads_batch=s.n_threads)
    try:
        with _quiet_stderr():  # llama.cpp logs context setup to fd 2 even when not verbose
            return LlamaCPP(
                model_path=str(path),
                temperature=s.temperature,
                max_new_tokens=s.max_tokens,
                context_window=s.context_window,
                model_kwargs=model_kwargs,
                generate_kwargs={"repeat_penalty": 1.1},
                verbose=False,
            )
    except (ValueError, RuntimeError, OSError) as exc:
        raise QAError(f"cannot load GGUF model {path}: {_one_line(exc)}") from exc


def _source_text(index: CorpusIndex, hit: Hit) -> str:
    """A retrieved passage as the model may read it: without sentences that talk to the assistant."""
    if hit.chunk >= 0:
        rows = index.chunk_sentences(hit.chunk)
    else:
        rows = index.span_sentences(hit.doc, hit.start, hit.end)
    text = index.documents[hit.doc].text
    return without_hostile(text, hit.start, hit.end, [(int(r[1]), int(r[2])) for r in rows])


def _as_pair(turn: Turn | dict | str) -> tuple[str, str]:
    if isinstance(turn, str):
        return turn, ""
    if isinstance(turn, dict):
        return str(turn.get("question") or turn.get("q") or ""), str(
            turn.get("answer") or turn.get("a") or ""
        )
    return turn.question, turn.answer


def _trim(draft: str) -> str:
    """Cut what a completion model writes past its answer (the next example's headers)."""
    draft = re.split(r"\n\s*(?:Question|Sources|Answer)\s*:", draft, maxsplit=1)[0]
    return draft.strip()


@contextlib.contextmanager
def _quiet_stderr() -> Iterator[None]:
    """Silence native code writing to file descriptor 2 (Python's own errors still raise)."""
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 200 else text[:197] + "..."
