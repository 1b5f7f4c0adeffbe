"""Reads behind the console screens: queues, repeat-complainant lookup, hand-over, dashboard.

Everything starts from `complaint.queries.visible_to`, so organisation scope and recusal (the
person complained about never sees the case) hold on every screen.
"""

from __future__ import annotations

import heapq
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Row, and_, false, func, or_, select
from sqlalchemy.orm import Session, aliased, load_only

from kesu.access.models import User
from kesu.complaint import lifecycle
from kesu.complaint import queries as complaint_queries
from kesu.complaint import service as complaint_service
from kesu.complaint.models import Complainant, Complaint, ComplaintEvent
from kesu.complaint.numbering import unspaced
from kesu.org import service as org_service
from kesu.org.models import Organisation
from kesu.policy.schema import Pack
from kesu.privacy import rules as privacy_rules
from kesu.sla.models import Timer

QUEUES = ("mine", "team", "unassigned", "due_soon", "overdue", "review", "all")
LIMIT = 100
DUE_SOON = timedelta(hours=1)
"""The "due soon" queue: the next deadline within the hour (the dashboard's tile opens it)."""

QUEUE_COLUMNS = (
    Complaint.id,
    Complaint.number,
    Complaint.title,
    Complaint.level,
    Complaint.state,
    Complaint.org_id,
    Complaint.site_id,
    Complaint.staff_complained_id,
    Complaint.received_by_id,
    Complaint.assignee_id,
    Complaint.department_id,
    Complaint.received_at,
    Complaint.next_due_at,
    Complaint.deadline_provisional,
)
"""What a queue row shows (console/queue.html), and what decides whether its title is shown
masked (`access.service.view_of`): the rest of a complaint (its JSON details, description) is
not read for a list of a hundred."""


@dataclass(frozen=True)
class QueueFilters:
    level: str | None = None
    state: str | None = None
    category: str | None = None
    channel: str | None = None
    text: str | None = None
    department: int | None = None
    """The team queue of another desk (the hand-over's "and N more"; NO_DESK: the complaints no
    desk owns yet); else the viewer's own."""


NO_DESK = 0
"""The team queue of complaints without a department: a portal complaint, one taken by head
office. It is the team queue of whoever has no department (head-office managers)."""


def team_of(viewer: User, f: QueueFilters) -> int:
    """Whose desk the team queue shows: the one asked for, else the viewer's, else NO_DESK."""
    if f.department is not None:
        return f.department
    return viewer.department_id if viewer.department_id is not None else NO_DESK


def _rank(pack: Pack, user: User) -> int:
    role = pack.role(user.role)
    return pack.tier_rank(role.tier if role else None)


def _approval_limit(pack: Pack, user: User) -> ColumnElement[bool]:
    """Solutions this user's tier may approve (the 权限核决表 read as an amount bound)."""
    rank = _rank(pack, user)
    bands = [b for b in pack.authority if pack.tier_rank(b.tier) <= rank]
    if not bands:
        return false()
    if any(b.up_to is None for b in bands):
        return Complaint.solution_amount.is_not(None)
    return Complaint.solution_amount <= max(b.up_to for b in bands)


def awaiting(pack: Pack, user: User) -> ColumnElement[bool]:
    """Complaints waiting for this person's signature: approval, a review step, closing (after
    the review chain, or at once for what was classified as not a valid complaint), a transfer
    to them or to their desk to accept or decline."""
    role = pack.role(user.role)
    if role is None:
        return false()
    rank = _rank(pack, user)
    conds: list[ColumnElement[bool]] = []
    if role.may("approve_solution"):
        conds.append(and_(Complaint.state == "awaiting_approval", _approval_limit(pack, user)))
    if role.may("approve_delay"):
        conds.append(and_(Complaint.state != "closed", Complaint.delay_status == "requested"))
    if role.may("accept_transfer"):  # the receiving side's half of the hand-over (转交联系单)
        to_user = Complaint.pending_transfer["to_user_id"].as_integer()
        conds.append(to_user == user.id)
        if user.department_id is not None:
            tiers = [t.key for t in pack.tiers if pack.tier_rank(t.key) <= rank]
            conds.append(
                and_(
                    to_user.is_(None),
                    Complaint.pending_transfer["to_department_id"].as_integer()
                    == user.department_id,
                    Complaint.current_tier.in_(tiers),
                )
            )
    for lv in pack.levels:
        if role.may("sign_off"):
            for i, step in enumerate(lv.review_chain):
                if step.role == user.role or (step.tier and rank >= pack.tier_rank(step.tier)):
                    conds.append(
                        and_(
                            Complaint.level == lv.key,
                            Complaint.state == "reviewing",
                            Complaint.review_step == i,
                            or_(Complaint.assignee_id.is_(None), Complaint.assignee_id != user.id),
                        )
                    )
        if role.may("close") and user.role in lv.closer_roles:
            conds.append(
                and_(
                    Complaint.level == lv.key,
                    Complaint.state == "reviewing",
                    Complaint.review_step >= len(lv.review_chain),
                )
            )
            # a request, an invalid or a malicious complaint closes with its reason at once
            conds.append(
                and_(
                    Complaint.level == lv.key,
                    Complaint.state.in_(sorted(lifecycle.OPEN)),
                    Complaint.classification.is_not(None),
                    Complaint.classification != "valid",
                )
            )
    return or_(*conds) if conds else false()


def queue(
    session: Session,
    viewer: User,
    pack: Pack,
    name: str,
    f: QueueFilters,
    now: datetime,
) -> list[Complaint]:
    """One work queue, the longest-waiting first, at most LIMIT rows."""
    stmt = complaint_queries.visible_to(session, viewer)
    if name != "all":
        # both forms: the literal one for the partial index of "mine", the list of open states
        # so the others seek (org, state) to the open complaints instead of the whole history
        stmt = stmt.where(complaint_queries.OPEN, Complaint.state.in_(sorted(lifecycle.OPEN)))
    if name == "mine":
        stmt = stmt.where(Complaint.assignee_id == viewer.id)
    elif name == "team":
        desk = team_of(viewer, f)
        on = Complaint.department_id
        stmt = stmt.where(on.is_(None) if desk == NO_DESK else on == desk)
    elif name == "unassigned":
        stmt = stmt.where(Complaint.assignee_id.is_(None))
    elif name == "due_soon":
        stmt = stmt.where(Complaint.next_due_at > now, Complaint.next_due_at <= now + DUE_SOON)
    elif name == "overdue":
        stmt = stmt.where(Complaint.next_due_at <= now)
    elif name == "review":
        stmt = stmt.where(awaiting(pack, viewer))
    for column in ("level", "state", "category", "channel"):
        value = getattr(f, column)
        if value:
            stmt = stmt.where(getattr(Complaint, column) == value)
    if f.text:
        text = unspaced(f.text)  # a number as read out to the caller, with its spaces
        like = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        # ILIKE: "fs2026…" or "sofa" finds FS2026… and Sofa on PostgreSQL too (SQLite's LIKE
        # ignores case anyway)
        stmt = stmt.where(
            or_(
                Complaint.number.ilike(like, escape="\\"),
                Complaint.title.ilike(like, escape="\\"),
            )
        )
    if name == "all":
        stmt = stmt.order_by(Complaint.received_at.desc(), Complaint.id.desc())
    else:
        stmt = stmt.order_by(
            Complaint.next_due_at.asc().nulls_last(), Complaint.received_at, Complaint.id
        )
    stmt = stmt.options(load_only(*QUEUE_COLUMNS, raiseload=True))
    return list(session.scalars(stmt.limit(LIMIT)))


def warnings(session: Session, ids: set[int]) -> dict[int, datetime]:
    """When each complaint's running timers start warning (the earliest), for the colours."""
    if not ids:
        return {}
    rows = session.execute(
        select(Timer.complaint_id, func.min(Timer.warn_at))
        .where(
            Timer.complaint_id.in_(ids),
            Timer.state == "running",
            Timer.breached_at.is_(None),
            Timer.warn_at.is_not(None),
        )
        .group_by(Timer.complaint_id)
    )
    return dict(rows.all())


def customer_wrote(events: list[ComplaintEvent]) -> datetime | None:
    """客户新留言: when the customer last wrote on the portal (留言/补充材料), if nobody on staff
    has put anything on the record since (a note, a call, any step); else None. Staff reading
    the page is not on the record, so answering — a call recorded, a note — is what clears it."""
    wrote: datetime | None = None
    for e in events:  # in order of the record
        if e.actor_id is not None:
            wrote = None
        elif (
            e.command == "note"
            and e.actor_kind == "customer"
            and not privacy_rules.is_consent_note(e.payload.get("text"))
        ):
            wrote = e.at
    return wrote


def customers_waiting(session: Session, ids: set[int]) -> dict[int, datetime]:
    """`customer_wrote` for a page of complaints in one statement: their customers' notes after
    the last staff event (both read from ix_complaint_event_complaint_command), the latest one's
    time per complaint. Customers' notes are few; the consent note is left out here."""
    if not ids:
        return {}
    staff = aliased(ComplaintEvent)
    last_staff = (
        select(func.max(staff.seq))
        .where(staff.complaint_id == ComplaintEvent.complaint_id, staff.actor_id.is_not(None))
        .scalar_subquery()
    )
    rows = session.execute(
        select(ComplaintEvent.complaint_id, ComplaintEvent.at, ComplaintEvent.payload).where(
            ComplaintEvent.complaint_id.in_(ids),
            ComplaintEvent.command == "note",
            ComplaintEvent.actor_id.is_(None),
            ComplaintEvent.actor_kind == "customer",
            ComplaintEvent.seq > func.coalesce(last_staff, 0),
        )
    )
    found: dict[int, datetime] = {}
    for cid, at, payload in rows:
        if not privacy_rules.is_consent_note((payload or {}).get("text")):
            found[cid] = max(at, found.get(cid, at))
    return found


def timers(session: Session, complaint_id: int) -> list[Timer]:
    """Every timer of one complaint, the running ones by due time first."""
    return list(
        session.scalars(
            select(Timer)
            .where(Timer.complaint_id == complaint_id)
            .order_by((Timer.state != "running"), Timer.due_at)
        )
    )


def earlier_complaints(session: Session, viewer: User, phone: str) -> list[Complaint]:
    """Repeat-complainant lookup: this number's complaints the viewer may see, newest first."""
    if len(complaint_service.normalise_phone(phone)) < 6:
        return []
    stmt = (
        complaint_queries.visible_to(session, viewer)
        .join(Complainant, Complainant.id == Complaint.complainant_id)
        .where(Complainant.phone_hash == complaint_service.phone_digest(phone))
        .order_by(Complaint.received_at.desc())
        .limit(10)
    )
    return list(session.scalars(stmt))


def complainants(session: Session, ids: set[int]) -> dict[int, Complainant]:
    if not ids:
        return {}
    return {c.id: c for c in session.scalars(select(Complainant).where(Complainant.id.in_(ids)))}


def user_names(session: Session, ids: set[int | None]) -> dict[int, str]:
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    rows = session.execute(select(User.id, User.display_name).where(User.id.in_(wanted)))
    return dict(rows.all())


def _organisations(session: Session) -> list[Row]:
    """Every organisation's id, name and kind, once per unit of work: a few hundred short
    rows cost less to read whole than a group's subtree does as an IN list of its ids."""
    known = session.info.get("kesu.console.orgs")
    if known is None:
        known = session.info["kesu.console.orgs"] = session.execute(
            select(Organisation.id, Organisation.name, Organisation.kind).order_by(Organisation.id)
        ).all()
    return known


def org_names(session: Session) -> dict[int, str]:
    return {o.id: o.name for o in _organisations(session)}


def group_staff(session: Session, viewer: User) -> list[Row]:
    """Active staff of the viewer's group (id, name, role, department), for assignment,
    transfer and owner choices; read once per unit of work (a complaint page asks twice)."""
    group = org_service.group_of(session, viewer.org_id)
    known = session.info.setdefault("kesu.console.staff", {})
    if group.id not in known:
        ids = org_service.subtree_ids(session, group.id)
        known[group.id] = session.execute(
            select(User.id, User.display_name, User.role, User.department_id)
            .where(User.org_id.in_(ids), User.active.is_(True))
            .order_by(User.id)
        ).all()
    return known[group.id]


def places(session: Session, viewer: User) -> tuple[list[Row], list[Row]]:
    """(sites, departments) of the viewer's group: id, name and kind, for choices."""
    group = org_service.group_of(session, viewer.org_id)
    ids = set(org_service.subtree_ids(session, group.id))
    orgs = [o for o in _organisations(session) if o.id in ids]
    sites = [o for o in orgs if o.kind in ("group", "region", "site")]
    return sites, [o for o in orgs if o.kind == "department"]


# --- shift hand-over (交接班) ------------------------------------------------------------------


WAITING = ("pending_transfer", "awaiting_approval", "delay_requested", "customer")


SOON = timedelta(hours=2)
"""A hand-over's "due soon": within the next two hours."""


@dataclass
class Desk:
    """One department's open work at hand-over time: every open complaint counted, the most
    urgent `HANDOVER_ROWS` listed (`more`: how many are not)."""

    department_id: int | None
    open: int = 0
    new: int = 0
    due_soon: int = 0
    overdue: int = 0
    items: list[tuple[Complaint, str | None]] | None = None

    @property
    def more(self) -> int:
        return self.open - len(self.items or [])


HANDOVER_ROWS = 20
"""Complaints listed per desk, the next deadline first; the desk's queue has the rest."""

HANDOVER_COLUMNS = (
    *QUEUE_COLUMNS,
    Complaint.pending_transfer,
    Complaint.delay_status,
)


def _waiting_for(c: Complaint) -> str | None:
    if c.pending_transfer:
        return "pending_transfer"
    if c.state == "awaiting_approval":
        return "awaiting_approval"
    if c.delay_status == "requested":
        return "delay_requested"
    if c.state == "implemented":
        return "customer"
    return None


def _urgency(due: datetime | None, received: datetime, cid: int) -> tuple:
    """The queues' order: the next deadline first, those without one last, then the oldest."""
    return (due is None, due or received, received, cid)


def handover(session: Session, viewer: User, now: datetime, tz: str) -> list[Desk]:
    """Open complaints per desk (department): counts, today's new ones, and the most urgent
    ones with what they wait on. The open complaints are read as four columns (seeks of
    (org_id, state) for each open state, never the closed history); only the listed rows are
    read whole."""
    midnight = datetime.combine(now.astimezone(ZoneInfo(tz)).date(), datetime.min.time())
    since = midnight.replace(tzinfo=ZoneInfo(tz))
    scoped = complaint_queries.visible_to(session, viewer)
    open_rows = session.execute(
        scoped.with_only_columns(
            Complaint.id, Complaint.department_id, Complaint.received_at, Complaint.next_due_at
        ).where(Complaint.state.in_(sorted(lifecycle.OPEN)))
    ).all()
    desks: dict[int | None, Desk] = {}
    urgent: dict[int | None, list[tuple]] = {}
    for cid, department_id, received_at, next_due_at in open_rows:
        desk = desks.setdefault(department_id, Desk(department_id, items=[]))
        desk.open += 1
        desk.new += received_at >= since
        if next_due_at is not None:
            desk.overdue += next_due_at <= now
            desk.due_soon += now < next_due_at <= now + SOON
        urgent.setdefault(department_id, []).append(_urgency(next_due_at, received_at, cid))
    listed = [key[-1] for keys in urgent.values() for key in heapq.nsmallest(HANDOVER_ROWS, keys)]
    if listed:
        rows = session.scalars(
            select(Complaint)
            .where(Complaint.id.in_(listed))
            .options(load_only(*HANDOVER_COLUMNS, raiseload=True))
        ).all()
        for c in sorted(rows, key=lambda c: _urgency(c.next_due_at, c.received_at, c.id)):
            desks[c.department_id].items.append((c, _waiting_for(c)))
    return sorted(desks.values(), key=lambda d: (d.department_id is None, d.department_id or 0))


# --- dashboard ---------------------------------------------------------------------------------


@dataclass
class Dashboard:
    today: int
    open_by_level: list[tuple[str, int]]
    satisfaction: list[tuple[int, int]]
    top_categories: list[tuple[str | None, int]]
    closed_this_week: int
    due_next_hour: int
    breaches_this_week: int


def _counting_base(session: Session, viewer: User, scoped) -> tuple:
    """What the dashboard counts over, and the ids to take off. For a viewer who sees the whole
    group: the group's complaints (counted from the covering report indexes, no row read) and
    the few complaints about the viewer (recusal), found by ix_complaint_staff_complained_id
    and subtracted; the same figures as counting `visible_to`, which has to read every row of
    the range for its staff_complained_id. Anyone else: `visible_to` itself."""
    group = org_service.group_of(session, viewer.org_id)
    if viewer.org_id != group.id:
        return scoped, []
    about = session.execute(
        select(Complaint.id, Complaint.org_id).where(Complaint.staff_complained_id == viewer.id)
    )
    ids = [cid for cid, org_id in about if org_id == group.id]
    return select(Complaint).where(Complaint.org_id == group.id), ids


def dashboard(session: Session, viewer: User, pack: Pack, now: datetime) -> Dashboard:
    """The manager's tiles and charts. Each figure reads a bounded range of an index (today,
    this week, the last 30 days, the next hour, the open complaints), never the group's
    history, so the page costs the same after years of complaints."""
    scoped = complaint_queries.visible_to(session, viewer)
    tz = ZoneInfo(pack.timezone)
    local = now.astimezone(tz)
    today = datetime.combine(local.date(), datetime.min.time(), tzinfo=tz)
    week = today - timedelta(days=local.weekday())
    month = now - timedelta(days=30)

    base, about = _counting_base(session, viewer, scoped)

    def grouped(column, *where) -> Counter:
        stmt = base.with_only_columns(column, func.count()).where(*where).group_by(column)
        counts = Counter(dict(session.execute(stmt).all()))
        if about:  # recusal: less the complaints about the viewer
            counts.subtract(dict(session.execute(stmt.where(Complaint.id.in_(about))).all()))
        return +counts

    def tally(*where) -> int:
        stmt = base.with_only_columns(func.count()).where(*where)
        n = session.scalar(stmt) or 0
        return n - (session.scalar(stmt.where(Complaint.id.in_(about))) or 0 if about else 0)

    count = scoped.with_only_columns(func.count(Complaint.id))
    # the open complaints as seeks of (org_id, state) for each open state, counted here: grouped
    # in SQL, SQLite would walk ix_complaint_level (the whole history) to group in index order
    open_states = sorted(lifecycle.OPEN)
    levels = Counter(
        session.scalars(
            scoped.with_only_columns(Complaint.level).where(Complaint.state.in_(open_states))
        )
    )
    # satisfaction of the complaints closed in the last 30 days (a range of the closed index)
    grades = grouped(
        Complaint.satisfaction, Complaint.closed_at >= month, Complaint.satisfaction.is_not(None)
    )
    cats = grouped(Complaint.category, Complaint.received_at >= month)
    return Dashboard(
        today=tally(Complaint.received_at >= today),
        open_by_level=[(lv.key, levels.get(lv.key, 0)) for lv in pack.levels],
        satisfaction=[(g.value, grades.get(g.value, 0)) for g in pack.satisfaction],
        top_categories=sorted(cats.items(), key=lambda kv: -kv[1])[:8],
        closed_this_week=tally(Complaint.closed_at >= week),
        due_next_hour=session.scalar(
            count.where(
                complaint_queries.OPEN,
                Complaint.next_due_at > now,
                Complaint.next_due_at <= now + DUE_SOON,
            )
        )
        or 0,
        # the week's breaches (index of breach times), each joined to its complaint for scope
        breaches_this_week=session.scalar(
            count.with_only_columns(func.count(Timer.id))
            .select_from(Complaint)
            .join(Timer, Timer.complaint_id == Complaint.id)
            .where(Timer.breached_at >= week)
        )
        or 0,
    )
