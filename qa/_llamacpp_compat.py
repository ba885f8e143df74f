"""The one place that reaches into llama-index's ``LlamaCPP`` for the model it loaded.

The prompt budget counts tokens with the model's own tokenizer (``llama_cpp.Llama.tokenize``).
llama-index-llms-llama-cpp 0.7 builds that ``Llama`` inside ``LlamaCPP.__init__``, keeps it
only in the private attribute ``_model``, and neither accepts a ready model nor exposes it;
a second, vocabulary-only ``Llama`` would read the GGUF file's vocabulary again, and our own
llama-index LLM around a ``Llama`` would re-implement the generation ``LlamaCPP`` does. So
the private read lives here, and tests/qa/test_llamacpp_compat.py fails, on the real
``LlamaCPP``, if the attribute is gone or is no longer the model that generates.
"""

from __future__ import annotations

from typing import Any

MODEL_ATTRIBUTE = "_model"  # LlamaCPP's private attribute holding its llama_cpp.Llama


def llama_model(llm: Any) -> Any | None:
    """The ``llama_cpp.Llama`` inside a llama-index ``LlamaCPP`` (anything with ``tokenize``), else None."""
    model = getattr(llm, MODEL_ATTRIBUTE, None)
    return model if model is not None and hasattr(model, "tokenize") else None
