"""The pure report rules: percentiles, Pareto, volume shares, local hours, defused cells."""

from __future__ import annotations

from datetime import date, datetime

from kesu.report import rules


def test_the_median_averages_the_middle_pair_and_p90_is_the_nearest_rank():
    assert rules.median([1, 2, 3, 4]) == 2.5 and rules.median([1, 3, 5]) == 3
    assert rules.percentile(list(range(1, 11)), 90) == 9
    assert rules.percentile(list(range(1, 12)), 90) == 10
    assert rules.durations([]) == rules.Durations(0, None, None, None)
    assert rules.durations([30, 10, 20]) == rules.Durations(3, 20.0, 20.0, 30)


def test_the_vital_few_are_the_causes_before_eighty_percent():
    rows = rules.pareto({"b": 50, "a": 30, "c": 15, "d": 5, "none": 0})
    assert [(r.key, r.vital) for r in rows] == [
        ("b", True),
        ("a", True),
        ("c", False),
        ("d", False),
    ]
    assert rows[-1].cumulative == 1.0


def test_a_month_of_volume_gives_a_week_its_share_of_days():
    month = rules.VolumeRecord(date(2026, 11, 1), date(2026, 11, 30), 30_000)
    week = rules.week(2026, 48)  # 23–29 November
    assert rules.volume_in([month], week) == 7_000
    assert rules.per_10k(14, rules.volume_in([month], week)) == 20.0
    assert rules.volume_in([month], rules.week(2026, 2)) is None


def test_utc_hours_become_local_weekday_and_hour():
    local = rules.local_hours({datetime(2026, 11, 22, 17): 3}, "Asia/Shanghai")  # Sun 17:00 UTC
    grid = rules.heatmap(local)
    assert grid[0][1] == 3  # Monday 01:00 in Shanghai


def test_a_range_longer_than_two_months_trends_by_month():
    short = rules.date_range(date(2026, 1, 1), date(2026, 3, 3))
    long = rules.date_range(date(2026, 1, 1), date(2026, 3, 4))
    assert short.trend_unit == "day" and long.trend_unit == "month"
    assert rules.trend_buckets(long) == [date(2026, 1, 1), date(2026, 2, 1), date(2026, 3, 1)]


def test_cells_that_would_run_as_formulas_are_written_as_text():
    for text in ("=1+1", "+86 138", "-5", "@SUM(A1)", "\tx", "\rx"):
        assert rules.defuse(text) == "'" + text
    assert rules.defuse("沙发") == "沙发" and rules.defuse(-5) == -5
