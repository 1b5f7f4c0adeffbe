"""`kesu import …`: bring old Excel/CSV ledgers in (an entry point, added to kesu.cli)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from kesu.clock import SystemClock
from kesu.errors import KesuError
from kesu.settings import Settings

import_app = typer.Typer(help="Import old complaint ledgers (客户投诉登记表) from XLSX or CSV.")


@import_app.command("ledger")
def ledger(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help=".xlsx or .csv")],
    org: Annotated[str, typer.Option("--org", help="organisation code (a group or a site)")],
    mapping: Annotated[str | None, typer.Option(help="a saved column mapping")] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="check every row, write nothing")
    ] = False,
    lang: Annotated[str | None, typer.Option("--lang", help="zh_Hans | zh_Hant | en")] = None,
) -> None:
    """Import a ledger; every bad row is named by row and column. Importing again adds nothing.
    Exit 0: every row imported (or imported before); 2: rows with problems, the rest imported
    (with --dry-run: would be); 1: nothing done (no such organisation, unreadable file …)."""
    from kesu.cli import _fail, _sessions, cli_locale
    from kesu.complaint import lifecycle
    from kesu.db.session import reading, transaction
    from kesu.i18n import translate
    from kesu.ledger import service
    from kesu.org import service as org_service

    settings = Settings()
    locale = cli_locale(lang, settings.default_locale)
    _engine, sessions = _sessions(settings)
    content, clock = file.read_bytes(), SystemClock()
    actor = lifecycle.Actor(kind="system", label="kesu import")
    try:
        if dry_run:
            with reading(sessions) as session:
                scope = org_service.by_code(session, org)
                result = service.plan(
                    session,
                    org_id=scope.id,
                    filename=file.name,
                    content=content,
                    mapping_name=mapping,
                    now=clock.now(),
                )
        else:
            with transaction(sessions) as session:
                scope = org_service.by_code(session, org)
                result, _batch = service.run(
                    session,
                    clock,
                    actor,
                    org_id=scope.id,
                    filename=file.name,
                    content=content,
                    mapping_name=mapping,
                )
    except KesuError as exc:
        _fail(exc, locale)
    for sheet in result.sheets:
        if sheet.name and sheet.header_row is None:
            typer.echo(translate("ledger.sheet_skipped", locale, sheet=sheet.name))
            continue
        if sheet.name:
            typer.echo(translate("ledger.sheet", locale, sheet=sheet.name, row=sheet.header_row))
        for column, field in sheet.columns.items():
            typer.echo(f"  {column} → {translate(f'ledger.field.{field}', locale)}")
    for planned in result.rows:
        for problem in planned.row.problems:
            typer.echo(service.describe(problem, locale), err=True)
    key = "ledger.summary" if dry_run else "ledger.done"
    repeated = result.count("duplicate")  # a problem of the dry run; skipped by the import
    typer.echo(
        translate(
            key,
            locale,
            file=file.name,
            total=len(result.rows),
            ready=result.count("ready"),
            already=result.count("already"),
            imported=result.count("imported"),
            skipped=result.count("already") + repeated,
            bad=result.count("bad") + (repeated if dry_run else 0),
        )
    )
    if result.count("bad") or repeated:
        raise typer.Exit(2)  # rows with problems: the rest were (or would be) imported


@import_app.command("mapping")
def save_mapping(
    name: Annotated[str, typer.Argument(help="the mapping's name, e.g. 门店台账")],
    org: Annotated[str, typer.Option("--org", help="organisation code")],
    file: Annotated[
        Path,
        typer.Option(
            exists=True,
            dir_okay=False,
            help='JSON: {"columns": {header: field}, "values": {field: {text: key}}, '
            '"defaults": {field: value}}',
        ),
    ],
) -> None:
    """Save how an organisation's ledger columns and words map to complaint fields."""
    from kesu.cli import _fail, _sessions
    from kesu.db.session import transaction
    from kesu.i18n import translate
    from kesu.ledger import service
    from kesu.org import service as org_service

    settings = Settings()
    problem = _mapping_problem(file)
    if problem is not None:  # one line, nothing saved (not a traceback)
        key, params = problem
        typer.echo(f"error: {translate(key, settings.default_locale, **params)}", err=True)
        raise typer.Exit(1)
    spec = json.loads(file.read_text(encoding="utf-8"))
    _engine, sessions = _sessions(settings)
    try:
        with transaction(sessions) as session:
            scope = org_service.by_code(session, org)
            service.save_mapping(
                session,
                SystemClock(),
                org_id=scope.id,
                name=name,
                columns=spec.get("columns", {}),
                values=spec.get("values"),
                defaults=spec.get("defaults"),
            )
    except KesuError as exc:
        _fail(exc)
    typer.echo(f"mapping {name!r} saved for {org}")


def _mapping_problem(file: Path) -> tuple[str, dict] | None:
    """Why this file is not a mapping (an i18n key and its parameters), or None."""
    try:
        spec = json.loads(file.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        return "ledger.mapping_not_utf8", {"file": file.name}
    except json.JSONDecodeError as exc:
        return "ledger.mapping_not_json", {"file": file.name, "line": exc.lineno, "col": exc.colno}
    shapes = {"columns": str, "values": dict, "defaults": str}
    if not isinstance(spec, dict) or any(
        not isinstance(spec.get(part, {}), dict)
        or not all(isinstance(v, inner) for v in spec.get(part, {}).values())
        for part, inner in shapes.items()
    ):
        return "ledger.mapping_shape", {"file": file.name}
    return None
