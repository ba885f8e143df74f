"""One call from an Assistant and gold items to a scored run."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

from qa import Assistant

from ._datasets import GoldItem
from ._metrics import summarize
from ._report import RunResult
from ._runner import run_gold, turn_count


def evaluate(
    bot: Assistant,
    items: Sequence[GoldItem],
    *,
    name: str = "qa",
    progress: bool = False,
    config: dict[str, Any] | None = None,
) -> RunResult:
    """Ask every gold question with ``bot`` and return metrics plus per-item results."""
    bot.warm_up()  # model load time is not answer latency
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=turn_count(items), desc=f"eval {name}", unit="q", file=sys.stderr)
    results = run_gold(bot, items, on_turn=(lambda _r: bar.update()) if bar else None)
    if bar:
        bar.close()
    cfg = {
        "system": name,
        "generator": bot.generator.name,
        "top_k": bot.top_k,
        "embed_model": bot.index.embed_model,
        **(config or {}),
    }
    return RunResult(name, summarize(results, bot.top_k), results, cfg)
