"""Alembic, driven from code: `kesu db upgrade`, the tests and the demo all call `upgrade()`."""

from __future__ import annotations

from importlib.resources import files

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, MetaData

from kesu.db.base import Base


def metadata() -> MetaData:
    """Every table: importing the model modules registers them on Base.metadata."""
    import kesu.access.models
    import kesu.audit.models
    import kesu.complaint.models
    import kesu.health.models
    import kesu.improvement.models
    import kesu.ledger.models
    import kesu.notify.models
    import kesu.org.models
    import kesu.policy.models
    import kesu.privacy.models
    import kesu.report.models
    import kesu.sla.models  # noqa: F401

    return Base.metadata


def config(engine: Engine) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(files("kesu.db").joinpath("migrations")))
    cfg.attributes["engine"] = engine
    return cfg


def upgrade(engine: Engine, revision: str = "head") -> None:
    command.upgrade(config(engine), revision)


def current(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()
