"""Every figure of a report equals an independent computation over the same rows.

The dataset (tests/report/dataset.py) is a year and a half of complaints with their events,
timers and penalties. Here the rows are read back as plain values and each figure of
docs/reports.md is recomputed with plain Python — no code of kesu.report is used for it —
for a week, a month and a year, for the whole group and for one region, on both databases.
"""

from __future__ import annotations

import math
import statistics
from collections import Counter, defaultdict
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from pytest import approx
from sqlalchemy import select

from kesu.access.models import User
from kesu.complaint.models import Complaint, ComplaintEvent
from kesu.db.session import reading, transaction
from kesu.org.models import Organisation
from kesu.report import rules, service
from kesu.sla.models import Penalty, Timer
from report import dataset

TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 26, 2, 0, tzinfo=UTC)
ACCEPT = {1, 2, 3}


class Truth:
    """The dataset as plain values, and each definition of docs/reports.md written out."""

    def __init__(self, session, scope_code: str) -> None:
        orgs = {o.id: o for o in session.scalars(select(Organisation))}
        root = next(o for o in orgs.values() if o.code == scope_code)
        under = {root.id}
        grew = True
        while grew:
            more = {o.id for o in orgs.values() if o.parent_id in under} - under
            under |= more
            grew = bool(more)
        self.orgs = orgs
        self.group = root.kind == "group"
        everything = list(session.scalars(select(Complaint)))
        self.history = defaultdict(list)  # repeats look across the whole group
        for c in everything:
            self.history[c.complainant_id].append(c)
        self.rows = [
            c for c in everything if self.group or c.site_id in under or c.department_id in under
        ]
        ids = {c.id for c in self.rows}
        self.events = [e for e in session.scalars(select(ComplaintEvent)) if e.complaint_id in ids]
        self.by_complaint = defaultdict(list)
        for e in self.events:
            self.by_complaint[e.complaint_id].append(e)
        self.timers = [t for t in session.scalars(select(Timer)) if t.complaint_id in ids]
        self.penalties = [p for p in session.scalars(select(Penalty)) if p.complaint_id in ids]
        self.names = {u.id: u.display_name for u in session.scalars(select(User))}

    @staticmethod
    def bounds(period) -> tuple[datetime, datetime]:
        return (
            datetime.combine(period.start, time(), TZ).astimezone(UTC),
            datetime.combine(period.end, time(), TZ).astimezone(UTC),
        )

    def received(self, s, e):
        return [c for c in self.rows if s <= c.received_at < e]

    def closed(self, s, e):
        return [c for c in self.rows if c.closed_at is not None and s <= c.closed_at < e]

    @staticmethod
    def seconds(later, earlier) -> int:
        return int(later.timestamp()) - int(earlier.timestamp())

    def headline(self, period) -> dict:
        s, e = self.bounds(period)
        got, done = self.received(s, e), self.closed(s, e)
        secs = sorted(self.seconds(c.closed_at, c.received_at) for c in done)
        valid = [c for c in done if c.classification == "valid"]
        fcr = [
            c
            for c in valid
            if c.round == 1
            and not any(
                ev.command in ("escalate", "accept_transfer") for ev in self.by_complaint[c.id]
            )
        ]
        repeats = [
            c
            for c in got
            if any(
                p.id != c.id
                and p.complainant_id == c.complainant_id
                and p.org_id == c.org_id
                and p.category == c.category
                and c.received_at - timedelta(days=90) <= p.received_at < c.received_at
                for p in self.history[c.complainant_id]
            )
        ]
        in_period = [ev for ev in self.events if s <= ev.at < e]
        reopens = sum(ev.command == "reopen" for ev in in_period)
        closes = sum(ev.command == "close" for ev in in_period)
        rated = [c for c in done if c.satisfaction is not None]
        due = self.timers_due(s, e)
        return {
            "received": len(got),
            "closed": len(done),
            "closed_of_received": sum(1 for c in got if c.closed_at and c.closed_at < e),
            "open_at_end": sum(
                1
                for c in self.rows
                if c.received_at < e and (c.closed_at is None or c.closed_at >= e)
            ),
            "handling_mean": statistics.mean(secs) / 3600 if secs else None,
            "handling_median": statistics.median(secs) / 3600 if secs else None,
            "handling_p90": secs[math.ceil(0.9 * len(secs)) - 1] / 3600 if secs else None,
            "fcr": 100 * len(fcr) / len(valid) if valid else None,
            "repeat": 100 * len(repeats) / len(got) if got else None,
            "reopen": 100 * reopens / closes if closes else None,
            "satisfied": (
                100 * sum(c.satisfaction in ACCEPT for c in rated) / len(rated) if rated else None
            ),
            "compensation": float(sum(amount for _, amount in self.implemented(s, e))),
            "per_10k_orders": None,
            "per_10k_visits": None,
            "timer_compliance": (
                100 * sum(ok for _, ok, _ in due) / sum(ok + late for _, ok, late in due)
                if due
                else None
            ),
            "breaches": sum(late for _, _, late in due),
            "penalties": float(sum(p.amount for p in self.penalties if s <= p.created_at < e)),
        }

    def implemented(self, s, e) -> list[tuple[str, Decimal]]:
        out = []
        for ev in self.events:
            if ev.command == "implement" and s <= ev.at < e:
                proposals = [
                    p
                    for p in self.by_complaint[ev.complaint_id]
                    if p.command == "propose_solution" and p.seq < ev.seq
                ]
                last = max(proposals, key=lambda p: p.seq)
                out.append((last.payload["solution_type"], Decimal(last.payload["amount"])))
        return out

    def timers_due(self, s, e) -> list[tuple[str, int, int]]:
        """(key, on time, late) per timer falling due in [s, e)."""
        cutoff = min(e, NOW)
        out = []
        for t in self.timers:
            if not (s <= t.due_at < e) or (t.cancelled_at and t.cancelled_at < t.due_at):
                continue
            ok = t.met_at is not None and t.met_at <= t.due_at
            late = not ok and (t.met_at is not None or t.due_at < cutoff)
            out.append((t.key, int(ok), int(late)))
        return out


def _sections(report) -> dict:
    return {s.key: s.as_dicts() for s in report.sections}


def _check(report, truth: Truth, period) -> None:
    sec = _sections(report)
    s, e = truth.bounds(period)
    got, done = truth.received(s, e), truth.closed(s, e)

    # summary: this period and the previous one
    summary = {r["key"]: r for r in sec["summary"]}
    here, before = truth.headline(period), truth.headline(rules.previous(period))
    for key, value in here.items():
        assert summary[key]["current"] == approx(value), key
        assert summary[key]["previous"] == approx(before[key]), key

    # breakdowns of the complaints received, with how many were closed by the end
    def breakdown(attr):
        counts, closed = Counter(), Counter()
        for c in got:
            counts[attr(c)] += 1
            closed[attr(c)] += bool(c.closed_at and c.closed_at < e)
        return counts, closed

    for key, attr in (
        ("by_level", lambda c: c.level),
        ("by_category", lambda c: c.category or ""),
        ("by_channel", lambda c: c.channel),
        ("by_site", lambda c: truth.orgs[c.site_id].code),
        ("by_department", lambda c: truth.orgs[c.department_id].code),
    ):
        counts, closed = breakdown(attr)
        shown = {r["key"]: r for r in sec[key] if r["received"]}
        assert {k: r["received"] for k, r in shown.items()} == dict(counts), key
        assert {k: r["closed_of_received"] for k, r in shown.items()} == dict(closed), key
        assert {k: r["open_of_received"] for k, r in shown.items()} == {
            k: counts[k] - closed[k] for k in counts
        }, key
    merchants = Counter(c.subject["merchant"] for c in got if c.subject.get("merchant"))
    assert {r["merchant"]: r["received"] for r in sec["by_merchant"]} == dict(merchants)

    # trend (by local day, or local month for a year) and the weekday × hour heat-map
    def bucket(at):
        local = at.astimezone(TZ).date()
        return local.replace(day=1) if period.kind == "annual" else local

    fmt = "%Y-%m" if period.kind == "annual" else "%Y-%m-%d"
    rec, clo = (
        Counter(bucket(c.received_at) for c in got),
        Counter(bucket(c.closed_at) for c in done),
    )
    trend = {r["bucket"]: (r["received"], r["closed"]) for r in sec["trend"]}
    assert sum(v[0] for v in trend.values()) == len(got)
    for day, n in rec.items():
        assert trend[day.strftime(fmt)][0] == n
    for day, n in clo.items():
        assert trend[day.strftime(fmt)][1] == n
    grid = Counter(
        (c.received_at.astimezone(TZ).weekday(), c.received_at.astimezone(TZ).hour) for c in got
    )
    for d, row in enumerate(sec["heatmap"]):
        assert [row[f"h{h:02d}"] for h in range(24)] == [grid[(d, h)] for h in range(24)]

    # handling time by level
    for row in sec["handling_time"]:
        secs = sorted(
            truth.seconds(c.closed_at, c.received_at) for c in done if row["key"] in ("", c.level)
        )
        assert row["closed"] == len(secs)
        if secs:
            assert row["mean_hours"] == approx(statistics.mean(secs) / 3600)
            assert row["median_hours"] == approx(statistics.median(secs) / 3600)
            assert row["p90_hours"] == approx(secs[math.ceil(0.9 * len(secs)) - 1] / 3600)

    # satisfaction of the complaints closed in the period
    grades = Counter(c.satisfaction for c in done)
    shown = {r["key"]: r["closed"] for r in sec["satisfaction"]}
    assert shown == {**{str(g): grades[g] for g in (1, 2, 3, 4, 5)}, "": grades[None]}

    # Pareto of categories (received) and of root causes (closed)
    def pareto(counts):
        total = sum(counts.values())
        ordered = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
        running, out = 0, []
        for key, n in ordered:
            out.append((key, n, approx(n / total), approx((running + n) / total)))
            running += n
        return out

    cats = Counter(c.category or "" for c in got)
    assert [
        (r["key"], r["count"], r["share"], r["cumulative"]) for r in sec["pareto_categories"]
    ] == pareto(cats)
    causes = Counter(k for c in done if c.investigation for k in c.investigation["root_causes"])
    assert [
        (r["key"], r["count"], r["share"], r["cumulative"]) for r in sec["pareto_causes"]
    ] == pareto(causes)

    # compensation by solution type
    money: dict[str, list] = defaultdict(lambda: [0, Decimal(0)])
    for kind, amount in truth.implemented(s, e):
        money[kind][0] += 1
        money[kind][1] += amount
    shown = {r["key"]: (r["implemented"], r["amount"]) for r in sec["compensation"] if r["key"]}
    assert shown == {k: (n, approx(float(a))) for k, (n, a) in money.items()}

    # timers, overdue list, penalties
    per_timer: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    for key, ok, late in truth.timers_due(s, e):
        per_timer[key][0] += 1
        per_timer[key][1] += ok
        per_timer[key][2] += late
    assert {r["key"]: [r["due"], r["on_time"], r["late"]] for r in sec["timers"]} == per_timer
    cutoff = min(e, NOW)
    open_ids = {
        c.id
        for c in truth.rows
        if c.received_at < cutoff and (c.closed_at is None or c.closed_at > cutoff)
    }
    overdue = sorted(
        (t.due_at, t.complaint_id, t.key)
        for t in truth.timers
        if t.complaint_id in open_ids
        and t.started_at < cutoff
        and t.due_at < cutoff
        and (t.met_at is None or t.met_at > cutoff)
        and (t.cancelled_at is None or t.cancelled_at > cutoff)
    )[: service.OVERDUE_ROWS]
    numbers = {c.id: c.number for c in truth.rows}
    assert [r["number"] for r in sec["overdue"]] == [numbers[cid] for _, cid, _ in overdue]
    charged: dict[int, list] = defaultdict(lambda: [0, Decimal(0)])
    for p in truth.penalties:
        if s <= p.created_at < e:
            charged[p.user_id][0] += 1
            charged[p.user_id][1] += p.amount
    shown = {r["person"]: (r["count"], r["penalties"]) for r in sec["penalties"][:-1]}
    assert shown == {truth.names[u]: (n, approx(float(a))) for u, (n, a) in charged.items()}

    # staff: first contacts of complaints received, resolutions of complaints closed
    contacts: dict[int, list[int]] = defaultdict(list)
    for c in got:
        if c.first_contact_at:
            ev = next(
                ev
                for ev in truth.by_complaint[c.id]
                if ev.command == "record_contact" and ev.at == c.first_contact_at
            )
            contacts[ev.actor_id].append(truth.seconds(c.first_contact_at, c.received_at))
    resolved: dict[int, list] = defaultdict(list)
    for c in done:
        ev = next(
            (
                ev
                for ev in truth.by_complaint[c.id]
                if ev.command == "implement" and ev.at == c.resolved_at
            ),
            None,
        )
        if ev is not None:
            resolved[ev.actor_id].append(c)
    staff = {r["staff"]: r for r in sec["staff"]}
    for uid in set(contacts) | set(resolved) | set(charged):
        row = staff[truth.names[uid]]
        mine = contacts.get(uid, [])
        assert row["contacts"] == len(mine)
        if mine:
            assert row["response_minutes"] == approx(sum(mine) / len(mine) / 60)
        cases = resolved.get(uid, [])
        assert row["resolved"] == len(cases)
        rated = [c.satisfaction for c in cases if c.satisfaction is not None]
        assert row["rated"] == len(rated)
        if rated:
            assert row["mean_grade"] == approx(sum(rated) / len(rated))
            assert row["satisfied"] == approx(sum(g in ACCEPT for g in rated) / len(rated))
        if cases:
            assert row["repeat_handling"] == approx(sum(c.round > 1 for c in cases) / len(cases))
        assert row["breaches"] == charged[uid][0] if uid in charged else row["breaches"] == 0
    assert len(staff) == len(set(contacts) | set(resolved) | set(charged))


PERIODS = {
    "week": rules.week(2025, 23),
    "month": rules.month(2025, 6),
    "year": rules.year(2025),
}


@pytest.mark.parametrize("which", list(PERIODS))
def test_every_figure_of_a_group_report_matches_a_plain_recount(sessions, org, which):
    with transaction(sessions) as session:
        dataset.load(session, org)
    period = PERIODS[which]
    with reading(sessions) as session:
        report = service.build(session, org_id=org["HX"], period=period, locale="zh_Hans", now=NOW)
        truth = Truth(session, "HX")
    assert truth.received(*truth.bounds(period)), "the period has complaints"
    _check(report, truth, period)


def test_a_region_report_counts_only_the_complaints_of_its_sites(sessions, org):
    with transaction(sessions) as session:
        dataset.load(session, org)
    period = PERIODS["month"]
    with reading(sessions) as session:
        report = service.build(session, org_id=org["EAST"], period=period, locale="en", now=NOW)
        truth = Truth(session, "EAST")
        whole = service.build(session, org_id=org["HX"], period=period, locale="en", now=NOW)
    _check(report, truth, period)
    region = report.section("summary").as_dicts()[0]["current"]
    group = whole.section("summary").as_dicts()[0]["current"]
    assert 0 < region < group
    assert report.title == "华东大区 monthly complaint report (2025-06)"


def test_periods_default_to_the_last_complete_week_month_and_year():
    today = date(2026, 11, 26)  # a Thursday
    assert rules.last_complete("weekly", today).label == "2026-W47"
    assert rules.last_complete("weekly", today).start == date(2026, 11, 16)
    assert rules.last_complete("monthly", today).label == "2026-10"
    assert rules.last_complete("annual", today).label == "2025"
    assert rules.previous(rules.week(2026, 1)).label == "2025-W52"
    assert rules.previous(rules.date_range(date(2026, 3, 1), date(2026, 3, 10))).label == (
        "2026-02-19..2026-02-28"
    )
