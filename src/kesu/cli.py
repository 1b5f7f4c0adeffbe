"""`kesu`: the command line. Each command builds settings, opens its own transaction, commits."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from kesu.clock import SystemClock
from kesu.errors import KesuError
from kesu.settings import Settings

app = typer.Typer(help="Kesu 客诉: complaint management.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema.")
user_app = typer.Typer(help="Staff users.")
token_app = typer.Typer(help="API tokens for integrations.")
policy_app = typer.Typer(help="Policy packs.")
audit_app = typer.Typer(help="The tamper-evident record.")
app.add_typer(db_app, name="db")
app.add_typer(user_app, name="user")
app.add_typer(token_app, name="token")
app.add_typer(policy_app, name="policy")
app.add_typer(audit_app, name="audit")


def _fail(exc: KesuError) -> None:
    typer.echo(f"error: {exc}", err=True)
    raise typer.Exit(1)


def _sessions(settings: Settings):
    from kesu.db.session import make_engine, make_sessionmaker

    engine = make_engine(settings.db_url)
    return engine, make_sessionmaker(engine)


def prepare(settings: Settings) -> None:
    """Migrate to head and register the built-in packs (idempotent)."""
    from kesu.db import migrate
    from kesu.db.session import transaction
    from kesu.policy import loader
    from kesu.policy import service as policy_service

    engine, sessions = _sessions(settings)
    migrate.upgrade(engine)
    with transaction(sessions) as session:
        for key in loader.builtin_keys():
            policy_service.register(session, SystemClock(), loader.builtin_source(key), key)
    engine.dispose()


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply all migrations and register the built-in policy packs."""
    settings = Settings()
    prepare(settings)
    typer.echo(f"database ready: {settings.db_url}")


@app.command()
def serve(
    host: str = "127.0.0.1",
    port: int = 8000,
    workers: Annotated[int, typer.Option(help="web worker processes")] = 1,
    no_worker: Annotated[bool, typer.Option(help="do not start the in-process worker")] = False,
) -> None:
    """Serve the API (and console) with uvicorn; the background worker runs alongside."""
    import threading

    import uvicorn

    from kesu import worker as worker_mod

    settings = Settings()
    prepare(settings)
    stop = threading.Event()
    loop = None
    if not no_worker:
        loop = threading.Thread(
            target=worker_mod.run, kwargs={"settings": settings, "stop": stop}, daemon=True
        )
        loop.start()
    try:
        uvicorn.run(
            "kesu.web.app:create_app",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            log_level="info",
        )
    finally:
        stop.set()
        if loop is not None:
            loop.join(timeout=10)


@app.command()
def worker(once: bool = False) -> None:
    """Run the background loop (timers, notifications, scheduled reports) until SIGTERM."""
    from kesu import worker as worker_mod

    worker_mod.run(Settings(), once=once)


@app.command()
def demo(
    complaints: Annotated[int, typer.Option(help="how many complaints to create")] = 300,
    seed: int = 7,
) -> None:
    """Load a demo organisation, staff for every role and realistic complaints."""
    from kesu import demo as demo_mod

    settings = Settings()
    prepare(settings)
    _engine, sessions = _sessions(settings)
    try:
        summary = demo_mod.load(sessions, complaints=complaints, seed=seed)
    except KesuError as exc:
        _fail(exc)
    typer.echo(summary)


@user_app.command("add")
def user_add(
    username: str,
    role: Annotated[str, typer.Option(help="a role key of the organisation's pack")],
    org: Annotated[str, typer.Option(help="organisation code")],
    name: Annotated[str | None, typer.Option(help="display name")] = None,
    department: Annotated[str | None, typer.Option(help="department code")] = None,
    password: Annotated[str | None, typer.Option(prompt=True, hide_input=True)] = None,
) -> None:
    """Add a staff user."""
    from sqlalchemy import select

    from kesu.access import service as access_service
    from kesu.db.session import transaction
    from kesu.org.models import Organisation

    _engine, sessions = _sessions(Settings())
    try:
        with transaction(sessions) as session:
            by_code = {o.code: o.id for o in session.scalars(select(Organisation))}
            if org not in by_code:
                typer.echo(f"error: no organisation with code {org!r}", err=True)
                raise typer.Exit(1)
            if department is not None and department not in by_code:
                typer.echo(f"error: no department with code {department!r}", err=True)
                raise typer.Exit(1)
            user = access_service.add_user(
                session,
                SystemClock(),
                username=username,
                display_name=name or username,
                role=role,
                org_id=by_code[org],
                department_id=by_code.get(department) if department else None,
                password=password or None,
            )
            typer.echo(f"user {user.username} (id {user.id}, role {user.role}) added")
    except KesuError as exc:
        _fail(exc)


@token_app.command("create")
def token_create(
    username: str, name: Annotated[str, typer.Option(help="what the token is for")] = "cli"
) -> None:
    """Create an API token for a user; it is printed once and stored only as a hash."""
    from kesu.access import service as access_service
    from kesu.db.session import transaction

    _engine, sessions = _sessions(Settings())
    try:
        with transaction(sessions) as session:
            user = access_service.by_username(session, username)
            raw = access_service.issue_token(
                session, SystemClock(), user, kind="api", name=name, hours=None
            )
    except KesuError as exc:
        _fail(exc)
    typer.echo(raw)


@policy_app.command("validate")
def policy_validate(path: Path) -> None:
    """Check a pack file; exit 1 and name file:line, path and rule for each problem."""
    from kesu.policy.loader import PackInvalid, load_file

    try:
        pack = load_file(path)
    except PackInvalid as exc:
        for problem in exc.problems:
            typer.echo(str(problem), err=True)
        raise typer.Exit(1) from None
    except OSError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    typer.echo(
        f"{path}: valid pack {pack.key} v{pack.version} — {len(pack.levels)} levels, "
        f"{len(pack.roles)} roles, {len(pack.category_list())} categories"
    )


@policy_app.command("list")
def policy_list() -> None:
    """The built-in packs."""
    from kesu.policy import loader

    for key in loader.builtin_keys():
        pack = loader.parse_cached(loader.builtin_source(key))
        typer.echo(f"{pack.key}\tv{pack.version}\t{pack.name['zh_Hans']}")


@audit_app.command("verify")
def audit_verify() -> None:
    """Walk every complaint's hash chain; exit 1 naming the first bad event."""
    from kesu.audit.service import verify_all
    from kesu.db.session import reading

    _engine, sessions = _sessions(Settings())
    with reading(sessions) as session:
        checked, breaks = verify_all(session)
    if breaks:
        for b in breaks:
            typer.echo(
                f"complaint {b.complaint_id}: event seq {b.seq} (id {b.event_id}) {b.problem}",
                err=True,
            )
        raise typer.Exit(1)
    typer.echo(f"ok: {checked} complaints, every hash chain intact")
