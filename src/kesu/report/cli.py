"""`kesu report …`: build a report and write it to a file (an entry point, added to kesu.cli)."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Annotated

import typer

from kesu.clock import SystemClock
from kesu.errors import KesuError
from kesu.settings import Settings

report_app = typer.Typer(
    help="Reports (统计报告): weekly, monthly, annual or any range; the monthly staff review."
)

Org = Annotated[str | None, typer.Option("--org", help="organisation code (default: the group)")]
Period = Annotated[
    str | None, typer.Option(help="2026-W47 | 2026-11 | 2026 (default: the last complete one)")
]
Format = Annotated[
    str | None, typer.Option("--format", help="xlsx | pdf | csv | json (default: from --output)")
]
Output = Annotated[Path | None, typer.Option(help="file to write (default: a name in .)")]
Lang = Annotated[str | None, typer.Option("--lang", help="zh_Hans | zh_Hant | en")]


def _write(
    kind: str,
    org: str | None,
    period: str | None,
    fmt: str | None,
    output: Path | None,
    lang: str | None,
    first: date | None = None,
    last: date | None = None,
) -> None:
    from kesu.cli import _fail, _sessions, cli_locale, write_output
    from kesu.db.session import reading
    from kesu.org import service as org_service
    from kesu.report import service

    settings = Settings()
    fmt = (fmt or (output.suffix.lstrip(".") if output and output.suffix else "xlsx")).lower()
    locale = cli_locale(lang, settings.default_locale)
    _engine, sessions = _sessions(settings)
    now = SystemClock().now()
    try:
        with reading(sessions) as session:
            scope = org_service.by_code(session, org) if org else service.default_org(session)
            pack = service.target(session, scope.id).pack
            today = service.today_of(pack, now)
            if kind == "staff_review":
                chosen = service.period_for("monthly", period, today)
                report = service.staff_review(
                    session, org_id=scope.id, period=chosen, locale=locale, now=now
                )
            else:
                chosen = service.period_for(kind, period, today, first, last)
                report = service.build(
                    session, org_id=scope.id, period=chosen, locale=locale, now=now
                )
            content, _media, name = service.render(report, fmt)
    except KesuError as exc:
        _fail(exc, locale)
    path = output or Path(name)
    write_output(path, content, locale)
    typer.echo(f"{path}: {report.title}")


@report_app.command()
def weekly(
    org: Org = None,
    period: Period = None,
    format: Format = None,
    output: Output = None,
    lang: Lang = None,
) -> None:
    """每周客怨统计报告 / 投诉周报 (ISO weeks, Monday to Sunday)."""
    _write("weekly", org, period, format, output, lang)


@report_app.command()
def monthly(
    org: Org = None,
    period: Period = None,
    format: Format = None,
    output: Output = None,
    lang: Lang = None,
) -> None:
    """投诉月报."""
    _write("monthly", org, period, format, output, lang)


@report_app.command()
def annual(
    org: Org = None,
    period: Period = None,
    format: Format = None,
    output: Output = None,
    lang: Lang = None,
) -> None:
    """年度分析报告."""
    _write("annual", org, period, format, output, lang)


@report_app.command("range")
def date_range(
    first: Annotated[datetime, typer.Option("--from", formats=["%Y-%m-%d"], help="first day")],
    last: Annotated[datetime, typer.Option("--to", formats=["%Y-%m-%d"], help="last day")],
    org: Org = None,
    format: Format = None,
    output: Output = None,
    lang: Lang = None,
) -> None:
    """Any range of days (both included)."""
    _write("range", org, None, format, output, lang, first.date(), last.date())


@report_app.command("staff-review")
def staff_review(
    org: Org = None,
    period: Period = None,
    format: Format = None,
    output: Output = None,
    lang: Lang = None,
) -> None:
    """月度投诉责任审视: last month's closed complaints, responsibility and penalties per person."""
    _write("staff_review", org, period, format, output, lang)


@report_app.command()
def volume(
    org: Annotated[str, typer.Option("--org", help="organisation code")],
    first: Annotated[datetime, typer.Option("--from", formats=["%Y-%m-%d"], help="first day")],
    last: Annotated[datetime, typer.Option("--to", formats=["%Y-%m-%d"], help="last day")],
    orders: Annotated[int | None, typer.Option(help="orders in those days")] = None,
    visits: Annotated[int | None, typer.Option(help="visits (客流) in those days")] = None,
) -> None:
    """Record business volume, for complaints per 10,000 orders or visits."""
    from kesu.cli import _fail, _sessions
    from kesu.db.session import transaction
    from kesu.org import service as org_service
    from kesu.report import service

    _engine, sessions = _sessions(Settings())
    try:
        with transaction(sessions) as session:
            scope = org_service.by_code(session, org)
            service.record_volume(
                session,
                SystemClock(),
                org_id=scope.id,
                first_day=first.date(),
                last_day=last.date(),
                orders=orders,
                visits=visits,
            )
    except KesuError as exc:
        _fail(exc)
    typer.echo(f"{org}: volume {first:%Y-%m-%d}..{last:%Y-%m-%d} recorded")
