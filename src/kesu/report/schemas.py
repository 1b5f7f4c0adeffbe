"""A built report: what every output (JSON, XLSX, PDF, CSV, the console's charts) renders."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel

ColumnKind = Literal["text", "int", "number", "percent", "money", "hours", "minutes", "datetime"]


class Column(BaseModel):
    key: str
    label: str
    kind: ColumnKind = "int"


class Chart(BaseModel):
    """A native chart of the section's table: categories from one column, series from others.

    `pareto`: bars of `values[0]` with the cumulative share (`line`) on a secondary axis."""

    kind: Literal["bar", "column", "line", "pie", "pareto", "heatmap"]
    category: str
    values: list[str]
    line: str | None = None


class Section(BaseModel):
    key: str
    title: str
    columns: list[Column]
    rows: list[list[Any]]
    chart: Chart | None = None
    note: str | None = None

    def column(self, key: str) -> int:
        return next(i for i, c in enumerate(self.columns) if c.key == key)

    def as_dicts(self) -> list[dict[str, Any]]:
        keys = [c.key for c in self.columns]
        return [dict(zip(keys, row, strict=True)) for row in self.rows]


class Report(BaseModel):
    kind: str
    title: str
    org_code: str
    org_name: str
    period: str
    start: date
    end: date  # exclusive
    previous_period: str | None = None
    timezone: str
    generated_at: datetime
    locale: str
    sections: list[Section]

    def section(self, key: str) -> Section:
        return next(s for s in self.sections if s.key == key)

    @property
    def last_day(self) -> date:
        return self.end - timedelta(days=1)

    @property
    def generated_local(self) -> str:
        """When it was built, on the clock of its time zone (the period line names the zone)."""
        return f"{self.generated_at.astimezone(ZoneInfo(self.timezone)):%Y-%m-%d %H:%M}"

    @property
    def filename_stem(self) -> str:
        return f"kesu-{self.kind}-{self.org_code}-{self.period}".replace("..", "_")
