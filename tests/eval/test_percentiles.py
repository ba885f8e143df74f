"""The two percentile meanings, on small cases worked out by hand, against the index rules they replace."""

from __future__ import annotations

import pytest

from eval._percentiles import observed_percentile, percentile


def test_interpolated_percentile_lies_between_measurements():
    assert percentile([0.4, 0.1, 0.3, 0.2], 0.5) == pytest.approx(0.25)
    assert percentile([0.1, 0.2, 0.3, 0.4], 0.95) == pytest.approx(0.385)  # 0.3 + 0.85 * 0.1
    assert percentile([7.0], 0.95) == 7.0
    assert percentile([], 0.5) is None


def test_observed_percentile_is_one_of_the_values():
    values = [5.0, 1.0, 4.0, 2.0, 3.0, 6.0]  # sorted: 1..6; q * (n - 1) = 2.5 at the median
    assert observed_percentile(values, 0.5) == 3.0  # round(2.5) is 2: ties go to the even index
    assert observed_percentile(values, 0.95) == 6.0  # round(4.75) = 5
    assert observed_percentile(values, 0.5, "higher") == 4.0  # ceil(2.5) = 3
    with pytest.raises(ValueError):
        observed_percentile([], 0.5)


@pytest.mark.parametrize("n", [1, 2, 3, 7, 19, 20, 21, 100, 199, 200, 201])
def test_observed_percentile_keeps_the_rank_rules_of_the_reports(n):
    values = [float(x * x % 101) for x in range(n)]
    ordered = sorted(values)
    for q in (0.5, 0.9, 0.95):
        assert observed_percentile(values, q) == ordered[round(q * (n - 1))]
    # the reader card's p95: sorted(values)[int(0.95 * n)]
    assert observed_percentile(values, 0.95, "higher") == ordered[int(0.95 * n)]
