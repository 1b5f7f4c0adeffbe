"""`kesu calendar …`: per-organisation closed days, admin-entered official years, and the
check for years without official data (an entry point, added to kesu.cli)."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

import typer
import yaml

from kesu.clock import SystemClock
from kesu.errors import KesuError
from kesu.settings import Settings

calendar_app = typer.Typer(
    help="Working-day calendar: closed days, official holiday years, provisional-year check."
)

Org = Annotated[str, typer.Argument(help="organisation code (a group, region or site)")]
Day = Annotated[str, typer.Argument(help="a date, YYYY-MM-DD")]


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        typer.echo(f"error: {text!r} is not a date (YYYY-MM-DD)", err=True)
        raise typer.Exit(1) from None


def _org_id(session, code: str) -> int:
    from sqlalchemy import select

    from kesu.org.models import Organisation

    found = session.scalar(select(Organisation.id).where(Organisation.code == code))
    if found is None:
        typer.echo(f"error: no organisation with code {code!r}", err=True)
        raise typer.Exit(1)
    return found


def _set_day(org: str, day: str, working: bool | None, note: str | None) -> None:
    from kesu.cli import _fail, _sessions, counted
    from kesu.db.session import transaction
    from kesu.sla import service

    when = _day(day)
    _engine, sessions = _sessions(Settings())
    try:
        with transaction(sessions) as session:
            org_id = _org_id(session, org)
            if working is None:
                moved = service.clear_day(session, SystemClock(), org_id, when)
            else:
                moved = service.set_day(
                    session, SystemClock(), org_id, when, working=working, note=note
                )
    except KesuError as exc:
        _fail(exc)
    what = {None: "back to the official calendar", True: "a working day", False: "closed"}
    typer.echo(f"{org} {when}: {what[working]}; {counted(moved, 'running deadline')} moved")


@calendar_app.command("close-day")
def close_day(org: Org, day: Day, note: Annotated[str | None, typer.Option()] = None) -> None:
    """Close an organisation on a day (e.g. a stocktaking day): no working time counts."""
    _set_day(org, day, False, note)


@calendar_app.command("open-day")
def open_day(org: Org, day: Day, note: Annotated[str | None, typer.Option()] = None) -> None:
    """Make a day a working day for an organisation although the official calendar rests."""
    _set_day(org, day, True, note)


@calendar_app.command("clear-day")
def clear_day(org: Org, day: Day) -> None:
    """Remove an organisation's own setting for a day."""
    _set_day(org, day, None, None)


@calendar_app.command("year")
def enter_year(org: Org, path: Path) -> None:
    """Enter a year's official schedule from a YAML file:
    `year: 2027`, `holidays: [2027-01-01, …]`, `makeup_workdays: [2027-02-07, …]` (调休)."""
    from kesu.cli import _fail, _sessions, counted
    from kesu.db.session import transaction
    from kesu.org import service as org_service
    from kesu.sla import service

    problems, schedule = _read_schedule(path)
    for problem in problems:
        typer.echo(f"error: {path}: {problem}", err=True)
    if schedule is None:
        raise typer.Exit(1)
    _engine, sessions = _sessions(Settings())
    try:
        with transaction(sessions) as session:
            org_id = _org_id(session, org)
            group = org_service.group_of(session, org_id).code
            moved = service.enter_year(session, SystemClock(), org_id, schedule)
    except KesuError as exc:
        _fail(exc)
    whose = group if group == org else f"{group} (the group of {org}: a year is the group's)"
    typer.echo(
        f"{whose}: official schedule for {schedule.year} entered "
        f"({counted(len(schedule.holidays), 'holiday')}, "
        f"{counted(len(schedule.makeup_workdays), 'make-up day')}); "
        f"{counted(moved, 'deadline')} moved"
    )


SCHEDULE_FIELDS = ("year", "holidays", "makeup_workdays")


class _DatesAsText(yaml.SafeLoader):
    """YAML's safe loader with dates left as their text, so that 2027-02-30 is one item's
    problem (named with its field) rather than the whole file failing to load."""


_DatesAsText.add_constructor(
    "tag:yaml.org,2002:timestamp", lambda loader, node: loader.construct_scalar(node)
)


def _read_schedule(path: Path):
    """A year's schedule from its YAML file, or every problem of the file, each naming the
    field (and item) and the rule: a misspelt `makeup_workdays` is refused, not read as a year
    without 调休 days."""
    from kesu.calendar import YearSchedule

    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_DatesAsText)
    except OSError as exc:
        return [f"cannot read the file: {exc.strerror or exc}"], None
    except UnicodeDecodeError:
        return ["not UTF-8 text: save the file as UTF-8"], None
    except yaml.YAMLError as exc:
        return [f"not valid YAML: {' '.join(str(exc).split())}"], None
    if not isinstance(data, dict):
        return [f"a schedule is a mapping of {', '.join(SCHEDULE_FIELDS)}"], None
    problems = [
        f"{key}: not an accepted field (accepted: {', '.join(SCHEDULE_FIELDS)})"
        for key in data
        if key not in SCHEDULE_FIELDS
    ]
    year = data.get("year")
    if isinstance(year, bool) or not isinstance(year, int) or not 2000 <= year <= 2100:
        problems.append(f"year: required, a year such as 2027 (found {year!r})")
        year = None
    days: dict[str, set[date]] = {}
    for field in ("holidays", "makeup_workdays"):
        days[field] = set()
        items = data.get(field) or []
        if not isinstance(items, list):
            problems.append(f"{field}: must be a list of dates, e.g. [2027-01-01, 2027-02-06]")
            continue
        for i, item in enumerate(items):
            try:
                day = date.fromisoformat(str(item))
            except ValueError:
                problems.append(f"{field}.{i}: {str(item)!r} is not a date (YYYY-MM-DD)")
                continue
            if year is not None and day.year != year:
                problems.append(f"{field}.{i}: {day} is outside {year}")
            days[field].add(day)
    for day in sorted(days["holidays"] & days["makeup_workdays"]):
        problems.append(f"{day}: both a holiday and a make-up working day")
    if problems:
        return problems, None
    return [], YearSchedule(year, frozenset(days["holidays"]), frozenset(days["makeup_workdays"]))


@calendar_app.command("check")
def check() -> None:
    """Warn about years without official holiday data (deadlines there are provisional) for
    every group; exit 1 when there is something to enter."""
    from zoneinfo import ZoneInfo

    from sqlalchemy import select

    from kesu.cli import _sessions, counted
    from kesu.db.session import reading
    from kesu.org.models import Organisation
    from kesu.policy import service as policy_service
    from kesu.sla import queries

    _engine, sessions = _sessions(Settings())
    now = SystemClock().now()
    problems = 0
    with reading(sessions) as session:
        groups = session.scalars(select(Organisation).where(Organisation.kind == "group"))
        for group in groups:
            version = policy_service.current(session, group.pack_key)
            pack = policy_service.pack_of(session, version.id)
            today = now.astimezone(ZoneInfo(pack.timezone)).date()
            years = queries.provisional_years_ahead(session, pack, group.id, today)
            count = queries.provisional_complaints(session, group.id)
            if years or count:
                problems += 1
                typer.echo(
                    f"warning: {group.code}: no official holiday data for "
                    f"{', '.join(map(str, years)) or '-'}; {counted(count, 'open complaint')} "
                    f"{'has' if count == 1 else 'have'} a "
                    f"provisional deadline. Enter the year with `kesu calendar year "
                    f"{group.code} FILE` once the State Council publishes it.",
                    err=True,
                )
            else:
                typer.echo(f"{group.code}: official calendar data covers every open deadline")
    if problems:
        raise typer.Exit(1)
