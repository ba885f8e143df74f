"""Percentiles, in the two senses eval's reports use, through numpy with the method named.

Two meanings, because two kinds of report print them and their numbers must not move:

- :func:`percentile` interpolates between the two nearest measurements (numpy's
  ``method="linear"``, its default): ``qa eval``'s ``latency_p50_s``/``latency_p95_s`` and
  every p50/p95 in ``qa bench``'s ``bench.json``.
- :func:`observed_percentile` is always one of the measured values, never between two:
  ``method="nearest"`` (index ``round(q * (n - 1))``, ties to even, as Python's ``round``)
  in :mod:`eval.bench_store` and ``python -m ui.bench_load``'s p95 (which calls numpy the
  same way: ui cannot import eval), and ``method="higher"`` (index ``ceil(q * (n - 1))``,
  which for q = 0.95 is ``sorted(values)[int(0.95 * n)]``) for the reader card's p95
  (:mod:`eval.reader_eval`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np


def percentile(values: Sequence[float], q: float) -> float | None:
    """The ``q`` quantile (0 to 1), linearly interpolated; None for no values."""
    if not values:
        return None
    return float(np.quantile(np.asarray(values, dtype=np.float64), q, method="linear"))


def observed_percentile(
    values: Sequence[float], q: float, method: Literal["nearest", "higher"] = "nearest"
) -> float:
    """The measured value at the ``q`` quantile (0 to 1): the nearest rank, or the one above."""
    if not values:
        raise ValueError("a percentile of no values")
    return float(np.quantile(np.asarray(values, dtype=np.float64), q, method=method))
