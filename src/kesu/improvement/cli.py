"""`kesu improvement …`: the quarterly management review as a file (an entry point, added to
kesu.cli)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from kesu.clock import SystemClock
from kesu.errors import KesuError
from kesu.settings import Settings

improvement_app = typer.Typer(help="The improvement loop (整改): the management review.")


@improvement_app.command()
def review(
    quarter: Annotated[
        str | None, typer.Option(help="2026-Q4 (default: the last complete quarter)")
    ] = None,
    org: Annotated[
        str | None, typer.Option("--org", help="organisation code (default: the group)")
    ] = None,
    format: Annotated[
        str | None, typer.Option("--format", help="pdf | xlsx | json (default: from --output)")
    ] = None,
    output: Annotated[
        Path | None, typer.Option(help="file to write (default: a name in .)")
    ] = None,
    lang: Annotated[str | None, typer.Option("--lang", help="zh_Hans | zh_Hant | en")] = None,
) -> None:
    """管理评审 (ISO 10002 §8.7): actions opened, overdue, verified effective or not, causes that
    keep returning, satisfaction with complaint handling, accountability, inspections."""
    from kesu.cli import _sessions, cli_locale
    from kesu.db.session import reading
    from kesu.i18n import translate
    from kesu.improvement import review as review_service
    from kesu.org import service as org_service
    from kesu.report import service as report_service

    settings = Settings()
    fmt = (format or (output.suffix.lstrip(".") if output and output.suffix else "pdf")).lower()
    locale = cli_locale(lang, settings.default_locale)
    _engine, sessions = _sessions(settings)
    try:
        with reading(sessions) as session:
            scope = (
                org_service.by_code(session, org) if org else report_service.default_org(session)
            )
            report = review_service.build(
                session,
                org_id=scope.id,
                quarter=quarter,
                locale=locale,
                now=SystemClock().now(),
            )
            content, _media, name = review_service.render(report, fmt)
    except KesuError as exc:  # the message names the field (KesuError's str() leaves it out)
        field = translate(f"field.{exc.field}", locale) if exc.field else ""
        params = {"field": field, **exc.params}
        typer.echo(f"error: {translate(exc.key, locale, **params)}", err=True)
        raise typer.Exit(1) from exc
    path = output or Path(name)
    try:
        path.write_bytes(content)
    except OSError as exc:  # a folder that does not exist, no permission: one line, not a trace
        reason = exc.strerror or str(exc)
        message = translate("file.cannot_write", locale, path=path, reason=reason)
        typer.echo(f"error: {message}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"{path}: {report.title}")
