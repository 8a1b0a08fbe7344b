"""The one percentile and the one pass over runs (``ylai_plugin.domain.stats``)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from ylai_plugin.domain import stats
from ylai_plugin.monitoring import histogram


@pytest.mark.parametrize(
    ("n", "p", "rank"),
    [(20, 0.95, 19), (4, 0.5, 2), (5, 0.5, 3), (1, 0.95, 1), (100, 0.99, 99), (100, 0.07, 7), (3, 1.0, 3)],
)
def test_nearest_rank(n: int, p: float, rank: int) -> None:
    # 0.07 * 100 is 7.000000000000001 in floating point: still rank 7, not 8.
    assert stats.nearest_rank(n, p) == rank


def test_percentile_is_one_of_the_values_in_any_order() -> None:
    values = [5.0, 1.0, 4.0, 2.0, 3.0]
    assert stats.percentile(values, 0.5) == 3.0
    assert stats.percentile(values, 0.95) == 5.0
    assert stats.percentile([], 0.5) is None
    assert stats.percentile([1.23456], 0.5) == 1.235
    assert stats.percentile([1.23456], 0.5, ndigits=None) == 1.23456
    assert stats.percentiles([2.0, 1.0, 3.0]) == stats.Percentiles(count=3, p50=2.0, p95=3.0)


def test_histogram_percentile_uses_the_same_rank() -> None:
    # One request per bucket: the histogram's percentile is the nearest-rank percentile of the bucket bounds.
    hist = {str(i): 1 for i in range(10, 30)}
    bounds = [round(histogram.upper_bound(i), 2) for i in range(10, 30)]
    for p in (0.5, 0.9, 0.95, 0.99):
        assert histogram.percentile(hist, p) == stats.percentile(bounds, p, ndigits=2)


def test_collect_runs_counts_states_durations_buckets_and_the_last_run() -> None:
    t0 = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
    rows = [
        ("a", "success", t0, t0 + timedelta(seconds=2), t0),
        ("a", "failed", t0, t0 + timedelta(seconds=4), t0 + timedelta(hours=1)),
        ("a", "running", t0, None, t0 + timedelta(hours=1, minutes=5)),
        ("b", "success", None, None, t0),
    ]
    found = stats.collect_runs(rows, bucket=lambda moment: moment.hour)
    assert found.total == 4
    assert found.success_rate == 0.6667
    assert dict(found.states) == {"success": 2, "failed": 1, "running": 1}
    a = found.dag("a")
    assert (a.runs, a.succeeded, a.failed, a.success_rate) == (3, 1, 1, 0.5)
    assert a.duration == stats.Percentiles(count=2, p50=2.0, p95=4.0)
    assert (a.last_run_after, a.last_state) == (t0 + timedelta(hours=1, minutes=5), "running")
    assert found.dag("b").duration == stats.Percentiles(count=0, p50=None, p95=None)
    assert found.dag("nothing").runs == 0
    assert found.buckets[9]["runs"] == 2
    assert found.buckets[10]["runs"] == 2
    assert found.buckets[10]["failed"] == 1


def test_dag_kind_and_wait() -> None:
    assert stats.dag_kind("script__disk_usage") == "script"
    assert stats.dag_kind("pipeline__nightly") == "pipeline"
    assert stats.dag_kind("task__12") == "dag"
    assert stats.dag_kind("my_own_dag") == "dag"
    t0 = datetime(2026, 11, 27, tzinfo=UTC)
    assert stats.wait_seconds(t0, t0 + timedelta(seconds=1.5)) == 1.5
    assert stats.wait_seconds(t0 + timedelta(seconds=1), t0) is None
    assert stats.state_name(None) == "none"


def test_change_is_relative_to_the_previous_figure() -> None:
    assert stats.change(30.0, 20.0) == 0.5
    assert stats.change(10.0, 20.0) == -0.5
    assert stats.change(1.0, 3.0) == -0.6667
    # Nothing to compare with: no previous figure, or one of 0 (a rise from nothing has no ratio).
    assert stats.change(5.0, None) is None
    assert stats.change(None, 5.0) is None
    assert stats.change(5.0, 0.0) is None
