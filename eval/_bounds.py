"""``--fail-under`` bounds: ``METRIC=VALUE`` or ``CLASS.METRIC=VALUE``, parsed and checked.

Which way a bound points is decided here once: rates of misses, latencies and clarify_rate
where a clarification is a miss are maxima, every other metric a minimum.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ._metrics import CLARIFY_IS_BAD, CLASS_METRICS, CLASSES, LOWER_IS_BETTER, METRICS


class BoundError(ValueError):
    """A ``--fail-under`` bound that cannot be parsed or names no metric."""


def is_upper_bound(name: str) -> bool:
    """Whether a bound on ``name`` (``METRIC`` or ``CLASS.METRIC``) is a maximum: a lower value is
    better for rates of misses and latencies, and for clarify_rate where a clarification is a miss."""
    cls, _, metric = name.rpartition(".")
    return metric in LOWER_IS_BETTER or (metric == "clarify_rate" and cls in CLARIFY_IS_BAD)


def parse_bound(text: str) -> tuple[str, float]:
    """``METRIC=VALUE`` or ``CLASS.METRIC=VALUE`` (a metric of summarize's ``by_class``)."""
    name, sep, value = text.partition("=")
    name = name.strip()
    if not sep:
        raise BoundError(f"bound {text!r} must look like METRIC=VALUE, e.g. answer_accuracy=0.9")
    cls, dot, metric = name.partition(".")
    if dot:
        if cls not in CLASSES:
            raise BoundError(f"bound {text!r}: unknown class {cls!r}; known: {', '.join(CLASSES)}")
        if metric not in CLASS_METRICS:
            raise BoundError(
                f"bound {text!r}: {metric!r} is not a per-class metric; known: {', '.join(CLASS_METRICS)}"
            )
    elif name not in METRICS:
        raise BoundError(f"bound {text!r}: unknown metric {name!r}; known: {', '.join(METRICS)}")
    try:
        return name, float(value)
    except ValueError:
        raise BoundError(f"bound {text!r}: {value!r} is not a number") from None


def metric_value(metrics: dict[str, Any], name: str) -> Any:
    """A metric by its bound name: ``CLASS.METRIC`` looks in ``by_class``."""
    cls, dot, metric = name.partition(".")
    if not dot:
        return metrics.get(name)
    return (metrics.get("by_class") or {}).get(cls, {}).get(metric)


def check_bounds(metrics: dict[str, Any], bounds: Sequence[tuple[str, float]]) -> list[str]:
    """One line per missed bound. Rates of misses, latencies and clarify_rate where clarifying is a
    miss are upper bounds, the rest lower bounds."""
    misses = []
    for name, limit in bounds:
        value = metric_value(metrics, name)
        if value is None:
            misses.append(f"{name} was not measured (no item of this gold set scores it)")
        elif is_upper_bound(name) and value > limit:
            misses.append(f"{name} = {value:.4g} is above the bound {limit:g}")
        elif not is_upper_bound(name) and value < limit:
            misses.append(f"{name} = {value:.4g} is below the bound {limit:g}")
    return misses
