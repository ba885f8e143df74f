"""The generator factory: a name (or options) in, a generator out.

It sits above every generator module (``_answerer`` for the reader-based default,
``_llmgen`` for the LLM backends), which share their types through ``_generation``
and never import this module, so there is no import cycle among them.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from ._answerer import ExtractiveGenerator
from ._errors import QAError
from ._generation import GENERATOR_NAMES, Generator
from ._llm import DEFAULT_CONTEXT, DEFAULT_MAX_TOKENS, LLMSettings

if TYPE_CHECKING:
    from index import Settings

__all__ = ["generator_from_args", "get_generator", "llm_generator", "make_generator"]


def get_generator(
    name: str | Generator = "extractive", *, settings: Settings | None = None, **options
) -> Generator:
    """A generator by name (``options`` go to the LLM backends, ``settings`` fill what they do
    not give), or ``name`` itself if it is one."""
    if not isinstance(name, str):
        return name
    if name == "extractive":
        return ExtractiveGenerator(**options)
    if name in GENERATOR_NAMES:
        return make_generator(name, settings=settings, **options)
    raise ValueError(f"unknown answer generator {name!r}; available: {', '.join(GENERATOR_NAMES)}")


def make_generator(backend: str, *, llm=None, settings: Settings | None = None, **options) -> Generator:
    """An LLM generator for ``backend``; options are :class:`LLMSettings` fields, and what they
    leave out comes from ``settings`` (an :class:`index.Settings`; the environment now when None:
    ``QA_LLM_BASE_URL``, ``QA_LLM_MODEL``, ``QA_LLM_API_KEY``, ``QA_LLM_GGUF``).

    ``llm`` may be any llama-index LLM to use instead of building one (its name stays ``backend``).

    >>> gen = make_generator("llamacpp", max_tokens=64)      # doctest: +SKIP
    >>> Assistant(".qa/index", generator=gen).answer("...")  # doctest: +SKIP
    """
    from index import Settings

    from ._llmgen import LLMGenerator

    try:
        llm_settings = LLMSettings.from_settings(
            backend, settings if settings is not None else Settings.load(), **options
        )
    except TypeError as exc:
        raise QAError(f"bad LLM option: {exc}") from exc
    if llm is None:
        llm_settings.check()
    return LLMGenerator(llm_settings, llm=llm)


llm_generator = make_generator  # the public name: ``qa.llm_generator("llamacpp", max_tokens=128)``


def generator_from_args(args: argparse.Namespace, settings: Settings | None = None) -> Generator | str:
    """The generator the parsed options ask for, the rest from ``settings`` (else the settings the
    command line loaded, else the environment now); raises :class:`QAError` on a bad configuration."""
    from index import Settings

    backend = getattr(args, "llm", None) or "extractive"
    if backend == "extractive":
        return "extractive"
    return make_generator(
        backend,
        settings=settings if settings is not None else Settings.from_args(args),
        model=getattr(args, "llm_model", None),
        base_url=getattr(args, "llm_base_url", None),
        mode=getattr(args, "llm_mode", None),
        max_tokens=getattr(args, "max_tokens", DEFAULT_MAX_TOKENS),
        context_window=getattr(args, "n_ctx", DEFAULT_CONTEXT),
        n_threads=getattr(args, "llm_threads", None),
        verify=not getattr(args, "no_verify", False),
    )
