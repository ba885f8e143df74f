"""qa/_llamacpp_compat.py reads llama-index's private ``LlamaCPP._model``: these fail, on the
real ``LlamaCPP`` over the packaged GGUF, if that is no longer the ``llama_cpp.Llama`` that
generates, or its ``tokenize`` changed the signature the prompt budget calls it with."""

from __future__ import annotations

import inspect

import pytest

PROMPT = "Question: Where was the 12th OTS Summit held?\nAnswer:"


@pytest.mark.llm  # llama-cpp-python, llama-index's LlamaCPP and the packaged model
def test_the_private_model_is_the_llama_that_generates(llamacpp_gen):
    from llama_cpp import Llama
    from llama_index.llms.llama_cpp import LlamaCPP

    from qa._llamacpp_compat import llama_model

    llm = llamacpp_gen.llm
    model = llama_model(llm)
    assert isinstance(llm, LlamaCPP) and isinstance(model, Llama)
    params = inspect.signature(model.tokenize).parameters
    assert list(params)[:3] == ["text", "add_bos", "special"]
    assert model.n_ctx() == llm.metadata.context_window == 2048  # LLM_OPTIONS' context window
    saved = dict(llm.generate_kwargs)  # the fixture is shared: leave its options as they were
    try:
        llm.generate_kwargs.update(max_tokens=1, stop=[])
        usage = llm.complete(PROMPT, formatted=True).raw["usage"]
    finally:
        llm.generate_kwargs.clear()
        llm.generate_kwargs.update(saved)
    counted = len(model.tokenize(PROMPT.encode("utf-8"), add_bos=False, special=False))
    assert counted > 10 and 0 <= usage["prompt_tokens"] - counted <= 2  # the same tokens, BOS/EOS aside


def test_anything_else_counts_by_characters():
    from qa._llamacpp_compat import llama_model

    class NoModel:
        pass

    class NoTokenizer:
        _model = object()

    assert llama_model(NoModel()) is None and llama_model(NoTokenizer()) is None
