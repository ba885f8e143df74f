"""Every ``QA_*`` environment variable, in one typed :class:`Settings` object.

The environment is read here and nowhere else: the entry points (the ``qa`` command line,
``qa.Assistant``, ``qa.answer``, ``qa.index_documents``, ``ui.serve``) load a ``Settings``
once and pass it, or the values it holds, down as arguments. ``index`` is the lowest
stage, so the class lives here and holds the variables of every stage (configuration, not
behaviour: nothing here imports the stages above). Explicit arguments win over settings,
settings win over the built-in defaults, and a library call given no settings uses the
built-in defaults.

>>> Settings.load().index_dir                      # doctest: +SKIP
PosixPath('/srv/qa-index')                         # from QA_INDEX_DIR=/srv/qa-index

``python -m index._settings`` prints the README's table of them.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any, Literal

from pydantic import AliasChoices, Field, SecretStr, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from ._errors import IndexError_

ENV_PREFIX = "QA_"
SECRETS = ("auth", "milvus_token", "llm_api_key")  # SecretStr fields: never shown


class SettingsError(IndexError_):
    """An environment variable holds a value of the wrong kind; ``str()`` is one line naming it."""


class Settings(BaseSettings):
    """The ``QA_*`` environment variables; a field ``x`` is the variable ``QA_X``.

    An empty variable counts as unset. Immutable, so one object can be shared by every
    request of a server. Secrets (``auth``, ``milvus_token``, ``llm_api_key``) are
    ``SecretStr``: hidden in ``repr`` and in dumps.
    """

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, env_ignore_empty=True, frozen=True, populate_by_name=True
    )

    # -- index: where the index lives and where its vectors are ---------------------------
    index_dir: Path | None = Field(
        default=None,
        description="index folder of every command without `--index-dir` (unset: `./.qa/index` "
        "under the current directory)",
    )
    store: Literal["faiss", "milvus"] | None = Field(
        default=None,
        description="`--store`: where vectors live for a new index or a rebuild, `faiss` or `milvus` "
        "(unset: faiss; an existing index keeps the store it was built with)",
    )
    milvus_uri: str | None = Field(
        default=None,
        description="`--milvus-uri`: a `.db` file (milvus-lite, in the qa process) or "
        "`http://host:19530` (a Milvus server) (unset: `milvus.db` in the index folder, or what "
        "the index's manifest records)",
    )
    milvus_collection: str | None = Field(
        default=None,
        description="`--milvus-collection`: collection-name prefix of a new Milvus index (unset: "
        "derived from the index folder)",
    )
    milvus_token: SecretStr | None = Field(
        default=None,
        description="token of a Milvus server with authentication (`user:password`); read from "
        "here only, never printed or stored",
    )
    query_backend: Literal["auto", "numpy", "sentence-transformers"] = Field(
        default="auto",
        description="how questions are embedded: `auto` (in numpy when the model allows, so no "
        "torch), `numpy`, or `sentence-transformers`",
    )

    # -- qa: who writes the answer ---------------------------------------------------------
    llm: Literal["extractive", "openai-like", "llamacpp"] = Field(
        default="extractive",
        description="`--llm` of `qa ask`, `chat`, `mcp` and `eval`: who writes the answer",
    )
    llm_base_url: str | None = Field(
        default=None,
        description="`--llm-base-url`: the OpenAI-compatible server of `--llm openai-like`, e.g. "
        "`http://127.0.0.1:8080/v1`",
    )
    llm_model: str | None = Field(
        default=None,
        description="model name on that server (unset: the first one it lists)",
    )
    llm_api_key: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices("QA_LLM_API_KEY", "OPENAI_API_KEY"),
        description="that server's API key (unset: `$OPENAI_API_KEY`); never printed or logged",
    )
    llm_gguf: Path | None = Field(
        default=None,
        description="GGUF file of `--llm llamacpp` (unset: the packaged Gemma 3 270M)",
    )
    cache_dir: Path | None = Field(
        default=None,
        description="where the packaged GGUF model is assembled, under `models/` (unset: "
        "`$XDG_CACHE_HOME/qa`, else `~/.cache/qa`)",
    )

    # -- ui: qa serve ----------------------------------------------------------------------
    docs_dir: Path | None = Field(
        default=None,
        description="documents folder of `qa serve` without `--docs` (unset: the folder the index "
        "was built from, else `./docs`)",
    )
    auth: SecretStr | None = Field(
        default=None,
        description="`user:password`: the login of `qa serve`'s chat and HTTP API, when "
        "`--auth-file` is not given (unset: no login)",
    )
    max_upload_mb: float = Field(
        default=20.0,
        description="`--max-upload-mb`: largest upload `qa serve` accepts per file, in MB",
    )
    max_question_chars: int = Field(
        default=2000,
        description="`--max-question-chars`: longest question `qa serve` accepts, in characters",
    )

    @classmethod
    def load(cls, **overrides: Any) -> Settings:
        """The environment now (``overrides`` win); :class:`SettingsError` names a bad variable."""
        try:
            return cls(**overrides)
        except ValidationError as exc:
            raise SettingsError(_describe(exc)) from None

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> Settings:
        """The settings the command line loaded (``args.settings``), else the environment now."""
        settings = getattr(args, "settings", None)
        return settings if isinstance(settings, Settings) else cls.load()

    @classmethod
    def variables(cls) -> dict[str, tuple[Any, str]]:
        """``{"QA_X": (default, description)}`` for every field, in declaration order."""
        return {env_name(name): (f.default, f.description or "") for name, f in cls.model_fields.items()}

    @classmethod
    def markdown_table(cls) -> str:
        """The README's "Settings" table."""
        rows = ["| variable | default | what it does |", "|---|---|---|"]
        for name, (default, description) in cls.variables().items():
            rows.append(f"| `{name}` | {show_default(default)} | {description} |")
        return "\n".join(rows)

    def secret(self, name: str) -> str | None:
        """The plain value of a secret field (one of ``SECRETS``), or None when unset."""
        value = getattr(self, name)
        return value.get_secret_value() if value is not None else None


def env_name(field: str) -> str:
    return ENV_PREFIX + field.upper()


def show_default(default: Any) -> str:
    """A default as the README's table writes it: ``unset`` for None, else `value`."""
    if default is None:
        return "unset"
    if isinstance(default, float):
        return f"`{default:g}`"
    return f"`{default}`"


def _describe(exc: ValidationError) -> str:
    """One line: the first bad variable, its value (unless secret) and what it should be."""
    error = exc.errors(include_url=False)[0]
    loc = str(error["loc"][0]) if error["loc"] else ""
    field = loc if loc in Settings.model_fields else _ALIASES.get(loc.lower(), "")
    name = loc.upper() if loc.lower() in _ALIASES else env_name(field)
    message = error["msg"]
    message = message[:1].lower() + message[1:]
    if not field or field in SECRETS:
        return f"{name} is not valid: {message}"  # a secret's value is never shown
    return f"{name}={error.get('input')!r} is not valid: {message}"


_ALIASES = {"qa_llm_api_key": "llm_api_key", "openai_api_key": "llm_api_key"}


if __name__ == "__main__":
    print(Settings.markdown_table())
