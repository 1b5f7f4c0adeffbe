"""`kesu`: the command line. Each command builds settings, opens its own transaction, commits."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from kesu.caselib.cli import cases_app
from kesu.clock import SystemClock
from kesu.errors import KesuError
from kesu.improvement.cli import improvement_app
from kesu.ledger.cli import import_app
from kesu.report.cli import report_app
from kesu.settings import Settings
from kesu.sla.cli import calendar_app

app = typer.Typer(help="Kesu 客诉: complaint management.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema.")
user_app = typer.Typer(help="Staff users.")
token_app = typer.Typer(help="API tokens for integrations.")
org_app = typer.Typer(help="Organisations: the group, its regions, sites and departments.")
policy_app = typer.Typer(help="Policy packs.")
audit_app = typer.Typer(help="The tamper-evident record.")
notify_app = typer.Typer(help="Notifications: the outbox and e-mail.")
app.add_typer(db_app, name="db")
app.add_typer(org_app, name="org")
app.add_typer(user_app, name="user")
app.add_typer(token_app, name="token")
app.add_typer(policy_app, name="policy")
app.add_typer(audit_app, name="audit")
app.add_typer(notify_app, name="notify")
app.add_typer(report_app, name="report")
app.add_typer(calendar_app, name="calendar")
app.add_typer(import_app, name="import")
app.add_typer(cases_app, name="cases")
app.add_typer(improvement_app, name="improvement")


# commands that read no settings: a deployer runs them while the environment is incomplete
_WITHOUT_SETTINGS = {"keygen", "policy"}


@app.callback()
def _settings_first(ctx: typer.Context) -> None:
    """Refuse at once, in one line each, settings that cannot run (production without its keys,
    an unknown KESU_ENVIRONMENT, a broken kesu.toml), instead of a traceback mid-command."""
    if ctx.invoked_subcommand not in _WITHOUT_SETTINGS:
        load_settings()


def load_settings() -> Settings:
    """`Settings()`, or exit 1 naming each setting that is wrong and why."""
    import tomllib

    from pydantic import ValidationError

    try:
        return Settings()
    except ValidationError as exc:
        for error in exc.errors():
            where = "KESU_" + "_".join(str(p) for p in error["loc"]).upper() + ": "
            for message in error["msg"].removeprefix("Value error, ").splitlines():
                typer.echo(f"error: {where if error['loc'] else ''}{message}", err=True)
    except tomllib.TOMLDecodeError as exc:
        typer.echo(f"error: kesu.toml: {exc}", err=True)
    raise typer.Exit(1)


def cli_locale(lang: str | None, default: str) -> str:
    """`--lang` as one of the catalogues' languages (any spelling: en, zh-TW, zh_Hans …), or
    exit 1 naming them: an unknown language is refused, never quietly read as Chinese."""
    from kesu.i18n import LOCALES, normalise

    if lang is None:
        return normalise(default)
    if not lang.replace("_", "-").lower().startswith(("en", "zh")):
        typer.echo(f"error: --lang: {lang!r} is not one of {', '.join(LOCALES)}", err=True)
        raise typer.Exit(1)
    return normalise(lang)


def counted(n: int, noun: str) -> str:
    """'1 token', '3 tokens': the CLI's English, without "(s)"."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _fail(exc: KesuError, locale: str | None = None, options: dict[str, str] | None = None) -> None:
    """One `error:` line and exit 1: in `locale` (a command's --lang), naming the field, or
    in English; `options`: the command's option for a field (parent_id → --parent), so the
    line names what the operator typed."""
    if options and exc.field in options:
        exc.field = options[exc.field]
    if locale is None:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1)
    from kesu.i18n import in_language, translate

    params = {k: in_language(v, locale) for k, v in exc.params.items()}
    if exc.field and "field" not in params:
        label = translate(f"field.{exc.field}", locale)
        params["field"] = exc.field if label == f"field.{exc.field}" else label
    typer.echo(f"error: {translate(exc.key, locale, **params)}", err=True)
    raise typer.Exit(1)


def write_output(path: Path, content: bytes, locale: str) -> None:
    """Write a command's file, or exit 1 with one line in `locale` saying why it could not be
    written (a folder that does not exist, no permission), not a traceback."""
    from kesu.i18n import translate

    try:
        path.write_bytes(content)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        message = translate("file.cannot_write", locale, path=path, reason=reason)
        typer.echo(f"error: {message}", err=True)
        raise typer.Exit(1) from None


def _sessions(settings: Settings, *, schema: bool = True):
    """The engine and sessions of KESU_DATABASE_URL, or exit 1 saying in one line why not: a
    URL Kesu cannot use, a database it cannot reach, or (unless `schema` is False: `kesu db
    upgrade` makes it) a database without Kesu's tables."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError, OperationalError

    from kesu.db import migrate
    from kesu.db.session import make_engine, make_sessionmaker
    from kesu.privacy import crypto

    crypto.configure(settings)
    try:
        shown = make_url(settings.db_url).render_as_string(hide_password=True)
        engine = make_engine(settings.db_url)
        revision = migrate.current(engine)
    except (ArgumentError, ImportError) as exc:
        typer.echo(f"error: KESU_DATABASE_URL: not a database URL Kesu can use ({exc})", err=True)
        raise typer.Exit(1) from None
    except OperationalError as exc:
        reason = " ".join(str(exc.orig).split())
        typer.echo(f"error: cannot reach the database {shown}: {reason}", err=True)
        raise typer.Exit(1) from None
    if schema and revision is None:
        engine.dispose()
        typer.echo(
            f"error: the database {shown} has no Kesu tables yet: run `kesu db upgrade` first",
            err=True,
        )
        raise typer.Exit(1)
    return engine, make_sessionmaker(engine)


def prepare(settings: Settings) -> None:
    """Migrate to head and register the built-in packs (idempotent)."""
    from kesu.db import migrate
    from kesu.db.session import transaction
    from kesu.policy import loader
    from kesu.policy import service as policy_service

    engine, sessions = _sessions(settings, schema=False)
    was = migrate.current(engine)
    migrate.upgrade(engine)
    clock = SystemClock()
    with transaction(sessions) as session:
        for key in loader.builtin_keys():
            policy_service.install(
                session, clock, loader.builtin_source(key), key, staff_must_fit=False
            )
    if engine.dialect.name == "sqlite":
        # SQLite plans without statistics until ANALYZE: per-person queues then scan a whole
        # organisation's history (docs/performance.md measured 285 ms → 1 ms)
        with engine.begin() as conn:  # committed: connect() alone rolls ANALYZE back
            conn.exec_driver_sql("ANALYZE")
    elif migrate.current(engine) != was:
        # PostgreSQL: migrations fill tables (0013 and 0014 copy millions of rows at a million
        # complaints); vacuum them now rather than have autovacuum do it under the first hours
        # of work: index-only scans read the heap until a table's visibility map is set
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM (ANALYZE)")
    engine.dispose()


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply all migrations and register the built-in policy packs."""
    settings = Settings()
    prepare(settings)
    from sqlalchemy.engine import make_url

    shown = make_url(settings.db_url).render_as_string(hide_password=True)
    typer.echo(f"database ready: {shown}")  # the password stays out of terminals and CI logs


@db_app.command("backup")
def db_backup(
    target: Annotated[Path, typer.Argument(help="directory to write the backup into")],
) -> None:
    """A consistent copy while Kesu runs: the database (SQLite's online backup, or pg_dump) and
    the evidence files, checked, with a manifest. The keys are not copied: keep them apart."""
    from datetime import UTC, datetime

    from kesu.db import backup as backup_mod

    settings = Settings()
    try:
        done = backup_mod.backup(settings, target, datetime.now(UTC))
    except backup_mod.BackupFailed as exc:
        typer.echo(f"error: backup not made: {exc}", err=True)
        raise typer.Exit(1) from None
    typer.echo(
        f"backup {target / done.database}: {done.complaints} complaints, {done.events} events,"
        f" revision {done.revision}, {done.bytes} bytes, in {done.seconds} s"
    )
    typer.echo(f"evidence: {done.evidence_files} files ({done.evidence_copied} copied now)")


@app.command()
def serve(
    host: str = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535)] = 8000,
    workers: Annotated[int, typer.Option(min=1, help="web worker processes")] = 1,
    no_worker: Annotated[bool, typer.Option(help="do not start the in-process worker")] = False,
    access_log: Annotated[
        bool, typer.Option(help="log every request (leave it to the reverse proxy in production)")
    ] = True,
    forwarded_allow_ips: Annotated[
        str | None,
        typer.Option(
            help="addresses of the reverse proxy whose X-Forwarded-For is trusted "
            "(default: this machine, or $FORWARDED_ALLOW_IPS)"
        ),
    ] = None,
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
            access_log=access_log,
            forwarded_allow_ips=forwarded_allow_ips,
        )
    finally:
        stop.set()
        if loop is not None:
            loop.join(timeout=10)


@app.command()
def worker(once: bool = False) -> None:
    """Run the background loop (timers, notifications, scheduled reports) until SIGTERM."""
    from kesu import worker as worker_mod

    settings = Settings()
    _sessions(settings)[0].dispose()  # a database it can reach, with Kesu's tables
    worker_mod.run(settings, once=once)


@app.command()
def health() -> None:
    """Whether the background workers finish their passes; exit 1 unless they do (for
    monitoring: the same judgement as GET /api/v1/health/worker)."""
    from kesu.db.session import reading
    from kesu.health import service as health_service

    settings = Settings()
    engine, sessions = _sessions(settings)
    with reading(sessions) as session:
        found = health_service.worker_status(
            session, SystemClock().now(), settings.worker_interval_seconds
        )
    engine.dispose()
    typer.echo(f"workers: {found['status']}")
    if found["last_pass_at"]:
        typer.echo(f"last pass: {found['last_pass_at']} ({found['seconds_since_last_pass']} s ago)")
    if found["failing"]:
        typer.echo(f"failing jobs: {', '.join(found['failing'])}")
    if found["oldest_unswept_due_at"]:
        typer.echo(f"due and not yet breached since: {found['oldest_unswept_due_at']}")
    if found["undelivered_since"]:
        from kesu.i18n import translate

        minutes = health_service.minutes_since(found["undelivered_since"], SystemClock().now())
        typer.echo(
            translate(
                "health.worker.undelivered", "en", count=found["undelivered"], minutes=minutes
            )
        )
    for w in found["workers"]:
        state = "running" if w["running"] else f"stopped {w['stopped_at'] or '(not heard from)'}"
        typer.echo(
            f"  {w['name']}: {state}, last pass {w['last_pass_at']} ({w['last_pass_ms']} ms)"
        )
    if found["status"] != "ok":
        raise typer.Exit(1)


@app.command()
def demo(
    complaints: Annotated[int, typer.Option(min=0, help="how many complaints to create")] = 300,
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


ORG_OPTIONS = {"parent_id": "--parent", "pack_key": "--pack", "kind": "--kind", "name": "--name"}
USER_OPTIONS = {
    "display_name": "--name",
    "role": "--role",
    "org_id": "--org",
    "department_id": "--department",
    "password": "--password",
    "locale": "--lang",
}
TOKEN_OPTIONS = {"name": "--name", "scope": "--scope"}


@org_app.command("add")
def org_add(
    code: Annotated[str, typer.Argument(help="a short unique code, e.g. HX or SH-NJ")],
    name: Annotated[str, typer.Option(help="the organisation's name")],
    kind: Annotated[str, typer.Option(help="group | region | site | department")] = "group",
    parent: Annotated[
        str | None, typer.Option(help="the parent's code (every kind but a group)")
    ] = None,
    pack: Annotated[
        str | None, typer.Option(help="a group's policy pack (`kesu policy list`)")
    ] = None,
) -> None:
    """Add an organisation: first the group (with its pack), then its regions, sites and
    departments. A new deployment starts here, before `kesu user add`."""
    from sqlalchemy import select

    from kesu.audit import service as audit_service
    from kesu.db.session import transaction
    from kesu.org import service as org_service
    from kesu.org.models import Organisation
    from kesu.policy import service as policy_service

    _engine, sessions = _sessions(Settings())
    clock = SystemClock()
    try:
        with transaction(sessions) as session:
            parent_id = None
            if parent is not None:
                parent_id = session.scalar(
                    select(Organisation.id).where(Organisation.code == parent)
                )
                if parent_id is None:
                    typer.echo(f"error: no organisation with code {parent!r}", err=True)
                    raise typer.Exit(1)
            if kind == "group" and pack:
                policy_service.current(session, pack)  # a pack `kesu db upgrade` registered
            org = org_service.create(
                session, clock, kind=kind, code=code, name=name, parent_id=parent_id, pack_key=pack
            )
            details = {"kind": kind, "code": code, "name": name, "parent_id": parent_id}
            audit_service.record_config(
                session,
                clock,
                None,
                "org.create",
                "organisation",
                org.id,
                details | {"pack_key": pack},
            )
            typer.echo(f"{org.kind} {org.code} (id {org.id}) added")
    except KesuError as exc:
        _fail(exc, options=ORG_OPTIONS)


@org_app.command("set-pack")
def org_set_pack(
    code: Annotated[str, typer.Argument(help="the group's code")],
    pack: Annotated[str, typer.Argument(help="a stored pack's key (`kesu policy load`)")],
) -> None:
    """Run a group under another pack: its new complaints open under it, complaints already
    open keep the version they were opened under. Refused while its staff hold roles the pack
    does not have."""
    from kesu.db.session import transaction
    from kesu.org import service as org_service
    from kesu.policy import service as policy_service

    _engine, sessions = _sessions(Settings())
    try:
        with transaction(sessions) as session:
            group = org_service.by_code(session, code)
            policy_service.adopt(session, SystemClock(), group, pack)
    except KesuError as exc:
        _fail(exc)
    typer.echo(f"{code}: new complaints open under pack {pack}")


@org_app.command("list")
def org_list() -> None:
    """Every organisation: code, kind, name, parent and pack."""
    from kesu.db.session import reading
    from kesu.org import service as org_service

    _engine, sessions = _sessions(Settings())
    with reading(sessions) as session:
        orgs = org_service.all_orgs(session)
    codes = {o.id: o.code for o in orgs}
    for o in orgs:
        typer.echo(
            f"{o.code}\t{o.kind}\t{o.name}\t{codes.get(o.parent_id, '-')}\t{o.pack_key or '-'}"
        )


@user_app.command("add")
def user_add(
    username: str,
    role: Annotated[str, typer.Option(help="a role key of the organisation's pack")],
    org: Annotated[str, typer.Option(help="organisation code")],
    name: Annotated[str | None, typer.Option(help="display name")] = None,
    department: Annotated[str | None, typer.Option(help="department code")] = None,
    password: Annotated[
        str | None, typer.Option(prompt=True, hide_input=True, confirmation_prompt=True)
    ] = None,
    lang: Annotated[
        str | None, typer.Option(help="the language of their messages: zh_Hans | zh_Hant | en")
    ] = None,
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
                locale=cli_locale(lang, "zh_Hans") if lang else None,
            )
            typer.echo(f"user {user.username} (id {user.id}, role {user.role}) added")
    except KesuError as exc:
        _fail(exc, options=USER_OPTIONS)


@token_app.command("create")
def token_create(
    username: str,
    name: Annotated[str, typer.Option(help="what the token is for")] = "cli",
    scope: Annotated[str, typer.Option(help="read | intake | full")] = "read",
) -> None:
    """Create an API token for a user; it is printed once and stored only as a hash."""
    from kesu.access import service as access_service
    from kesu.db.session import transaction

    _engine, sessions = _sessions(Settings())
    try:
        with transaction(sessions) as session:
            user = access_service.by_username(session, username)
            raw = access_service.issue_token(
                session, SystemClock(), user, kind="api", name=name, hours=None, scope=scope
            )
    except KesuError as exc:
        _fail(exc, options=TOKEN_OPTIONS)
    typer.echo(raw)


PACK_LANG = typer.Option(help="the language of the problems: zh_Hans | zh_Hant | en")


@policy_app.command("validate")
def policy_validate(path: Path, lang: Annotated[str, PACK_LANG] = "zh_Hans") -> None:
    """Check a pack file; exit 1 and name file:line, path and rule for each problem. A valid
    pack that may still leave a complaint stuck is warned about (exit 0)."""
    from kesu.policy.loader import PackInvalid, advice, load_file

    locale = cli_locale(lang, "zh_Hans")
    try:
        pack = load_file(path)
    except PackInvalid as exc:
        for problem in exc.problems:
            typer.echo(problem.line_in(locale), err=True)
        raise typer.Exit(1) from None
    except OSError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    typer.echo(
        f"{path}: valid pack {pack.key} v{pack.version} — {len(pack.levels)} levels, "
        f"{len(pack.roles)} roles, {len(pack.category_list())} categories"
    )
    for warning in advice(pack, path.read_text(encoding="utf-8"), str(path)):
        typer.echo(warning.line_in(locale), err=True)


@policy_app.command("load")
def policy_load(path: Path, lang: Annotated[str, PACK_LANG] = "zh_Hans") -> None:
    """Put a pack file into use: checked, stored as a new version; the groups under its key
    open new complaints under it (those already open keep theirs). Exit 1 on any problem."""
    from sqlalchemy import select

    from kesu.db.session import transaction
    from kesu.org.models import Organisation
    from kesu.policy import service as policy_service
    from kesu.policy.loader import PackInvalid

    locale = cli_locale(lang, "zh_Hans")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        typer.echo(f"error: {path}: {exc}", err=True)
        raise typer.Exit(1) from None
    settings = Settings()
    _engine, sessions = _sessions(settings)
    try:
        with transaction(sessions) as session:
            row, new = policy_service.install(session, SystemClock(), text, str(path))
            now = policy_service.current(session, row.key)
            groups = session.scalars(
                select(Organisation.code).where(
                    Organisation.kind == "group", Organisation.pack_key == row.key
                )
            ).all()
    except PackInvalid as exc:
        for problem in exc.problems:
            typer.echo(problem.line_in(locale), err=True)
        raise typer.Exit(1) from None
    except KesuError as exc:  # staff hold a role the new version does not have
        _fail(exc, locale)
    said = "stored" if new else "already stored"
    typer.echo(f"{path}: pack {row.key} v{row.version} {said} ({row.digest[:12]})")
    if now.id != row.id:
        typer.echo(f"note: v{now.version} ({now.digest[:12]}) is newer and stays in use")
    else:
        typer.echo(f"in use for new complaints of: {', '.join(groups) or '(no group yet)'}")


@policy_app.command("show")
def policy_show(
    key: str, lang: Annotated[str, typer.Option(help="zh_Hans | zh_Hant | en")] = "zh_Hans"
) -> None:
    """A readable summary of a pack: a pack file, the version in use of a pack in the database
    (one loaded with `kesu policy load`), or a built-in pack. Levels, timers, chains."""
    from kesu.errors import NotFound
    from kesu.policy import loader
    from kesu.policy.summary import describe

    try:
        path = Path(key)
        if path.is_file():
            pack = loader.load_file(path)
        else:
            found = {row.key: pack for row, pack, _groups in _stored_packs() or []}
            pack = found.get(key) or loader.parse_pack(loader.builtin_source(key), f"{key}.yaml")
    except (NotFound, loader.PackInvalid) as exc:
        _fail(exc)
    for line in describe(pack, cli_locale(lang, "zh_Hans")):
        typer.echo(line)


@policy_app.command("list")
def policy_list() -> None:
    """The packs in the database (the version new complaints open under and the groups that
    run it), then the built-in packs it does not hold; only the built-in ones without a
    database to read."""
    from kesu.policy import loader

    stored = _stored_packs() or []
    for row, pack, groups in stored:
        typer.echo(f"{row.key}\tv{row.version}\t{pack.name['zh_Hans']}\t{', '.join(groups) or '-'}")
    held = {row.key for row, _pack, _groups in stored}
    for key in loader.builtin_keys():
        if key not in held:
            pack = loader.parse_cached(loader.builtin_source(key))
            typer.echo(f"{pack.key}\tv{pack.version}\t{pack.name['zh_Hans']}")


def _stored_packs():
    """`policy_service.stored` of the configured database, or None when there is none to read
    (settings incomplete, unreachable, no Kesu tables yet): `kesu policy` works without one,
    and creates no database file."""
    import tomllib

    from pydantic import ValidationError
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import SQLAlchemyError

    from kesu.db import migrate
    from kesu.db.session import make_engine, make_sessionmaker, reading
    from kesu.policy import service as policy_service

    try:
        settings = Settings()
        url = make_url(settings.db_url)
        if url.get_backend_name() == "sqlite" and not Path(url.database or "").is_file():
            return None
        engine = make_engine(settings.db_url)
    except (ValidationError, tomllib.TOMLDecodeError, SQLAlchemyError, ImportError, OSError):
        return None
    try:
        if migrate.current(engine) is None:
            return None
        migrate.metadata()
        with reading(make_sessionmaker(engine)) as session:
            return policy_service.stored(session)
    except SQLAlchemyError:
        return None
    finally:
        engine.dispose()


@audit_app.command("verify")
def audit_verify() -> None:
    """Walk every hash chain (complaints and configuration) and check every signed anchor;
    exit 1 naming each altered, removed or reordered record."""
    from kesu.audit.service import verify
    from kesu.db.session import reading

    _engine, sessions = _sessions(Settings())
    with reading(sessions) as session:
        report = verify(session)
    for b in report.breaks:
        where = "configuration trail" if b.complaint_id == 0 else f"complaint {b.complaint_id}"
        typer.echo(f"{where}: event seq {b.seq} (id {b.event_id}) {b.problem}", err=True)
    for a in report.anchor_problems:
        typer.echo(f"anchor {a.anchor_id}: {ANCHOR_PROBLEMS[a.problem]}", err=True)
    if not report.ok:
        raise typer.Exit(1)
    typer.echo(
        f"ok: {report.complaints} complaints, every hash chain intact; "
        f"{report.config_entries} configuration changes; {report.anchors} signed anchors match"
    )


ANCHOR_PROBLEMS = {
    "signature": "signature does not match (the anchor was altered)",
    "other_key": "signed with another key (KESU_SECRET_KEY changed?)",
    "gap": "does not follow the previous anchor (an anchor was removed or reordered)",
    "config_altered": "the configuration entry it pins was altered",
    "config_missing": "the configuration entry it pins was removed",
}


@audit_app.command("anchor")
def audit_anchor() -> None:
    """Sign an anchor over the newest hashes now (the worker does so every hour)."""
    from kesu.audit import service as audit_service
    from kesu.db.session import transaction

    _engine, sessions = _sessions(Settings())
    with transaction(sessions) as session:
        made = audit_service.make_anchor(session, SystemClock(), force=True)
    typer.echo("anchor signed" if made else "nothing new to anchor")


@user_app.command("deactivate")
def user_deactivate(username: str) -> None:
    """Stop a user signing in (every token revoked); their history stays. The open complaints
    they handled go to whoever the pack's auto-assignment picks now."""
    from sqlalchemy import select

    from kesu.access import service as access_service
    from kesu.access.models import User
    from kesu.complaint import service as complaint_service
    from kesu.db.session import transaction

    _engine, sessions = _sessions(Settings())
    try:
        with transaction(sessions) as session:
            user = access_service.by_username(session, username)
            moved, left = complaint_service.deactivate(session, SystemClock(), None, user)
            names = dict(session.execute(select(User.id, User.username)).all())
            handed = [f"{c.number}→{names.get(c.assignee_id)}" for c in moved]
            kept = [c.number for c in left]
    except KesuError as exc:
        _fail(exc)
    typer.echo(f"user {username} deactivated")
    if handed:
        typer.echo(f"open complaints handed over: {', '.join(handed)}")
    if kept:
        typer.echo(f"still naming {username} (reassign them): {', '.join(kept)}")


@user_app.command("activate")
def user_activate(username: str) -> None:
    _set_active(username, True)


def _set_active(username: str, active: bool) -> None:
    from kesu.access import service as access_service
    from kesu.db.session import transaction

    _engine, sessions = _sessions(Settings())
    try:
        with transaction(sessions) as session:
            user = access_service.by_username(session, username)
            access_service.set_active(session, SystemClock(), None, user, active)
    except KesuError as exc:
        _fail(exc)
    typer.echo(f"user {username} {'activated' if active else 'deactivated'}")


@user_app.command("password")
def user_password(
    username: str,
    password: Annotated[str, typer.Option(prompt=True, hide_input=True, confirmation_prompt=True)],
) -> None:
    """Set a new password (the user's sessions end and a lockout is lifted)."""
    from kesu.access import service as access_service
    from kesu.db.session import transaction

    _engine, sessions = _sessions(Settings())
    try:
        with transaction(sessions) as session:
            user = access_service.by_username(session, username)
            access_service.reset_password(session, SystemClock(), None, user, password)
    except KesuError as exc:
        _fail(exc)
    typer.echo(f"password of {username} changed")


@user_app.command("unlock")
def user_unlock(username: str) -> None:
    """Lift a login lockout before it runs out."""
    from kesu.access import service as access_service
    from kesu.db.session import transaction

    _engine, sessions = _sessions(Settings())
    try:
        with transaction(sessions) as session:
            user = access_service.by_username(session, username)
            access_service.unlock(session, SystemClock(), None, user)
    except KesuError as exc:
        _fail(exc)
    typer.echo(f"{username} unlocked")


@token_app.command("revoke-all")
def token_revoke_all(username: str) -> None:
    """End every session of a user and revoke their API tokens."""
    from kesu.access import service as access_service
    from kesu.db.session import transaction

    _engine, sessions = _sessions(Settings())
    try:
        with transaction(sessions) as session:
            user = access_service.by_username(session, username)
            count = access_service.revoke_all(session, SystemClock(), None, user, api_tokens=True)
    except KesuError as exc:
        _fail(exc)
    typer.echo(f"{counted(count, 'token')} of {username} revoked")


@app.command("keygen")
def keygen() -> None:
    """Print a new random key for KESU_SECRET_KEY or KESU_DATA_KEY."""
    import secrets

    typer.echo(secrets.token_urlsafe(48))


@notify_app.command("list")
def notify_list(
    state: Annotated[str | None, typer.Option(help="pending | sent | failed | dead")] = None,
    limit: int = 50,
) -> None:
    """The newest outbox rows, with each row's last error; warns when e-mails cannot leave."""
    from kesu.db.session import reading
    from kesu.notify import deliver
    from kesu.notify import service as notify_service
    from kesu.notify.models import STATES
    from kesu.privacy.rules import mask_address_of

    if state is not None and state not in STATES:
        typer.echo(f"error: --state: {state!r} is not one of {', '.join(STATES)}", err=True)
        raise typer.Exit(1)
    settings = Settings()
    _engine, sessions = _sessions(settings)
    try:
        with reading(sessions) as session:
            rows = notify_service.list_outbox(session, org_id=None, state=state, limit=limit)
            history = notify_service.attempts_of(session, [r.id for r in rows])
            waiting = (
                0 if settings.smtp_host else deliver.waiting_for_smtp(session, SystemClock().now())
            )
    except KesuError as exc:
        _fail(exc)
    for row in rows:
        last = history[row.id][-1] if history[row.id] else None
        due = row.next_attempt_at.isoformat(timespec="seconds") if row.next_attempt_at else "-"
        error = f"\t{last.error}" if last and last.error else ""
        address = row.address
        if row.recipient_kind == "customer":  # staff see a complainant's number masked
            address = mask_address_of(row.channel, row.address)
        typer.echo(
            f"{row.id}\t{row.state}\t{row.channel}\t{address}\t{row.template}"
            f"\tattempts {row.attempts}\tnext {due}{error}"
        )
    if waiting:
        from kesu.i18n import translate

        typer.echo(
            f"warning: {translate('notify.smtp_not_configured', 'en', count=waiting)}", err=True
        )


@notify_app.command("retry")
def notify_retry(
    outbox_id: Annotated[int | None, typer.Argument()] = None,
    failed: Annotated[
        bool,
        typer.Option(
            "--failed",
            help="every failed row (waiting for a retry), e.g. after a mail outage; not dead ones",
        ),
    ] = False,
) -> None:
    """Make a failed or dead outbox row (or with --failed, every failed one) due now: the worker
    sends it on its next pass."""
    from kesu.db.session import transaction
    from kesu.notify import service as notify_service
    from kesu.privacy.rules import mask_address_of

    if (outbox_id is None) == (not failed):
        typer.echo("error: give one outbox ID or --failed", err=True)
        raise typer.Exit(1)
    _engine, sessions = _sessions(Settings())
    try:
        with transaction(sessions) as session:
            now = SystemClock().now()
            if failed:
                rows = notify_service.retry_failed(session, now=now)
            else:
                rows = [notify_service.retry(session, now=now, outbox_id=outbox_id, org_id=None)]
            for row in rows:
                address = row.address
                if row.recipient_kind == "customer":  # masked, as `kesu notify list` shows it
                    address = mask_address_of(row.channel, row.address)
                typer.echo(f"outbox {row.id} is due again ({row.channel} to {address})")
    except KesuError as exc:
        _fail(exc)
    if failed:
        typer.echo(f"{len(rows)} failed message(s) due again")


@notify_app.command("test-email")
def notify_test_email(address: str) -> None:
    """Send a test e-mail now through the configured SMTP server; exit 1 if it fails."""
    from kesu.db.session import reading, transaction
    from kesu.notify import deliver
    from kesu.notify import service as notify_service
    from kesu.notify.rules import email_in

    settings = Settings()
    if email_in(address) != address:  # not queued: a bad address would be retried for a day
        typer.echo(f"error: {address!r} is not an e-mail address", err=True)
        raise typer.Exit(1)
    if not settings.smtp_host:
        typer.echo("error: no mail server configured (set KESU_SMTP_HOST)", err=True)
        raise typer.Exit(1)
    _engine, sessions = _sessions(settings)
    clock = SystemClock()
    with transaction(sessions) as session:
        row_id = notify_service.enqueue_test_email(session, now=clock.now(), address=address).id
    deliver.deliver_due(sessions, clock, settings, only=[row_id])
    with reading(sessions) as session:
        row = notify_service.get_outbox(session, row_id, org_id=None)
        attempts = notify_service.attempts_of(session, [row_id])[row_id]
    if row.state != "sent":
        with transaction(sessions) as session:  # shown now: not sent again by the worker later
            notify_service.give_up(session, row_id)
        error = attempts[-1].error if attempts else "not attempted"
        typer.echo(
            f"error: test e-mail {row_id} to {address} not sent (not retried): {error}", err=True
        )
        raise typer.Exit(1)
    typer.echo(f"test e-mail {row_id} sent to {address} via {settings.smtp_host}")


@notify_app.command("set-email")
def notify_set_email(
    username: str, address: Annotated[str | None, typer.Argument()] = None
) -> None:
    """Set (or, without ADDRESS, clear) where a staff member's notifications are e-mailed."""
    from kesu.access import service as access_service
    from kesu.db.session import transaction
    from kesu.notify import service as notify_service

    _engine, sessions = _sessions(Settings())
    try:
        with transaction(sessions) as session:
            user = access_service.by_username(session, username)
            notify_service.set_user_email(session, user=user, email=address)
    except KesuError as exc:
        _fail(exc)
    typer.echo(f"{username}: notifications {'to ' + address if address else 'not e-mailed'}")
