"""Build a report for an organisation scope and a period: the queries' aggregates, turned into
figures by the rules, laid out as titled sections in the reader's language."""

from __future__ import annotations

import logging
import weakref
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session, defer

from kesu.access.models import User
from kesu.access.rules import Principal, in_scope
from kesu.complaint.models import Complaint
from kesu.db.session import make_sessionmaker, reading
from kesu.errors import InvalidInput, NotFound
from kesu.i18n import label, pick, translate
from kesu.improvement import queries as improvement_queries
from kesu.org import service as org_service
from kesu.org.models import Organisation
from kesu.policy import service as policy_service
from kesu.policy.schema import Pack, ReportSchedule
from kesu.report import queries, rules
from kesu.report.models import OrgVolume, ReportDelivery
from kesu.report.queries import Scope
from kesu.report.schemas import Chart, Column, Report, Section

log = logging.getLogger("kesu.report")

WEEKDAYS = range(7)


@dataclass(frozen=True)
class Target:
    """What a report is about: the scope organisation, its group and the group's pack."""

    org: Organisation
    group: Organisation
    pack: Pack
    scope: Scope
    org_ids: list[int]  # the organisation and everything under it


def target(session: Session, org_id: int) -> Target:
    org = org_service.get(session, org_id)
    group = org_service.group_of(session, org_id)
    pack = policy_service.pack_of(session, policy_service.current(session, group.pack_key).id)
    ids = org_service.subtree_ids(session, org.id)
    scope = Scope(group.id, None if org.id == group.id else tuple(ids))
    return Target(org, group, pack, scope, ids)


def period_for(kind: str, text: str | None, today, first=None, last=None) -> rules.Period:
    """The period a request names, or the last complete one of its kind; one that has not
    begun by `today` is refused (it would be a report of zeros that reads like a quiet week)."""
    found = _named_period(kind, text, today, first, last)
    if today is not None and found.start > today:  # (no today: a caller naming its period)
        raise InvalidInput(
            "report.future_period",
            field="from" if kind == "range" else "period",
            value=found.label,
            today=today.isoformat(),
        )
    return found


def _named_period(kind: str, text: str | None, today, first=None, last=None) -> rules.Period:
    if kind not in rules.KINDS:
        raise InvalidInput("invalid.unknown_key", field="report_kind", value=kind)
    if kind == "range":
        if first is None or last is None:
            raise InvalidInput("report.range_needs_dates", field="from")
        try:
            return rules.date_range(first, last)
        except ValueError as exc:
            raise InvalidInput("report.range_backwards", field="to") from exc
    if text is None:
        return rules.last_complete(kind, today)
    try:
        return rules.parse(kind, text)
    except ValueError as exc:
        raise InvalidInput(
            "report.bad_period",
            field="period",
            kind=label(f"report.kind.{kind}"),
            value=text,
            example=rules.EXAMPLES[kind],
        ) from exc


def today_of(pack: Pack, now: datetime):
    return now.astimezone(ZoneInfo(pack.timezone)).date()


def repeat_window(pack: Pack) -> int:
    return pack.reports.repeat_window_days


# --- figures ------------------------------------------------------------------------------------


@dataclass
class Figures:
    """The headline figures of one period (computed for the period and the one before)."""

    received: int
    closed: int
    open_at_end: int
    closed_of_received: int
    handling: rules.Durations
    fcr: float | None
    repeat: float | None
    reopen: float | None
    satisfied: float | None
    compensation: Decimal
    per_10k_orders: float | None
    per_10k_visits: float | None
    timer_compliance: float | None
    breaches: int
    penalties: Decimal


def _accepting(pack: Pack) -> tuple[int, ...]:
    return tuple(g.value for g in pack.satisfaction if g.outcome == "accept")


def _volume(session: Session, t: Target, period: rules.Period, kind: str) -> float | None:
    """Volume of the scope: what the scope organisation records itself, or else the sum of what
    the sites under it record."""
    records = queries.volumes(session, t.org_ids, kind)
    own = rules.volume_in(records.get(t.org.id, []), period)
    if own is not None:
        return own
    sites = {o.id for o in org_service.all_orgs(session) if o.kind == "site" and o.id in t.org_ids}
    parts = [rules.volume_in(records.get(s, []), period) for s in sites]
    known = [p for p in parts if p is not None]
    return sum(known) if known else None


@dataclass
class Data:
    """The aggregates of one period that both the headline figures and the sections use (the
    previous period's only feed the summary, so its cube is not read: `cube` is empty)."""

    received: int
    closed_of_received: int
    cube: list[queries.CubeRow]
    handling: dict[str | None, rules.Durations]  # per level; None: all
    fcr: tuple[int, int]
    repeats: tuple[int, int]
    events: Counter
    satisfaction: Counter
    compensation: list[tuple[str | None, int, Decimal]]
    open_at_end: int
    timers: list[queries.TimerRow]
    penalties: list[tuple[int | None, int, Decimal]]


Read = Callable[[Session], Any]


def _reads(
    t: Target, period: rules.Period, now: datetime, breakdowns: bool = True
) -> dict[str, Read]:
    """The reads behind one period's `Data` (`queries.read_all` runs them), the longest first."""
    start, end = period.bounds(t.pack.timezone)
    s = t.scope
    return {
        "timers": lambda db: queries.timer_compliance(db, s, start, end, min(end, now)),
        "received": (
            (lambda db: queries.received_cube(db, s, start, end))
            if breakdowns
            else (lambda db: queries.received_totals(db, s, start, end))
        ),
        "fcr": lambda db: queries.first_contact_resolution(db, s, start, end),
        "repeats": lambda db: queries.repeats(db, s, start, end, repeat_window(t.pack)),
        "handling": lambda db: queries.handling(db, s, start, end),
        "compensation": lambda db: queries.compensation(db, s, start, end),
        "satisfaction": lambda db: queries.satisfaction(db, s, start, end),
        "events": lambda db: queries.event_counts(db, s, start, end, ("close", "reopen")),
        "open_at_end": lambda db: queries.open_at(db, s, end),
        "penalties": lambda db: queries.penalties(db, s, start, end),
    }


def _data(got: dict[str, Any], breakdowns: bool = True) -> Data:
    if breakdowns:
        cube = got["received"]
        received = sum(r.received for r in cube), sum(r.closed_by_end for r in cube)
    else:
        cube, received = [], got["received"]
    return Data(
        received=received[0],
        closed_of_received=received[1],
        cube=cube,
        **{k: v for k, v in got.items() if k != "received"},
    )


def figures(session: Session, t: Target, period: rules.Period, d: Data) -> Figures:
    received = d.received
    rated = sum(n for v, n in d.satisfaction.items() if v is not None)
    accepted = sum(n for v, n in d.satisfaction.items() if v in _accepting(t.pack))
    return Figures(
        received=received,
        closed=d.handling[None].count,
        open_at_end=d.open_at_end,
        closed_of_received=d.closed_of_received,
        handling=d.handling[None],
        fcr=rules.rate(d.fcr[1], d.fcr[0]),
        repeat=rules.rate(d.repeats[1], d.repeats[0]),
        reopen=rules.rate(d.events["reopen"], d.events["close"]),
        satisfied=rules.rate(accepted, rated),
        compensation=sum((total for _, _, total in d.compensation), Decimal("0.00")),
        per_10k_orders=rules.per_10k(received, _volume(session, t, period, "orders")),
        per_10k_visits=rules.per_10k(received, _volume(session, t, period, "visits")),
        timer_compliance=rules.rate(
            sum(r.on_time for r in d.timers), sum(r.on_time + r.late for r in d.timers)
        ),
        breaches=sum(r.late for r in d.timers),
        penalties=sum((total for _, _, total in d.penalties), Decimal("0.00")),
    )


# --- sections -----------------------------------------------------------------------------------


class _Labels:
    def __init__(self, locale: str, pack: Pack) -> None:
        self.locale = locale
        self.pack = pack

    def t(self, key: str, **params: Any) -> str:
        return translate(f"report.{key}", self.locale, **params)

    @property
    def list_sep(self) -> str:
        """Between the items of a cell: "；" in Chinese, "; " in English."""
        return "; " if self.locale == "en" else "；"

    def col(self, key: str, kind: str = "int") -> Column:
        return Column(key=key, label=self.t(f"column.{key}"), kind=kind)

    def named(self, kind: str, key: str | None) -> str:
        if key is None or key == "":
            return self.t("none")
        items = self.pack.category_list() if kind == "categories" else getattr(self.pack, kind)
        found = next((i for i in items if i.key == key), None)
        return pick(found.name, self.locale) if found else key


def _hours(seconds: float | None) -> float | None:
    return None if seconds is None else seconds / 3600


def _summary(lb: _Labels, now: Figures, before: Figures) -> Section:
    def pct(v: float | None) -> float | None:
        return None if v is None else v * 100

    hours = lb.t("unit.hours")  # 小时 / h
    metrics: list[tuple[str, str, Any, Any]] = [
        ("received", "", now.received, before.received),
        ("closed", "", now.closed, before.closed),
        ("closed_of_received", "", now.closed_of_received, before.closed_of_received),
        ("open_at_end", "", now.open_at_end, before.open_at_end),
        ("handling_mean", hours, _hours(now.handling.mean), _hours(before.handling.mean)),
        ("handling_median", hours, _hours(now.handling.median), _hours(before.handling.median)),
        ("handling_p90", hours, _hours(now.handling.p90), _hours(before.handling.p90)),
        ("fcr", "%", pct(now.fcr), pct(before.fcr)),
        ("repeat", "%", pct(now.repeat), pct(before.repeat)),
        ("reopen", "%", pct(now.reopen), pct(before.reopen)),
        ("satisfied", "%", pct(now.satisfied), pct(before.satisfied)),
        ("compensation", "¥", float(now.compensation), float(before.compensation)),
        ("per_10k_orders", "", now.per_10k_orders, before.per_10k_orders),
        ("per_10k_visits", "", now.per_10k_visits, before.per_10k_visits),
        ("timer_compliance", "%", pct(now.timer_compliance), pct(before.timer_compliance)),
        ("breaches", "", now.breaches, before.breaches),
        ("penalties", "¥", float(now.penalties), float(before.penalties)),
    ]
    rows = []
    for key, unit, current, previous in metrics:
        diff, rel = rules.change(current, previous)
        rows.append([key, lb.t(f"metric.{key}"), unit, current, previous, diff, rel])
    return Section(
        key="summary",
        title=lb.t("section.summary"),
        columns=[
            lb.col("key", "text"),
            lb.col("metric", "text"),
            lb.col("unit", "text"),
            lb.col("current", "number"),
            lb.col("previous", "number"),
            lb.col("change", "number"),
            lb.col("change_pct", "percent"),
        ],
        rows=rows,
        note=lb.t("note.summary"),
    )


def _breakdown(
    lb: _Labels,
    key: str,
    counts: Counter,
    closed: Counter,
    name_of,
    order: list[Any] | None = None,
    chart: str = "bar",
) -> Section:
    keys = order if order is not None else sorted(counts, key=lambda k: (-counts[k], str(k)))
    extra = [k for k in counts if k not in keys]
    total = sum(counts.values())
    rows = [
        [
            "" if k is None else str(k),
            name_of(k),
            counts.get(k, 0),
            closed.get(k, 0),
            counts.get(k, 0) - closed.get(k, 0),
            rules.rate(counts.get(k, 0), total),
        ]
        for k in [*keys, *extra]
    ]
    return Section(
        key=f"by_{key}",
        title=lb.t(f"section.by_{key}"),
        columns=[
            lb.col("key", "text"),
            lb.col("name", "text"),
            lb.col("received"),
            lb.col("closed_of_received"),
            lb.col("open_of_received"),
            lb.col("share", "percent"),
        ],
        rows=rows,
        chart=Chart(kind=chart, category="name", values=["received"]),
    )


def _breakdowns(session: Session, lb: _Labels, t: Target, cube) -> list[Section]:
    pack = lb.pack
    sections = []
    for dim, kind in (("level", "levels"), ("category", "categories"), ("channel", "channels")):
        counts, closed = Counter(), Counter()
        for r in cube:
            counts[getattr(r, dim)] += r.received
            closed[getattr(r, dim)] += r.closed_by_end
        order = [lv.key for lv in pack.levels] if dim == "level" else None
        chart = "pie" if dim == "channel" else "column" if dim == "level" else "bar"
        sections.append(
            _breakdown(lb, dim, counts, closed, lambda k, k2=kind: lb.named(k2, k), order, chart)
        )
    orgs = {o.id: o for o in org_service.all_orgs(session)}
    for dim in ("site_id", "department_id"):
        counts, closed = Counter(), Counter()
        for r in cube:
            counts[getattr(r, dim)] += r.received
            closed[getattr(r, dim)] += r.closed_by_end
        section = _breakdown(
            lb,
            dim.removesuffix("_id"),
            counts,
            closed,
            lambda k: orgs[k].name if k in orgs else lb.t("none"),
        )
        for row in section.rows:  # the organisation code is the readable key
            row[0] = orgs[int(row[0])].code if row[0] else ""
        sections.append(section)
    return sections


def _merchants(lb: _Labels, counts: Counter) -> Section:
    total = sum(counts.values())
    rows = [
        [m, n, rules.rate(n, total)]
        for m, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    ]
    return Section(
        key="by_merchant",
        title=lb.t("section.by_merchant"),
        columns=[lb.col("merchant", "text"), lb.col("received"), lb.col("share", "percent")],
        rows=rows,
        chart=Chart(kind="bar", category="merchant", values=["received"]) if rows else None,
        note=None if rows else lb.t("note.no_merchant"),
    )


def _trend(lb: _Labels, period: rules.Period, received: dict, closed: dict) -> Section:
    fmt = "%Y-%m-%d" if period.trend_unit == "day" else "%Y-%m"
    rows = [[b.strftime(fmt), received[b], closed[b]] for b in received]
    return Section(
        key="trend",
        title=lb.t("section.trend"),
        columns=[lb.col("bucket", "text"), lb.col("received"), lb.col("closed")],
        rows=rows,
        chart=Chart(kind="line", category="bucket", values=["received", "closed"]),
    )


def _handling(lb: _Labels, handling: dict[str | None, rules.Durations]) -> Section:
    none = rules.durations([])
    by_level = {lv.key: handling.get(lv.key, none) for lv in lb.pack.levels}
    by_level.update((k, d) for k, d in handling.items() if k is not None and k not in by_level)
    rows = []
    for key, d in [*by_level.items(), ("", handling[None])]:
        name = lb.named("levels", key) if key else lb.t("all")
        rows.append([key, name, d.count, _hours(d.mean), _hours(d.median), _hours(d.p90)])
    return Section(
        key="handling_time",
        title=lb.t("section.handling_time"),
        columns=[
            lb.col("key", "text"),
            lb.col("name", "text"),
            lb.col("closed"),
            lb.col("mean_hours", "hours"),
            lb.col("median_hours", "hours"),
            lb.col("p90_hours", "hours"),
        ],
        rows=rows,
        chart=Chart(kind="column", category="name", values=["mean_hours", "p90_hours"]),
        note=lb.t("note.handling_time"),
    )


def _satisfaction(lb: _Labels, counts: Counter) -> Section:
    total = sum(counts.values())
    rows = [
        [
            str(g.value),
            pick(g.name, lb.locale),
            lb.t(f"outcome.{g.outcome}"),
            counts.get(g.value, 0),
            rules.rate(counts.get(g.value, 0), total),
        ]
        for g in lb.pack.satisfaction
    ]
    known = {g.value for g in lb.pack.satisfaction}
    other = sum(n for v, n in counts.items() if v not in known)
    rows.append(["", lb.t("not_rated"), "", other, rules.rate(other, total)])
    return Section(
        key="satisfaction",
        title=lb.t("section.satisfaction"),
        columns=[
            lb.col("key", "text"),
            lb.col("name", "text"),
            lb.col("outcome", "text"),
            lb.col("closed"),
            lb.col("share", "percent"),
        ],
        rows=rows,
        chart=Chart(kind="pie", category="name", values=["closed"]),
        note=lb.t("note.satisfaction"),
    )


def _pareto(lb: _Labels, key: str, counts: Counter, kind: str) -> Section:
    rows = [
        [
            r.key,
            lb.named(kind, r.key),
            r.count,
            r.share,
            r.cumulative,
            lb.t("yes") if r.vital else "",
        ]
        for r in rules.pareto({("" if k is None else k): n for k, n in counts.items()})
    ]
    return Section(
        key=key,
        title=lb.t(f"section.{key}"),
        columns=[
            lb.col("key", "text"),
            lb.col("name", "text"),
            lb.col("count"),
            lb.col("share", "percent"),
            lb.col("cumulative", "percent"),
            lb.col("vital", "text"),
        ],
        rows=rows,
        chart=Chart(kind="pareto", category="name", values=["count"], line="cumulative"),
        note=lb.t("note.pareto"),
    )


def _heatmap(lb: _Labels, grid: list[list[int]]) -> Section:
    return Section(
        key="heatmap",
        title=lb.t("section.heatmap"),
        columns=[
            lb.col("weekday", "text"),
            *(Column(key=f"h{h:02d}", label=f"{h:02d}") for h in range(24)),
        ],
        rows=[[lb.t(f"weekday.{d}"), *grid[d]] for d in WEEKDAYS],
        chart=Chart(kind="heatmap", category="weekday", values=[f"h{h:02d}" for h in range(24)]),
        note=lb.t("note.heatmap"),
    )


def _compensation(lb: _Labels, money: list[tuple[str | None, int, Decimal]]) -> Section:
    rows = [
        [k or "", lb.named("solution_types", k), n, float(total)]
        for k, n, total in sorted(money, key=lambda m: (-m[2], m[0] or ""))
    ]
    rows.append(["", lb.t("all"), sum(r[2] for r in rows), float(sum(m[2] for m in money))])
    return Section(
        key="compensation",
        title=lb.t("section.compensation"),
        columns=[
            lb.col("key", "text"),
            lb.col("name", "text"),
            lb.col("implemented"),
            lb.col("amount", "money"),
        ],
        rows=rows,
        chart=Chart(kind="bar", category="name", values=["amount"]),
        note=lb.t("note.compensation"),
    )


def _staff_reads(t: Target, start: datetime, end: datetime) -> dict[str, Read]:
    zone = ZoneInfo(t.pack.timezone)
    first, last = start.astimezone(zone).date(), end.astimezone(zone).date()
    return {
        "staff_resolution": lambda db: queries.staff_resolution(
            db, t.scope, start, end, _accepting(t.pack)
        ),
        "staff_response": lambda db: queries.staff_response(db, t.scope, start, end),
        # training, discipline, rewards recorded against each person
        "staff_records": lambda db: improvement_queries.accountability_by_person(
            db, t.group.id, first, last
        ),
    }


def _staff(
    session: Session,
    lb: _Labels,
    t: Target,
    got: dict[str, Any],
    charged: list[tuple[int | None, int, Decimal]],
) -> Section:
    response = {r.user_id: r for r in got["staff_response"]}
    resolved = {r.user_id: r for r in got["staff_resolution"]}
    penalties = {uid: (n, total) for uid, n, total in charged if uid is not None}
    records = got["staff_records"]
    people = set(response) | set(resolved) | set(penalties)
    if t.scope.org_ids is None:  # the whole group: everyone with a record too
        people |= set(records)
    names = queries.user_names(session, people)
    rows = []
    for uid in sorted(names, key=lambda u: (names[u], u)):
        rsp, res = response.get(uid), resolved.get(uid)
        n_pen, amount = penalties.get(uid, (0, Decimal(0)))
        kinds = records.get(uid, {})
        rows.append(
            [
                names[uid],
                rsp.contacts if rsp else 0,
                rsp.seconds / rsp.contacts / 60 if rsp else None,
                res.resolved if res else 0,
                res.rated if res else 0,
                res.rating_sum / res.rated if res and res.rated else None,
                rules.rate(res.accepted, res.rated) if res else None,
                rules.rate(res.multi_round, res.resolved) if res else None,
                n_pen,
                float(amount),
                kinds.get("training", 0),
                kinds.get("discipline", 0),
                kinds.get("reward", 0),
            ]
        )
    return Section(
        key="staff",
        title=lb.t("section.staff"),
        columns=[
            lb.col("staff", "text"),
            lb.col("contacts"),
            lb.col("response_minutes", "minutes"),
            lb.col("resolved"),
            lb.col("rated"),
            lb.col("mean_grade", "number"),
            lb.col("satisfied", "percent"),
            lb.col("repeat_handling", "percent"),
            lb.col("breaches"),
            lb.col("penalties", "money"),
            lb.col("training"),
            lb.col("discipline"),
            lb.col("reward"),
        ],
        rows=rows,
        chart=Chart(kind="bar", category="staff", values=["resolved"]),
        note=lb.t("note.staff"),
    )


def _timer_name(lb: _Labels, key: str) -> str:
    found = next((r for r in lb.pack.timers if r.key == key), None)
    return pick(found.name, lb.locale) if found else key


def _timers(lb: _Labels, rows: list[queries.TimerRow]) -> Section:
    order = {r.key: i for i, r in enumerate(lb.pack.timers)}
    out = [
        [
            r.key,
            _timer_name(lb, r.key),
            r.due,
            r.on_time,
            r.late,
            r.due - r.on_time - r.late,
            rules.rate(r.on_time, r.on_time + r.late),
        ]
        for r in sorted(rows, key=lambda r: (order.get(r.key, len(order)), r.key))
    ]
    return Section(
        key="timers",
        title=lb.t("section.timers"),
        columns=[
            lb.col("key", "text"),
            lb.col("name", "text"),
            lb.col("due"),
            lb.col("on_time"),
            lb.col("late"),
            lb.col("pending"),
            lb.col("compliance", "percent"),
        ],
        rows=out,
        chart=Chart(kind="column", category="name", values=["on_time", "late"]),
        note=lb.t("note.timers"),
    )


OVERDUE_ROWS = 500
"""The overdue list shows at most this many timers (the oldest first)."""


def _overdue(
    session: Session, lb: _Labels, cutoff: datetime, rows: list[queries.OverdueRow]
) -> Section:
    orgs = {o.id: o for o in org_service.all_orgs(session)}
    names = queries.user_names(session, {r.assignee_id for r in rows if r.assignee_id})
    zone = ZoneInfo(lb.pack.timezone)
    return Section(
        key="overdue",
        title=lb.t("section.overdue"),
        columns=[
            lb.col("number", "text"),
            lb.col("title", "text"),
            lb.col("level", "text"),
            lb.col("site", "text"),
            lb.col("timer", "text"),
            lb.col("due_at", "datetime"),
            lb.col("overdue_hours", "hours"),
            lb.col("assignee", "text"),
        ],
        rows=[
            [
                r.number,
                r.title,
                lb.named("levels", r.level),
                orgs[r.site_id].name if r.site_id in orgs else "",
                _timer_name(lb, r.timer_key),
                r.due_at.astimezone(zone).strftime("%Y-%m-%d %H:%M"),
                (cutoff - r.due_at).total_seconds() / 3600,
                names.get(r.assignee_id, ""),
            ]
            for r in rows
        ],
        note=lb.t(
            "note.overdue",
            at=cutoff.astimezone(zone).strftime("%Y-%m-%d %H:%M"),
            limit=OVERDUE_ROWS,
        ),
    )


def _penalties(
    session: Session, lb: _Labels, charged: list[tuple[int | None, int, Decimal]]
) -> Section:
    names = queries.user_names(session, {uid for uid, _, _ in charged if uid is not None})
    rows = [
        [names.get(uid, lb.t("none")) if uid else lb.t("none"), n, float(total)]
        for uid, n, total in sorted(charged, key=lambda c: (-c[2], c[0] or 0))
    ]
    rows.append([lb.t("all"), sum(r[1] for r in rows), float(sum(c[2] for c in charged))])
    return Section(
        key="penalties",
        title=lb.t("section.penalties"),
        columns=[lb.col("person", "text"), lb.col("count"), lb.col("penalties", "money")],
        rows=rows,
        chart=Chart(kind="bar", category="person", values=["penalties"]),
        note=lb.t("note.penalties"),
    )


def build(
    session: Session, *, org_id: int, period: rules.Period, locale: str, now: datetime
) -> Report:
    """The report for an organisation (and everything under it) over a period."""
    t = target(session, org_id)
    lb = _Labels(locale, t.pack)
    tz = t.pack.timezone
    start, end = period.bounds(tz)
    before = rules.previous(period)
    cutoff = min(end, now)
    s = t.scope
    reads = {f"now.{k}": read for k, read in _reads(t, period, now).items()}
    reads.update(_staff_reads(t, start, end))
    reads.update(
        {
            "root_causes": lambda db: queries.root_causes(db, s, start, end),
            "received_hours": lambda db: queries.received_hours(db, s, start, end),
            "closed_hours": lambda db: queries.closed_hours(db, s, start, end),
            "merchants": lambda db: queries.merchants(db, s, start, end),
            "overdue": lambda db: queries.overdue(db, s, cutoff, OVERDUE_ROWS),
        }
    )
    reads.update(
        {f"before.{k}": read for k, read in _reads(t, before, now, breakdowns=False).items()}
    )
    got = queries.read_all(session, reads)

    def part(prefix: str) -> dict[str, Any]:
        return {k.removeprefix(prefix): v for k, v in got.items() if k.startswith(prefix)}

    now_data = _data(part("now."))
    before_data = _data(part("before."), breakdowns=False)
    received_local = rules.local_hours(got["received_hours"], tz)
    closed_local = rules.local_hours(got["closed_hours"], tz)
    categories: Counter = Counter()
    for r in now_data.cube:
        categories[r.category] += r.received
    sections = [
        _summary(
            lb,
            figures(session, t, period, now_data),
            figures(session, t, before, before_data),
        ),
        *_breakdowns(session, lb, t, now_data.cube),
        _merchants(lb, got["merchants"]),
        _trend(lb, period, rules.trend(received_local, period), rules.trend(closed_local, period)),
        _handling(lb, now_data.handling),
        _satisfaction(lb, now_data.satisfaction),
        _pareto(lb, "pareto_categories", categories, "categories"),
        _pareto(lb, "pareto_causes", got["root_causes"], "root_cause_dimensions"),
        _heatmap(lb, rules.heatmap(received_local)),
        _compensation(lb, now_data.compensation),
        _timers(lb, now_data.timers),
        _overdue(session, lb, cutoff, got["overdue"]),
        _penalties(session, lb, now_data.penalties),
        _staff(session, lb, t, got, now_data.penalties),
    ]
    return Report(
        kind=period.kind,
        title=lb.t(f"title.{period.kind}", org=t.org.name, period=period.label),
        org_code=t.org.code,
        org_name=t.org.name,
        period=period.label,
        start=period.start,
        end=period.end,
        previous_period=before.label,
        timezone=tz,
        generated_at=now,
        locale=locale,
        sections=sections,
    )


def build_kind(
    session: Session, *, kind: str, org_id: int, period: rules.Period, locale: str, now: datetime
) -> Report:
    """A report of any kind: the monthly staff review, or the figures report (`build`)."""
    if kind == "staff_review":
        return staff_review(session, org_id=org_id, period=period, locale=locale, now=now)
    return build(session, org_id=org_id, period=period, locale=locale, now=now)


def for_viewer(session: Session, report: Report, viewer_id: int) -> Report:
    """The report as one person may read it: rows naming a complaint about them (the overdue
    list, the staff review's cases) left out (回避: the person complained about never sees the
    case); the figures stay, they name no complaint."""
    about = set(
        session.scalars(select(Complaint.number).where(Complaint.staff_complained_id == viewer_id))
    )
    if not about:
        return report
    sections = []
    for s in report.sections:
        if any(c.key == "number" for c in s.columns):
            at = s.column("number")
            s = s.model_copy(update={"rows": [r for r in s.rows if r[at] not in about]})
        sections.append(s)
    return report.model_copy(update={"sections": sections})


FORMATS = ("xlsx", "pdf", "csv", "json")


def render(report: Report, fmt: str) -> tuple[bytes, str, str]:
    """(content, media type, file name) of a report in one of FORMATS."""
    from kesu.report import render_csv, render_pdf, render_xlsx

    if fmt == "json":
        content, media = report.model_dump_json(indent=2).encode(), "application/json"
    elif fmt in ("xlsx", "pdf", "csv"):
        module = {"xlsx": render_xlsx, "pdf": render_pdf, "csv": render_csv}[fmt]
        content, media = module.render(report), module.MEDIA_TYPE
    else:
        raise InvalidInput("report.unknown_format", field="format", value=fmt)
    return content, media, f"{report.filename_stem}.{fmt}"


def staff_review(
    session: Session, *, org_id: int, period: rules.Period, locale: str, now: datetime
) -> Report:
    """月度投诉责任审视 (seed 001 art. 19: by the 10th, last month's closed complaints with the
    responsibility found and the penalties, per case and per person)."""
    t = target(session, org_id)
    lb = _Labels(locale, t.pack)
    zone = ZoneInfo(t.pack.timezone)
    start, end = period.bounds(t.pack.timezone)
    cases = queries.review_cases(session, t.scope, start, end)
    charged = queries.case_penalties(session, [c.complaint_id for c in cases])
    per_case: dict[int, list[tuple[int | None, Decimal]]] = {}
    for cid, uid, amount in charged:
        per_case.setdefault(cid, []).append((uid, amount))
    people = {c.resolver_id for c in cases} | {c.staff_complained_id for c in cases}
    names = queries.user_names(session, {u for u in people | {u for _, u, _ in charged} if u})
    orgs = {o.id: o for o in org_service.all_orgs(session)}

    def who(uid: int | None) -> str:
        return names.get(uid, "") if uid else ""

    case_rows = []
    tally: dict[int, list[Any]] = {}
    for c in cases:
        inv = c.investigation or {}
        shares = lb.list_sep.join(
            f"{r['party']} {r['share']}%" for r in inv.get("responsibility", [])
        )
        founded = inv.get("founded")
        fines = per_case.get(c.complaint_id, [])
        case_rows.append(
            [
                c.number,
                c.original_number or "",
                c.title,
                lb.named("levels", c.level),
                lb.named("categories", c.category),
                orgs[c.site_id].name if c.site_id in orgs else "",
                c.closed_at.astimezone(zone).strftime("%Y-%m-%d %H:%M"),
                who(c.resolver_id),
                who(c.staff_complained_id),
                "" if founded is None else lb.t("yes" if founded else "no"),
                shares,
                lb.list_sep.join(f"{who(uid) or lb.t('none')} {amount}" for uid, amount in fines),
                float(sum((a for _, a in fines), Decimal(0))),
            ]
        )
        for uid, field in ((c.resolver_id, 0), (c.staff_complained_id, 1)):
            if uid:
                tally.setdefault(uid, [0, 0, 0, Decimal(0)])[field] += 1
        for uid, amount in fines:
            if uid:
                entry = tally.setdefault(uid, [0, 0, 0, Decimal(0)])
                entry[2] += 1
                entry[3] += amount
    person_rows = [
        [names.get(uid, str(uid)), n_res, n_about, n_pen, float(total)]
        for uid, (n_res, n_about, n_pen, total) in sorted(
            tally.items(), key=lambda kv: (-kv[1][3], names.get(kv[0], ""))
        )
    ]
    sections = [
        Section(
            key="review_cases",
            title=lb.t("section.review_cases"),
            columns=[
                lb.col("number", "text"),
                lb.col("original_number", "text"),
                lb.col("title", "text"),
                lb.col("level", "text"),
                lb.col("category", "text"),
                lb.col("site", "text"),
                lb.col("closed_at", "datetime"),
                lb.col("resolver", "text"),
                lb.col("staff_complained", "text"),
                lb.col("founded", "text"),
                lb.col("responsibility", "text"),
                lb.col("penalised", "text"),
                lb.col("penalties", "money"),
            ],
            rows=case_rows,
            note=lb.t("note.review"),
        ),
        Section(
            key="review_people",
            title=lb.t("section.review_people"),
            columns=[
                lb.col("person", "text"),
                lb.col("resolved"),
                lb.col("complained_about"),
                lb.col("count"),
                lb.col("penalties", "money"),
            ],
            rows=person_rows,
            chart=Chart(kind="bar", category="person", values=["penalties"]),
        ),
    ]
    return Report(
        kind="staff_review",
        title=lb.t("title.staff_review", org=t.org.name, period=period.label),
        org_code=t.org.code,
        org_name=t.org.name,
        period=period.label,
        start=period.start,
        end=period.end,
        timezone=t.pack.timezone,
        generated_at=now,
        locale=locale,
        sections=sections,
    )


def record_volume(
    session: Session,
    clock,
    *,
    org_id: int,
    first_day,
    last_day,
    orders: int | None,
    visits: int | None,
) -> OrgVolume:
    """Record (or correct) an organisation's orders/visits over a date range, both days included."""
    org_service.get(session, org_id)
    if last_day < first_day:
        raise InvalidInput("report.range_backwards", field="last_day")
    if orders is None and visits is None:
        raise InvalidInput("invalid.nothing_to_change", field="orders")
    for name, value in (("orders", orders), ("visits", visits)):
        if value is not None and value < 0:
            raise InvalidInput("report.negative_volume", field=name)
    row = session.scalar(
        select(OrgVolume).where(
            OrgVolume.org_id == org_id,
            OrgVolume.first_day == first_day,
            OrgVolume.last_day == last_day,
        )
    )
    if row is None:
        row = OrgVolume(org_id=org_id, first_day=first_day, last_day=last_day)
        session.add(row)
    row.orders, row.visits, row.recorded_at = orders, visits, clock.now()
    session.flush()
    return row


def default_org(session: Session) -> Organisation:
    """The whole organisation: the only group there is."""
    groups = list(session.scalars(select(Organisation).where(Organisation.kind == "group")))
    if not groups:  # a new deployment: say how to begin, not "there are 0 groups"
        raise NotFound("report.no_organisation")
    if len(groups) != 1:
        raise InvalidInput("report.org_required", field="org", count=len(groups))
    return groups[0]


# --- scheduled delivery (the worker) ------------------------------------------------------------


@dataclass(frozen=True)
class _Due:
    """A scheduled report whose moment has come, built and rendered."""

    group_id: int
    schedule: ReportSchedule
    period: rules.Period
    scope_id: int
    report: Report
    file: tuple[bytes, str, str]  # render()


def _due(session: Session, now: datetime) -> list[_Due]:
    """The scheduled reports not sent yet whose moment has come, built and rendered."""
    due = []
    groups = session.scalars(select(Organisation).where(Organisation.kind == "group"))
    for group in list(groups):
        pack = target(session, group.id).pack
        zone = ZoneInfo(pack.timezone)
        local_now = now.astimezone(zone).replace(tzinfo=None)
        for s in pack.reports.schedules:
            _moment, period = rules.scheduled(
                s.kind,
                weekday=s.weekday,
                day=s.day,
                month_of_year=s.month,
                at=s.at,
                local_now=local_now,
            )
            done = select(ReportDelivery.id).where(
                ReportDelivery.org_id == group.id,
                ReportDelivery.schedule_key == s.key,
                ReportDelivery.period == period.label,
            )
            if session.scalar(done) is not None:
                continue
            scope = _schedule_scope(session, group, s)
            if scope is None:
                continue
            built = build_kind(
                session, kind=s.kind, org_id=scope.id, period=period, locale=s.locale, now=now
            )
            due.append(_Due(group.id, s, period, scope.id, built, render(built, s.format)))
    return due


def _schedule_scope(session: Session, group: Organisation, s: ReportSchedule):
    """The organisation a schedule reports on: its `org` within this group, else the group. A
    pack serves several groups, so a code of another group's unit (or one that does not exist)
    is skipped with a warning: never another group's figures, never every schedule stopped."""
    if not s.org:
        return group
    scope = session.scalar(select(Organisation).where(Organisation.code == s.org))
    if scope is None or scope.id not in org_service.subtree_ids(session, group.id):
        warned = _warned.setdefault(session.get_bind(), set())
        if (group.id, s.key, s.org) not in warned:  # once per process, not every pass
            warned.add((group.id, s.key, s.org))
            log.warning(
                "report schedule %s of %s: no organisation %r in this group; not sent",
                s.key,
                group.code,
                s.org,
            )
        return None
    return scope


_warned: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
"""Per database (engine): the schedules `_schedule_scope` has warned about in this process."""


def send_scheduled(session: Session, clock) -> int:
    """Worker job: build and send every report a pack schedules whose moment has come, once per
    (group, schedule, period) — the delivery row is inserted ON CONFLICT DO NOTHING, and only
    the worker whose row went in sends, so two workers or a restart never send it twice. The
    reports are built in a read-only session of their own: the job's session writes only the
    deliveries, so the write lock is not held while they are built."""
    from kesu.notify import service as notify_service

    now = clock.now()
    sent = 0
    # an e-mail is read away from Kesu: where KESU_PUBLIC_URL says Kesu is, the link is whole
    settings = session.info.get("settings")
    public_url = (settings.public_url or "").rstrip("/") if settings is not None else ""
    with reading(make_sessionmaker(session.get_bind())) as read:
        due = _due(read, now)
    for d in due:
        s, period, built = d.schedule, d.period, d.report
        content, media, name = d.file
        claimed = session.execute(
            _insert(session)(ReportDelivery)
            .values(
                org_id=d.group_id,
                schedule_key=s.key,
                period=period.label,
                kind=s.kind,
                scope_org_id=d.scope_id,
                filename=name,
                media_type=media,
                content=content,
                report=built.model_dump(mode="json"),
                recipients=0,
                created_at=now,
            )
            .on_conflict_do_nothing(index_elements=["org_id", "schedule_key", "period"])
            .returning(ReportDelivery.id)
        ).first()
        if claimed is None:
            continue  # another worker sent it
        users = session.scalars(  # those whose node covers the report's organisation: a
            # store's or the other region's staff may not open a region's report, nor read its
            # figures in the message
            select(User.id).where(
                User.org_id.in_(org_service.ancestors(session, d.scope_id)),
                User.role.in_(s.to_roles),
                User.active.is_(True),
            )
        )
        headline = {r[0]: r[3] for r in built.sections[0].rows} if s.kind != "staff_review" else {}
        delivery = session.get(ReportDelivery, claimed[0])
        link = f"{public_url}/api/v1/reports/deliveries/{delivery.id}/file"
        delivery.recipients = notify_service.notify_users(
            session,
            now=now,
            user_ids=list(users),
            template="report_ready",
            params={
                "title": built.title,
                "received": headline.get("received", "—"),
                "closed": headline.get("closed", "—"),
                "open": headline.get("open_at_end", "—"),
                "link": link,
            },
            dedupe_key=f"report:{d.group_id}:{s.key}:{period.label}",
        )
        sent += 1
    session.flush()
    return sent


def delivered(session: Session, row: ReportDelivery, viewer_id: int) -> tuple[bytes, str, str]:
    """(content, media type, file name) of a scheduled report as one person may read it: the
    file as sent, or, where it lists complaints about them (回避), rendered again from the
    report it was made from without those rows (`for_viewer`). A delivery from before the
    report was kept beside its file (migration 0020) is served as sent."""
    if row.report is None:
        return row.content, row.media_type, row.filename
    sent = Report.model_validate(row.report)
    mine = for_viewer(session, sent, viewer_id)
    if mine is sent:
        return row.content, row.media_type, row.filename
    content, media, _name = render(mine, row.filename.rsplit(".", 1)[-1])
    return content, media, row.filename


def deliveries(session: Session, principal: Principal, limit: int = 20) -> list[ReportDelivery]:
    """The scheduled reports sent in the viewer's group that the viewer may see (their scope
    covers the report's organisation), newest first; the files themselves are not read."""
    rows = session.scalars(
        select(ReportDelivery)
        .options(defer(ReportDelivery.content))
        .where(ReportDelivery.org_id == principal.group_id)
        .order_by(ReportDelivery.created_at.desc(), ReportDelivery.id.desc())
        .limit(limit * 10)
    )
    return [r for r in rows if in_scope(principal, r.org_id, r.scope_org_id)][:limit]


def _insert(session: Session):
    from sqlalchemy.dialects.postgresql import insert as pg_insert
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
