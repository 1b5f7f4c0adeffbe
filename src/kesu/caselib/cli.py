"""`kesu cases …`: the case library from the command line (an entry point, added to kesu.cli)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from kesu.clock import SystemClock
from kesu.errors import KesuError
from kesu.settings import Settings

cases_app = typer.Typer(help="The case library (投诉案例库): closed cases for training.")


@cases_app.command("search")
def search(
    text: Annotated[
        str, typer.Argument(help="words the case must contain (any Chinese substring)")
    ],
    org: Annotated[
        str | None, typer.Option("--org", help="group code (default: the group)")
    ] = None,
    category: Annotated[
        str | None, typer.Option(help="a category key (and the categories under it)")
    ] = None,
    level: Annotated[str | None, typer.Option(help="a level key")] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 20,
    export: Annotated[Path | None, typer.Option(help="write the cases to .xlsx or .csv")] = None,
    lang: Annotated[str | None, typer.Option("--lang", help="zh_Hans | zh_Hant | en")] = None,
) -> None:
    """Find closed cases; personal data is removed from what is shown and exported."""
    from kesu.caselib import queries
    from kesu.caselib import rules as caselib_rules
    from kesu.caselib.export import export as export_cases
    from kesu.cli import _fail, _sessions, cli_locale, write_output
    from kesu.db.session import reading
    from kesu.i18n import translate
    from kesu.org import service as org_service
    from kesu.report import service as report_service

    settings = Settings()
    locale = cli_locale(lang, settings.default_locale)
    words = caselib_rules.terms(text)
    filters = queries.Filters(category=category, level=level)
    _engine, sessions = _sessions(settings)
    try:
        with reading(sessions) as session:
            found = (
                org_service.by_code(session, org) if org else report_service.default_org(session)
            )
            group = org_service.group_of(session, found.id)
            scope = queries.of_group(group.id)
            pack = report_service.target(session, group.id).pack
            filters = filters.under(pack)
            if export is not None:
                content, _media, _name = export_cases(
                    session,
                    scope,
                    pack,
                    words,
                    filters,
                    fmt=export.suffix.lstrip(".").lower() or "xlsx",
                    locale=locale,
                    now=SystemClock().now(),
                )
                write_output(export, content, locale)
            cases, _ = queries.search(session, scope, words, filters, limit=limit)
            names = queries.complainant_names(session, cases)
            shown = [queries.as_case(c, names) for c in cases]
    except KesuError as exc:
        _fail(exc, locale)
    for case in shown:
        typer.echo(f"{case['number']}  {case['closed_at']:%Y-%m-%d}  {case['title']}")
        typer.echo(f"    {case['description'][:120]}")
        if case["solution"]:
            typer.echo(f"    → {case['solution'][:120]}")
    typer.echo(translate("caselib.found", locale, count=len(shown)))
    if export is not None:
        typer.echo(str(export))
