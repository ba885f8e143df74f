"""Gold questions that prove grounding: loaders, metrics, runner and reports.

>>> from qa import Assistant                                           # doctest: +SKIP
>>> from eval import evaluate, load_gold                               # doctest: +SKIP
>>> run = evaluate(Assistant(".qa/index"), load_gold([Path("eval/gold/seed.jsonl")]))  # doctest: +SKIP
>>> run.metrics["answer_accuracy"]                                     # doctest: +SKIP

Imports stay light so that registering ``qa eval`` costs ``qa --help`` nothing.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_EXPORTS = {
    "GoldFormatError": "._datasets",
    "GoldItem": "._datasets",
    "GoldTurn": "._datasets",
    "RunResult": "._report",
    "TurnResult": "._metrics",
    "check_bounds": "._bounds",
    "evaluate": "._evaluate",
    "load_gold": "._runner",
    "run_gold": "._runner",
    "summarize": "._metrics",
    "write_reports": "._report",
}

__all__ = sorted(_EXPORTS)

if TYPE_CHECKING:
    from ._bounds import check_bounds
    from ._datasets import GoldFormatError, GoldItem, GoldTurn
    from ._evaluate import evaluate
    from ._metrics import TurnResult, summarize
    from ._report import RunResult, write_reports
    from ._runner import load_gold, run_gold


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'eval' has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value
