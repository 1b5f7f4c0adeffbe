"""The improvement loop under /api/v1/improvement: corrective and preventive actions (整改),
training and accountability records, inspections, repeat-cause alerts, the management review.

Thin endpoints: parse, authorise, call one service, commit, render. Who may see an action is
`improvement.queries.visible_to` (its site or department within the caller's node, or the
caller owns or verifies it); writes need a token that may write (`rules.can(…, "command")`)
and the improvement rules decide the rest (manager, owner, verifier, state).
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query
from fastapi.responses import Response

from kesu.access import rules
from kesu.access import service as access_service
from kesu.access.models import User
from kesu.improvement import queries, review
from kesu.improvement import rules as improvement_rules
from kesu.improvement import service as improvement_service
from kesu.improvement.models import CorrectiveAction
from kesu.improvement.schemas import (
    AccountabilityCreate,
    AccountabilityOut,
    ActionCreate,
    ActionDetail,
    ActionEventOut,
    ActionOut,
    AlertOut,
    CommandIn,
    FromFinding,
    InspectionIn,
    InspectionOut,
)
from kesu.web.deps import (
    ClockDep,
    CurrentUser,
    Db,
    IdempotencyKey,
    Locale,
    PrincipalDep,
    ReadDb,
    mark_replayed,
)

router = APIRouter(prefix="/improvement", tags=["improvement"])


def _may_write(p: rules.Principal, user: User, action: CorrectiveAction | None = None) -> None:
    """A token that may write; at the action's site or department, or (owner, verifier, or a
    new action) at the caller's own node."""
    if action is not None and rules.can(
        p,
        "command",
        rules.ComplaintView(
            org_id=action.org_id, site_id=action.site_id, department_id=action.department_id
        ),
    ):
        return
    rules.require(p, "command", rules.ComplaintView(org_id=p.group_id, site_id=user.org_id))


def _out(action: CorrectiveAction, complaint_ids: list[int]) -> ActionOut:
    out = ActionOut.model_validate(action)
    out.complaint_ids = complaint_ids
    return out


def _detail(db, user: User, action: CorrectiveAction) -> ActionDetail:
    """The action with the complaints its reader may see, in its list and in its record."""
    linked = queries.complaints_of(db, action.id)
    shown_ids = queries.seen_by(db, user, (c.id for c in linked))
    hidden = {c.number for c in linked if c.id not in shown_ids}
    events = []
    for e in queries.events(db, action.id):
        out = ActionEventOut.model_validate(e)
        if "complaint_numbers" in out.payload:
            numbers = [n for n in out.payload["complaint_numbers"] if n not in hidden]
            out.payload = {**out.payload, "complaint_numbers": numbers}
        if "complaint_ids" in out.payload:
            ids = [i for i in out.payload["complaint_ids"] if i in shown_ids]
            out.payload = {**out.payload, "complaint_ids": ids}
        events.append(out)
    return ActionDetail(
        **_out(action, sorted(shown_ids)).model_dump(),
        events=events,
        allowed=improvement_service.allowed(db, user, action),
    )


@router.get("/actions")
def list_actions(
    db: ReadDb,
    user: CurrentUser,
    state: Annotated[str | None, Query(max_length=30)] = None,
    mine: bool = False,
    overdue: bool = False,
    open_only: bool = False,
    complaint_id: int | None = None,
) -> list[ActionOut]:
    """Actions in your reach, newest first; `complaint_id`: the actions a complaint led to."""
    rows = queries.listing(
        db,
        user,
        state=state,
        mine=mine,
        overdue=overdue,
        open_only=open_only,
        complaint_id=complaint_id,
    )
    ids = queries.complaint_ids(db, [a.id for a in rows], viewer=user)
    return [_out(a, ids[a.id]) for a in rows]


@router.post("/actions", status_code=201)
def open_action(
    body: ActionCreate,
    response: Response,
    db: Db,
    clock: ClockDep,
    user: CurrentUser,
    p: PrincipalDep,
    idempotency_key: IdempotencyKey = None,
) -> ActionDetail:
    """整改立项 from complaints (`complaint_ids`), a Pareto bar (`period`), or on its own."""
    _may_write(p, user)
    action = improvement_service.open_action(db, clock, user, body, key=idempotency_key)
    mark_replayed(db, response)
    db.commit()
    return _detail(db, user, action)


@router.get("/actions/{action_id}")
def get_action(action_id: int, db: ReadDb, user: CurrentUser) -> ActionDetail:
    return _detail(db, user, improvement_service.visible_action(db, user, action_id))


@router.post("/actions/{action_id}/commands/{command}")
def run_command(
    action_id: int,
    command: Annotated[str, Path(max_length=40)],
    body: CommandIn,
    response: Response,
    db: Db,
    clock: ClockDep,
    user: CurrentUser,
    p: PrincipalDep,
) -> ActionDetail:
    """start, progress, add_evidence, implement, link_complaints, reassign, confirm, reopen,
    cancel: `{"version": <the version you saw>, "payload": {...}}`. The same command sent
    again by the same caller from the same version (a retry) is done once, marked
    `Idempotent-Replayed: true`."""
    _may_write(p, user, improvement_service.visible_action(db, user, action_id))
    action = improvement_service.execute(
        db, clock, action_id, user, command, body.payload, body.version
    )
    mark_replayed(db, response)
    db.commit()
    return _detail(db, user, action)


# --- accountability -----------------------------------------------------------------------------


@router.post("/accountability", status_code=201)
def record_accountability(
    body: AccountabilityCreate,
    response: Response,
    db: Db,
    clock: ClockDep,
    user: CurrentUser,
    p: PrincipalDep,
    idempotency_key: IdempotencyKey = None,
) -> list[AccountabilityOut]:
    """培训 / 处分 / 奖励 after a complaint or an action, one record per person."""
    _may_write(p, user)
    rows = improvement_service.record_accountability(db, clock, user, body, key=idempotency_key)
    mark_replayed(db, response)
    db.commit()
    return [AccountabilityOut.model_validate(r) for r in rows]


@router.get("/accountability")
def list_accountability(
    db: ReadDb,
    user: CurrentUser,
    user_id: int | None = None,
    complaint_id: int | None = None,
    action_id: int | None = None,
) -> list[AccountabilityOut]:
    """For the pack's managers, those of the people at their node and below (everyone's at head
    office) and those they recorded; your own for anyone else."""
    manager = user.role in improvement_rules.managers(access_service.pack_for_user(db, user))
    rows = queries.accountability(
        db,
        user,
        manager=manager,
        user_id=user_id,
        complaint_id=complaint_id,
        action_id=action_id,
    )
    return [AccountabilityOut.model_validate(r) for r in rows]


# --- inspections and alerts ---------------------------------------------------------------------


@router.get("/inspections")
def list_inspections(
    db: ReadDb,
    user: CurrentUser,
    state: Annotated[Literal["due", "done", "missed"] | None, Query()] = None,
) -> list[InspectionOut]:
    return [InspectionOut.model_validate(i) for i in queries.inspections(db, user, state=state)]


@router.post("/inspections/{inspection_id}")
def record_inspection(
    inspection_id: int,
    body: InspectionIn,
    response: Response,
    db: Db,
    clock: ClockDep,
    user: CurrentUser,
    p: PrincipalDep,
) -> InspectionOut:
    """检查记录: each item ok or not, with a finding for each failed one. The same record sent
    again by its inspector is kept once, marked `Idempotent-Replayed: true`."""
    _may_write(p, user)
    row = improvement_service.record_inspection(db, clock, user, inspection_id, body)
    mark_replayed(db, response)
    db.commit()
    return InspectionOut.model_validate(row)


@router.post("/inspections/{inspection_id}/items/{item}/action", status_code=201)
def action_from_finding(
    inspection_id: int,
    item: Annotated[str, Path(max_length=40)],
    body: FromFinding,
    response: Response,
    db: Db,
    clock: ClockDep,
    user: CurrentUser,
    p: PrincipalDep,
    idempotency_key: IdempotencyKey = None,
) -> ActionDetail:
    """A preventive action from a failed item."""
    _may_write(p, user)
    action = improvement_service.open_from_finding(
        db, clock, user, inspection_id, item, body, key=idempotency_key
    )
    mark_replayed(db, response)
    db.commit()
    return _detail(db, user, action)


@router.get("/alerts")
def list_alerts(db: ReadDb, user: CurrentUser) -> list[AlertOut]:
    return [AlertOut.model_validate(a) for a in queries.alerts(db, user)]


# --- the management review ----------------------------------------------------------------------


@router.get("/review")
def management_review(
    db: ReadDb,
    user: CurrentUser,
    clock: ClockDep,
    locale: Locale,
    quarter: Annotated[str | None, Query(max_length=10, description="2026-Q4")] = None,
    format: Annotated[Literal["json", "xlsx", "pdf"], Query()] = "json",
) -> Response:
    """管理评审 (ISO 10002 §8.7): the quarter's loop — actions opened, overdue, verified
    effective or not, causes that keep returning, satisfaction with complaint handling."""
    improvement_service.require_manager(access_service.pack_for_user(db, user), user)
    report = review.build(db, org_id=user.org_id, quarter=quarter, locale=locale, now=clock.now())
    content, media, filename = review.render(report, format)
    return Response(
        content,
        media_type=media,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
