"""Organisation tree reads and writes."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from kesu.clock import Clock
from kesu.errors import InvalidInput, NotFound
from kesu.org.models import KINDS, Organisation

_PARENT_KIND = {"group": None, "region": "group", "site": ("group", "region"), "department": None}


def create(
    session: Session,
    clock: Clock,
    *,
    kind: str,
    code: str,
    name: str,
    parent_id: int | None = None,
    pack_key: str | None = None,
    timezone: str = "Asia/Shanghai",
) -> Organisation:
    if kind not in KINDS:
        raise InvalidInput("invalid.unknown_key", field="kind", value=kind)
    if kind == "group":
        if parent_id is not None:
            raise InvalidInput("invalid.group_has_no_parent", field="parent_id")
        if not pack_key:
            raise InvalidInput("invalid.required", field="pack_key")
    else:
        parent = session.get(Organisation, parent_id) if parent_id else None
        if parent is None:
            raise InvalidInput("invalid.parent_required", field="parent_id")
        allowed = _PARENT_KIND[kind]
        if allowed and parent.kind not in (allowed if isinstance(allowed, tuple) else (allowed,)):
            raise InvalidInput("invalid.parent_kind", field="parent_id", kind=parent.kind)
    if session.scalar(select(Organisation.id).where(Organisation.code == code)):
        raise InvalidInput("invalid.duplicate", field="code", value=code)
    org = Organisation(
        kind=kind,
        code=code,
        name=name,
        parent_id=parent_id,
        pack_key=pack_key,
        timezone=timezone,
        created_at=clock.now(),
    )
    session.add(org)
    session.flush()
    return org


def get(session: Session, org_id: int) -> Organisation:
    org = session.get(Organisation, org_id)
    if org is None:
        raise NotFound("not_found.organisation", id=org_id)
    return org


def group_of(session: Session, org_id: int) -> Organisation:
    """Walk up to the group that owns the pack."""
    org = get(session, org_id)
    seen = 0
    while org.parent_id is not None and seen < 20:
        org = get(session, org.parent_id)
        seen += 1
    return org


def subtree_ids(session: Session, root_id: int) -> list[int]:
    """The organisation and everything under it (few hundred rows at most: one query)."""
    rows = session.execute(select(Organisation.id, Organisation.parent_id)).all()
    children: dict[int | None, list[int]] = {}
    for oid, pid in rows:
        children.setdefault(pid, []).append(oid)
    out, stack = [], [root_id]
    while stack:
        oid = stack.pop()
        out.append(oid)
        stack.extend(children.get(oid, []))
    return out


def all_orgs(session: Session) -> list[Organisation]:
    return list(session.scalars(select(Organisation).order_by(Organisation.id)))
