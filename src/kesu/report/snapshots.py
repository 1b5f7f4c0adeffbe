"""Stored reports for the console's report page (报表快照).

A report over a group's week, month or year reads every complaint of the period: too slow to
build on each page view. The page shows the report as last built (`ReportSnapshot`, with the
time it was built); "重新生成" builds and stores it now; a period nobody has looked at yet is
built once on the spot. The worker (`refresh`) keeps what people look at current: the default
periods of every group (last complete week and month, last complete and this year, in the
default language and in each other one the group's staff use) and every
stored snapshot of a period that had not ended when it was built — every `REFRESH` while the
period runs, and once more after it has ended; a snapshot built after its period ended is final.

A built report carries its labels in one language, so a snapshot is per locale. Downloads keep
building live (`kesu.report.service`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import delete, or_, select
from sqlalchemy.orm import Session

from kesu.access.models import User
from kesu.db.session import make_sessionmaker, reading
from kesu.i18n import DEFAULT_LOCALE, normalise
from kesu.org import service as org_service
from kesu.org.models import Organisation
from kesu.report import rules
from kesu.report import service as report_service
from kesu.report.models import ReportSnapshot
from kesu.report.schemas import Report

REFRESH = timedelta(minutes=30)
"""How old a snapshot of a running period may grow before the worker builds it again."""

PER_PASS = 4
"""Snapshots the worker builds in one pass at most (a year's report takes seconds), oldest
first: the rest wait for the next pass, so one pass never holds the worker for long."""


@dataclass(frozen=True)
class Shown:
    report: Report
    built_at: datetime


def _period_end(session: Session, org_id: int, period: rules.Period) -> datetime:
    return period.bounds(report_service.target(session, org_id).pack.timezone)[1]


@dataclass(frozen=True)
class Key:
    """What a snapshot is of."""

    kind: str
    org_id: int
    period: rules.Period
    locale: str


def make(session: Session, key: Key, now: datetime) -> Report:
    """Build the report now, reading only: in a read-only session (`reading`, `ReadDb`) its
    reads run in parallel and no write lock is held (on SQLite, writers would wait seconds)."""
    return report_service.build_kind(
        session, kind=key.kind, org_id=key.org_id, period=key.period, locale=key.locale, now=now
    )


def store(session: Session, key: Key, report: Report, now: datetime) -> Shown:
    """Store a report built at `now` (replacing the stored one); the caller commits."""
    values = {
        "period_end": _period_end(session, key.org_id, key.period),
        "content": report.model_dump_json(),
        "built_at": now,
    }
    row = {
        "org_id": key.org_id,
        "kind": key.kind,
        "period": key.period.label,
        "locale": key.locale,
    }
    session.execute(
        report_service._insert(session)(ReportSnapshot)
        .values(**row, **values)
        .on_conflict_do_update(index_elements=list(row), set_=values)
    )
    session.flush()
    return Shown(report, now)


def stored(session: Session, key: Key) -> Shown | None:
    row = session.execute(
        select(ReportSnapshot.content, ReportSnapshot.built_at).where(
            ReportSnapshot.org_id == key.org_id,
            ReportSnapshot.kind == key.kind,
            ReportSnapshot.period == key.period.label,
            ReportSnapshot.locale == key.locale,
        )
    ).first()
    return None if row is None else Shown(Report.model_validate_json(row.content), row.built_at)


def shown(read: Session, write: Session, key: Key, now: datetime) -> tuple[Shown, bool]:
    """The stored report, or (never built yet) one built now in `read` and stored in `write`;
    and whether it was built now (the caller commits `write`)."""
    found = stored(read, key)
    if found is not None:
        return found, False
    return store(write, key, make(read, key, now), now), True


def outdate(session: Session, group_id: int, since: datetime) -> int:
    """Drop the stored snapshots of a group and everything under it whose period ends after
    `since`: history was written into those periods after they were built (a ledger import of
    old complaints), and a snapshot built after its period ended would never be rebuilt. The
    page builds a dropped one on its next view, the worker the defaults on its next pass."""
    ids = org_service.subtree_ids(session, group_id)
    return session.execute(
        delete(ReportSnapshot).where(
            ReportSnapshot.org_id.in_(ids), ReportSnapshot.period_end > since
        )
    ).rowcount


def defaults(today) -> list[rules.Period]:
    """The periods the report page opens on, and this year so far."""
    return [
        rules.last_complete("weekly", today),
        rules.last_complete("monthly", today),
        rules.last_complete("annual", today),
        rules.year(today.year),
    ]


def period_of(kind: str, label: str) -> rules.Period:
    """The period a stored snapshot is of, from its kind and label."""
    if kind == "range":
        first, last = label.split("..")
        return rules.date_range(date.fromisoformat(first), date.fromisoformat(last))
    return rules.parse("monthly" if kind == "staff_review" else kind, label)


def refresh(session: Session, clock) -> int:
    """Worker job: build the default snapshots of every group that are missing, and rebuild
    the stored ones that are stale (see the module's docstring); at most `PER_PASS`. They are
    built in a read-only session of their own and only stored in the job's: the write lock is
    held for the storing, not for the seconds a year's report takes."""
    now = clock.now()
    with reading(make_sessionmaker(session.get_bind())) as read:
        built = [(key, make(read, key, now)) for key in _due(read, now, _default_locale(session))]
    for key, report in built:
        store(session, key, report, now)
    return len(built)


def _due(session: Session, now: datetime, locale: str) -> list[Key]:
    """The snapshots to build this pass: missing defaults first (in the deployment's default
    language for every group, then in the other languages a group's staff read), then the
    stalest."""
    wanted: list[tuple[int, Key]] = []
    for group in list(session.scalars(select(Organisation).where(Organisation.kind == "group"))):
        today = report_service.today_of(report_service.target(session, group.id).pack, now)
        for rank, language in enumerate(_languages(session, group.id, locale)):
            wanted += [(rank, Key(p.kind, group.id, p, language)) for p in defaults(today)]
    due: list[Key] = []
    for _, key in sorted(wanted, key=lambda w: w[0]):
        if len(due) == PER_PASS:
            break
        if stored(session, key) is None:
            due.append(key)
    stale = session.execute(
        select(ReportSnapshot.org_id, ReportSnapshot.kind, ReportSnapshot.period)
        .add_columns(ReportSnapshot.locale)
        .where(
            ReportSnapshot.built_at < ReportSnapshot.period_end,
            or_(ReportSnapshot.period_end <= now, ReportSnapshot.built_at <= now - REFRESH),
        )
        .order_by(ReportSnapshot.built_at)
        .limit(max(PER_PASS - len(due), 0))
    ).all()
    due.extend(Key(kind, org_id, period_of(kind, label), loc) for org_id, kind, label, loc in stale)
    return due


def _languages(session: Session, group_id: int, default: str) -> list[str]:
    """The languages a group's reports are read in: the default, then each other one its
    active staff use (the console's language switch keeps a staff member's)."""
    used = session.scalars(
        select(User.locale)
        .where(User.active.is_(True), User.org_id.in_(org_service.subtree_ids(session, group_id)))
        .distinct()
    )
    return [default, *sorted({normalise(u) for u in used} - {default})]


def _default_locale(session: Session) -> str:
    """The language the console shows when nobody has chosen one (`KESU_DEFAULT_LOCALE`, as
    `web.pages.page_locale` falls back to): the defaults are built in it. The worker's
    sessions carry the settings in `info`; without them, Simplified Chinese."""
    settings = session.info.get("settings")
    return normalise(settings.default_locale) if settings is not None else DEFAULT_LOCALE
