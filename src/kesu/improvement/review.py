"""管理评审 (ISO 10002 §8.7): the quarter's improvement loop as a report — actions opened, done
on time or late, overdue, verified effective or not; the causes that keep returning (the
reports' Pareto of root causes, month by month, with the alerts and actions they drew);
satisfaction with complaint handling; training, discipline and rewards; inspections.

It is a `kesu.report` Report, so the report renderers print it (XLSX with native charts, PDF in
STSong-Light, JSON).
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from kesu.calendar.workdays import deadline_text
from kesu.errors import InvalidInput
from kesu.i18n import pick, translate
from kesu.improvement import queries, rules
from kesu.improvement import service as improvement_service
from kesu.report import queries as report_queries
from kesu.report import rules as report_rules
from kesu.report import service as report_service
from kesu.report.queries import Scope
from kesu.report.schemas import Chart, Column, Report, Section

FORMATS = ("json", "xlsx", "pdf")


class _Text:
    def __init__(self, locale: str) -> None:
        self.locale = locale

    def t(self, key: str, **params: Any) -> str:
        return translate(f"improvement.review.{key}", self.locale, **params)

    def col(self, key: str, kind: str = "int") -> Column:
        return Column(key=key, label=self.t(f"column.{key}"), kind=kind)


def period_for(text: str | None, today) -> report_rules.Period:
    """The quarter named ('2026-Q4'), or the last complete one (also for a form's empty box).
    A quarter that has not begun is refused, as the reports refuse such a period: its review
    would be all zeros that read like a quiet quarter."""
    if text is None or not text.strip():
        return rules.last_complete_quarter(today)
    try:
        found = rules.quarter(text)
    except ValueError as exc:
        raise InvalidInput("improvement.bad_quarter", field="quarter", value=text) from exc
    if found.start > today:
        raise InvalidInput(
            "report.future_period", field="quarter", value=found.label, today=today.isoformat()
        )
    return found


def build(
    session: Session, *, org_id: int, quarter: str | None, locale: str, now: datetime
) -> Report:
    """The review for an organisation (and everything under it) over a quarter."""
    t = report_service.target(session, org_id)
    pack, tz = t.pack, t.pack.timezone
    period = period_for(quarter, report_service.today_of(pack, now))
    start, end = period.bounds(tz)
    tx = _Text(locale)
    group = t.group.id
    narrow = None if t.scope.org_ids is None else list(t.scope.org_ids)
    live = queries.review_actions(session, group, narrow, start, end)
    steps = queries.action_events(session, group, narrow, start, end)
    got = report_queries.read_all(session, _reads(t.scope, period, tz, start, end))
    sections = [
        _summary(tx, live, steps, start, end, now),
        _actions(session, tx, pack, live, end, now),
        _causes(session, tx, pack, t.scope, got, live, start, end),
        _satisfaction(tx, pack, got["satisfaction"]),
        _accountability(session, tx, group, narrow, period),
        _inspections(session, tx, pack, group, narrow, start, end),
    ]
    return Report(
        kind="management_review",
        title=tx.t("title", org=t.org.name, period=period.label),
        org_code=t.org.code,
        org_name=t.org.name,
        period=period.label,
        start=period.start,
        end=period.end,
        timezone=tz,
        generated_at=now,
        locale=locale,
        sections=sections,
    )


def render(report: Report, fmt: str) -> tuple[bytes, str, str]:
    if fmt not in FORMATS:
        raise InvalidInput("report.unknown_format", field="format", value=fmt)
    return report_service.render(report, fmt)


def _summary(tx: _Text, live, steps, start: datetime, end: datetime, now: datetime) -> Section:
    commands = Counter(cmd for _, cmd, _ in steps)
    done = [p for _, cmd, p in steps if cmd == "implement"]
    missed = sum(1 for _, cmd, p in steps if cmd == "verify" and p.get("outcome") == "reopened")
    cutoff = min(end, now)
    overdue_at_end = sum(
        1
        for a in live
        if a.due_at <= cutoff
        and (a.implemented_at is None or a.implemented_at > cutoff)
        and a.state != "cancelled"
        and (a.closed_at is None or a.closed_at > cutoff)
    )
    opened = [a for a in live if a.created_at >= start]
    metrics = [
        ("opened", len(opened)),
        ("opened_corrective", sum(a.kind == "corrective" for a in opened)),
        ("opened_preventive", sum(a.kind == "preventive" for a in opened)),
        ("done", len(done)),
        ("done_on_time", sum(not p.get("late") for p in done)),
        ("went_overdue", commands["overdue"]),
        ("overdue_at_end", overdue_at_end),
        ("escalated", commands["escalated"]),
        ("verified_effective", commands["confirm"]),
        ("target_missed", missed),
        ("reopened_by_verifier", commands["reopen"]),
        ("cancelled", commands["cancel"]),
        (
            "open_at_end",
            sum(1 for a in live if a.closed_at is None or a.closed_at >= end),
        ),
    ]
    return Section(
        key="summary",
        title=tx.t("section.summary"),
        columns=[tx.col("key", "text"), tx.col("metric", "text"), tx.col("value")],
        rows=[[key, tx.t(f"metric.{key}"), value] for key, value in metrics],
        note=tx.t("note.summary"),
    )


def _actions(session: Session, tx: _Text, pack, live, end: datetime, now: datetime) -> Section:
    names = queries.user_names(session, {a.owner_id for a in live})
    dims = {d.key: pick(d.name, tx.locale) for d in pack.root_cause_dimensions}
    cats = {c.key: pick(c.name, tx.locale) for c in pack.category_list()}
    rows = []
    for a in live:
        figures = a.verification or {}
        rows.append(
            [
                a.number,
                a.title,
                tx.t(f"kind.{a.kind}"),
                dims.get(a.cause_dimension, a.cause_dimension),
                cats.get(a.category, "") if a.category else "",
                names.get(a.owner_id, ""),
                deadline_text(a.due_at, pack.timezone),  # as the console writes it: 24:00
                improvement_service.local(pack, a.implemented_at),
                translate(f"improvement.state.{a.state}", tx.locale),
                a.target_per_month,
                translate("web.sep.list", tx.locale).join(
                    str(n) for n in figures.get("counts", [])
                ),
                tx.t("yes") if a.breached_at is not None else tx.t("no"),
            ]
        )
    return Section(
        key="actions",
        title=tx.t("section.actions"),
        columns=[
            tx.col("number", "text"),
            tx.col("title", "text"),
            tx.col("kind", "text"),
            tx.col("cause", "text"),
            tx.col("category", "text"),
            tx.col("owner", "text"),
            tx.col("due_at", "text"),
            tx.col("done_at", "text"),
            tx.col("state", "text"),
            tx.col("target"),
            tx.col("observed", "text"),
            tx.col("overdue", "text"),
        ],
        rows=rows,
        note=tx.t("note.actions"),
    )


def _reads(
    scope: Scope, period: report_rules.Period, tz: str, start: datetime, end: datetime
) -> dict[str, Any]:
    """The review's heavy reads (root causes of the quarter before and of each month, and
    satisfaction), for `report_queries.read_all` to spread across the cores: at a million
    complaints the root causes are nine tenths of the review."""

    def causes(bounds):
        return lambda s: report_queries.root_causes(s, scope, *bounds)

    previous = rules.quarter_of(period.start - timedelta(days=1))
    reads = {"before": causes(previous.bounds(tz))}
    day = period.start
    while day < period.end:
        month = report_rules.month(day.year, day.month)
        reads[f"month:{month.label}"] = causes(month.bounds(tz))
        day = month.end
    reads["satisfaction"] = lambda s: report_queries.satisfaction(s, scope, start, end)
    return reads


def _causes(
    session: Session,
    tx: _Text,
    pack,
    scope: Scope,
    got: dict[str, Any],
    live,
    start: datetime,
    end: datetime,
) -> Section:
    """The reports' Pareto of root causes over the quarter, with each cause's months present,
    the quarter before, the alerts it raised and the actions opened on it. The quarter's
    counts are its months' added up (complaints closed in the period: the months divide it)."""
    months = [counts for key, counts in got.items() if key.startswith("month:")]
    counts = sum(months, Counter())
    before = got["before"]
    narrow = None if scope.org_ids is None else list(scope.org_ids)
    alerts = queries.alerts_in(session, scope.group_id, narrow, start, end)
    opened = Counter(a.cause_dimension for a in live if a.created_at >= start)
    dims = {d.key: pick(d.name, tx.locale) for d in pack.root_cause_dimensions}
    rows = []
    for r in report_rules.pareto(counts):
        present = sum(1 for m in months if m.get(r.key))
        rows.append(
            [
                r.key,
                dims.get(r.key, r.key),
                r.count,
                r.share,
                r.cumulative,
                present,
                before.get(r.key, 0),
                alerts.get(r.key, 0),
                opened.get(r.key, 0),
                tx.t("yes") if present == len(months) or alerts.get(r.key) else tx.t("no"),
            ]
        )
    return Section(
        key="causes",
        title=tx.t("section.causes"),
        columns=[
            tx.col("key", "text"),
            tx.col("cause", "text"),
            tx.col("count"),
            tx.col("share", "percent"),
            tx.col("cumulative", "percent"),
            tx.col("months_present"),
            tx.col("previous_quarter"),
            tx.col("alerts"),
            tx.col("actions_opened"),
            tx.col("returning", "text"),
        ],
        rows=rows,
        chart=Chart(kind="pareto", category="cause", values=["count"], line="cumulative"),
        note=tx.t("note.causes"),
    )


def _satisfaction(tx: _Text, pack, counts: dict[Any, int]) -> Section:
    """How complainants rated the handling of complaints closed in the quarter."""
    rated = sum(n for v, n in counts.items() if v is not None)
    rows = [
        [
            str(g.value),
            pick(g.name, tx.locale),
            counts.get(g.value, 0),
            report_rules.rate(counts.get(g.value, 0), rated),
        ]
        for g in pack.satisfaction
    ]
    accepted = sum(counts.get(g.value, 0) for g in pack.satisfaction if g.outcome == "accept")
    rows.append(["", tx.t("satisfied"), accepted, report_rules.rate(accepted, rated)])
    rows.append(["", tx.t("not_rated"), counts.get(None, 0), None])
    return Section(
        key="satisfaction",
        title=tx.t("section.satisfaction"),
        columns=[
            tx.col("key", "text"),
            tx.col("grade", "text"),
            tx.col("count"),
            tx.col("share", "percent"),
        ],
        rows=rows,
        chart=Chart(kind="column", category="grade", values=["count"]),
        note=tx.t("note.satisfaction"),
    )


def _accountability(session: Session, tx: _Text, group_id: int, narrow, period) -> Section:
    """Per person of the reviewed organisation (a store's review: its own people only)."""
    per_person = queries.accountability_by_person(
        session, group_id, period.start, period.end, narrow
    )
    names = queries.user_names(session, per_person)
    rows = [
        [names.get(uid, str(uid)), *(kinds.get(k, 0) for k in rules.ACCOUNTABILITY_KINDS)]
        for uid, kinds in sorted(per_person.items(), key=lambda kv: names.get(kv[0], ""))
    ]
    return Section(
        key="accountability",
        title=tx.t("section.accountability"),
        columns=[tx.col("person", "text"), *(tx.col(k) for k in rules.ACCOUNTABILITY_KINDS)],
        rows=rows,
        chart=Chart(kind="bar", category="person", values=list(rules.ACCOUNTABILITY_KINDS)),
    )


def _inspections(session: Session, tx: _Text, pack, group_id, narrow, start, end) -> Section:
    found = queries.inspection_counts(session, group_id, narrow, start, end)
    rows = []
    for cl in pack.improvement.checklists:
        by_state = {st: (n, f) for key, st, n, f in found if key == cl.key}
        issued = sum(n for n, _ in by_state.values())
        done = by_state.get("done", (0, 0))
        rows.append(
            [
                pick(cl.name, tx.locale),
                issued,
                done[0],
                by_state.get("missed", (0, 0))[0],
                report_rules.rate(done[0], issued),
                done[1],
            ]
        )
    return Section(
        key="inspections",
        title=tx.t("section.inspections"),
        columns=[
            tx.col("checklist", "text"),
            tx.col("issued"),
            tx.col("inspected"),
            tx.col("missed"),
            tx.col("completion", "percent"),
            tx.col("failed_items"),
        ],
        rows=rows,
        note=None if rows else tx.t("note.no_checklists"),
    )
