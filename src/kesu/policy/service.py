"""Pack versions in the database: register a pack's text once, read it back by id.

A stored version never changes, so its parsed pack is kept per process and database by id
(`pack_of` reads the row, with its whole text, only the first time)."""

from __future__ import annotations

import threading
import weakref

from sqlalchemy import select
from sqlalchemy.orm import Session, defer

from kesu.access.models import User
from kesu.audit import service as audit_service
from kesu.clock import Clock
from kesu.db.session import database_key
from kesu.errors import InvalidInput, NotFound
from kesu.org import service as org_service
from kesu.org.models import Organisation
from kesu.policy import loader
from kesu.policy.models import PolicyVersion
from kesu.policy.schema import Pack

_REGISTERED = "kesu.policy.registered"
_CURRENT = "kesu.policy.current"
_packs: weakref.WeakKeyDictionary[object, dict[int, Pack]] = weakref.WeakKeyDictionary()
_lock = threading.Lock()


def register(session: Session, clock: Clock, text: str, filename: str = "<pack>") -> PolicyVersion:
    """Store this pack text if it is new (validated first); return its version row."""
    pack = loader.parse_pack(text, filename)
    dig = loader.digest(text)
    row = session.scalar(
        select(PolicyVersion).where(PolicyVersion.key == pack.key, PolicyVersion.digest == dig)
    )
    if row is None:
        row = PolicyVersion(
            key=pack.key, version=pack.version, digest=dig, source=text, loaded_at=clock.now()
        )
        session.add(row)
        session.flush()
        session.info[_REGISTERED] = True  # an id that a rollback could hand out again
        session.info.pop(_CURRENT, None)
    return row


def install(
    session: Session,
    clock: Clock,
    text: str,
    filename: str,
    by: User | None = None,
    *,
    staff_must_fit: bool = True,
) -> tuple[PolicyVersion, bool]:
    """Store a pack (validated) and, when it is new, record that in the configuration trail:
    `kesu db upgrade` does it for the built-in packs, `kesu policy load` and `POST /packs` for
    an organisation's own. (The row, whether it was new.) New complaints of the groups under
    its key open under the current version (`current`): the highest version, the latest
    stored among equals; complaints already open keep theirs. A new version that would be in
    use is refused while the staff of a group under its key hold a role it does not have
    (as `adopt` refuses such a pack), unless `staff_must_fit` is False (a release's
    built-in pack)."""
    dig = loader.digest(text)
    known = session.scalar(select(PolicyVersion.id).where(PolicyVersion.digest == dig))
    row = register(session, clock, text, filename)
    if known is None and staff_must_fit and current(session, row.key).id == row.id:
        pack = pack_of(session, row.id)
        groups = session.scalars(
            select(Organisation.id).where(
                Organisation.kind == "group", Organisation.pack_key == row.key
            )
        )
        missing = sorted({r for g in groups for r in _missing_roles(session, pack, g)})
        if missing:
            raise InvalidInput(
                "policy.roles_missing", field="pack", key=row.key, roles="、".join(missing)
            )
    if known is None:
        details = {"key": row.key, "version": row.version, "digest": row.digest}
        audit_service.record_config(session, clock, by, "pack.register", "pack", row.id, details)
    return row, known is None


def adopt(session: Session, clock: Clock, group: Organisation, key: str) -> None:
    """Run a group under another stored pack (`kesu org set-pack`): its new complaints open
    under the pack's current version, complaints already open keep theirs. Refused while the
    group's active staff hold a role the pack does not have (they could no longer act)."""
    if group.kind != "group":
        raise InvalidInput("org.not_a_group", field="code", code=group.code)
    pack = pack_of(session, current(session, key).id)
    missing = _missing_roles(session, pack, group.id)
    if missing:
        raise InvalidInput("policy.roles_missing", field="pack", key=key, roles="、".join(missing))
    before, group.pack_key = group.pack_key, key
    details = {"code": group.code, "from": before, "to": key}
    audit_service.record_config(session, clock, None, "org.pack", "organisation", group.id, details)


def _missing_roles(session: Session, pack: Pack, group_id: int) -> list[str]:
    """The roles the group's active staff hold that `pack` does not have (they could no longer
    act under it)."""
    roles = session.scalars(
        select(User.role)
        .where(User.org_id.in_(org_service.subtree_ids(session, group_id)), User.active)
        .distinct()
    )
    return sorted(r for r in roles if pack.role(r) is None)


def current(session: Session, key: str) -> PolicyVersion:
    """The newest stored version of a pack (what new complaints open under); looked up once
    per unit of work (authentication, intake and its notifications each ask for it)."""
    known = session.info.setdefault(_CURRENT, {})
    if key in known:
        return known[key]
    row = session.scalar(
        select(PolicyVersion)
        .where(PolicyVersion.key == key)
        .options(defer(PolicyVersion.source))
        .order_by(PolicyVersion.version.desc(), PolicyVersion.id.desc())
        .limit(1)
    )
    if row is None:
        raise NotFound("not_found.pack", key=key)
    known[key] = row
    return row


def stored(session: Session) -> list[tuple[PolicyVersion, Pack, list[str]]]:
    """Every pack key stored (the built-ins `kesu db upgrade` registered and those loaded with
    `kesu policy load`): the version new complaints open under, its pack and the codes of the
    groups that run it, by key."""
    keys = session.scalars(select(PolicyVersion.key).distinct().order_by(PolicyVersion.key))
    groups: dict[str, list[str]] = {}
    for code, key in session.execute(
        select(Organisation.code, Organisation.pack_key)
        .where(Organisation.kind == "group")
        .order_by(Organisation.code)
    ):
        groups.setdefault(key, []).append(code)
    out = []
    for key in list(keys):
        row = current(session, key)
        out.append((row, pack_of(session, row.id), groups.get(key, [])))
    return out


def pack_of(session: Session, policy_version_id: int) -> Pack:
    with _lock:
        known = _packs.setdefault(database_key(session), {})
    pack = known.get(policy_version_id)
    if pack is None:
        row = session.get(PolicyVersion, policy_version_id)
        if row is None:
            raise NotFound("not_found.pack", key=str(policy_version_id))
        pack = loader.parse_cached(row.source)
        if not session.info.get(_REGISTERED):
            known[policy_version_id] = pack
    return pack
