"""Organisation tree reads and writes.

The tree's shape (who is whose parent) is kept per process and database, because intake,
authentication and the sweep walk it many times per request. Organisations are only ever
added (`create`; there is no move or delete), so the shape read before is still right as long
as `max(id)` and `count(*)` are unchanged: each unit of work (session) checks that once with
one indexed query and re-reads the shape when another process (or this one) added a unit.
"""

from __future__ import annotations

import re
import threading
import weakref
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kesu.clock import Clock
from kesu.db.session import database_key
from kesu.errors import InvalidInput, NotFound
from kesu.org.models import KINDS, Organisation

_PARENT_KIND = {"group": None, "region": "group", "site": ("group", "region"), "department": None}

_SHAPE = "kesu.org.shape"
_CREATED = "kesu.org.created"
_HELD = "kesu.org.held"


@dataclass(frozen=True)
class Shape:
    """The tree without its names: parent of each id, children of each id."""

    version: tuple[int | None, int]
    parent: dict[int, int | None]
    children: dict[int | None, tuple[int, ...]]


_shapes: weakref.WeakKeyDictionary[object, Shape] = weakref.WeakKeyDictionary()
_lock = threading.Lock()


def shape(session: Session) -> Shape:
    """The tree's shape, current as of this unit of work's first call."""
    found = session.info.get(_SHAPE)
    if found is not None:
        return found
    pool = database_key(session)
    top, n = session.execute(select(func.max(Organisation.id), func.count(Organisation.id))).one()
    with _lock:
        found = _shapes.get(pool)
    if found is None or found.version != (top, n):
        rows = session.execute(select(Organisation.id, Organisation.parent_id)).all()
        parent = {oid: pid for oid, pid in rows}
        children: dict[int | None, list[int]] = {}
        for oid, pid in rows:
            children.setdefault(pid, []).append(oid)
        found = Shape(
            version=(max(parent, default=None), len(parent)),
            parent=parent,
            children={k: tuple(v) for k, v in children.items()},
        )
        if not session.info.get(_CREATED):  # never share a shape with uncommitted units in it
            with _lock:
                _shapes[pool] = found
    session.info[_SHAPE] = found
    return found


CODE = re.compile(r"[A-Za-z0-9_\-]{1,40}")
"""An organisation's code: what the CLI, ledgers and mappings name it by (HX, SH-NJ)."""


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
        raise InvalidInput("invalid.not_one_of", field="kind", value=kind, allowed=", ".join(KINDS))
    if not CODE.fullmatch(code):
        raise InvalidInput("invalid.org_code", field="code", value=code)
    name = name.strip()
    if not name:
        raise InvalidInput("invalid.required", field="name")
    if len(name) > 200:
        raise InvalidInput("invalid.text_too_long", field="name", max=200)
    if kind == "group":
        if parent_id is not None:
            raise InvalidInput("invalid.group_has_no_parent", field="parent_id")
        if not pack_key:
            raise InvalidInput("invalid.required", field="pack_key")
    else:
        if pack_key:  # never read: a unit runs its group's pack
            raise InvalidInput("invalid.pack_on_group_only", field="pack_key")
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
    session.info[_CREATED] = True
    session.info.pop(_SHAPE, None)
    with _lock:
        _shapes.pop(database_key(session), None)
    return org


def get(session: Session, org_id: int) -> Organisation:
    org = session.get(Organisation, org_id)
    if org is None:
        raise NotFound("not_found.organisation", id=org_id)
    # held for the unit of work: the identity map only keeps objects someone still refers to,
    # and callers often keep just `.id`, so the next lookup would read the row again
    session.info.setdefault(_HELD, {})[org_id] = org
    return org


def by_code(session: Session, code: str) -> Organisation:
    """The organisation with this code (HX, SH-NJ), as the CLI, reports and ledgers name it."""
    org = session.scalar(select(Organisation).where(Organisation.code == code))
    if org is None:
        raise NotFound("not_found.organisation", id=code)
    return org


def group_of(session: Session, org_id: int) -> Organisation:
    """Walk up to the group that owns the pack."""
    parent = shape(session).parent
    if org_id not in parent:
        raise NotFound("not_found.organisation", id=org_id)
    return get(session, ancestors(session, org_id)[-1])


def ancestors(session: Session, org_id: int) -> list[int]:
    """The organisation and every one above it, nearest first (empty for an unknown id)."""
    parent = shape(session).parent
    out: list[int] = []
    current: int | None = org_id
    while current is not None and current in parent and current not in out and len(out) <= 20:
        out.append(current)
        current = parent[current]
    return out


def subtree_ids(session: Session, root_id: int) -> list[int]:
    """The organisation and everything under it."""
    children = shape(session).children
    out, stack = [], [root_id]
    while stack:
        oid = stack.pop()
        out.append(oid)
        stack.extend(children.get(oid, ()))
    return out


def all_orgs(session: Session) -> list[Organisation]:
    return list(session.scalars(select(Organisation).order_by(Organisation.id)))
