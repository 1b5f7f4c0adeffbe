"""The improvement loop in the staff console (整改): the actions list with alerts, due
inspections and this month's causes (the reports' Pareto, each bar opening an action); opening
an action from one complaint, several selected ones or a Pareto bar; an action's page with its
complaints, record, figures and commands; inspections; training and accountability; the
quarterly management review (HTML, PDF, XLSX).

Thin entry points: parse the form, call one `kesu.improvement` service, commit, render.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, TypeVar
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel, ValidationError
from sqlalchemy import Row
from starlette.datastructures import FormData

from kesu.access import service as access_service
from kesu.access.models import User
from kesu.complaint import queries as complaint_queries
from kesu.complaint import service as complaint_service
from kesu.complaint.models import Complaint
from kesu.errors import InvalidInput, KesuError
from kesu.i18n import label, pick, translate
from kesu.improvement import queries, review, rules
from kesu.improvement import service as improvement_service
from kesu.improvement.schemas import (
    AccountabilityCreate,
    ActionCreate,
    FromFinding,
    InspectionIn,
)
from kesu.org import service as org_service
from kesu.policy.schema import Pack
from kesu.report import queries as report_queries
from kesu.report import rules as report_rules
from kesu.report import service as report_service
from kesu.web.console import queries as console_queries
from kesu.web.console.staff import NAV, ConsoleUser, page
from kesu.web.deps import ClockDep, Db, ReadDb, visible_complaint
from kesu.web.pages import checked_form, error_message, form_key, page_locale

router = APIRouter(include_in_schema=False)
Form = Annotated[FormData, Depends(checked_form)]
NAV.append(("/improvement", "improvement.nav"))

TABS = ("mine", "open", "overdue", "awaiting_verification", "all")
M = TypeVar("M", bound=BaseModel)


def _text(form: FormData, name: str) -> str | None:
    value = form.get(name)
    return value.strip() or None if isinstance(value, str) else None


def _model(model: type[M], **values: Any) -> M:
    """A form's fields as `model`, a blank field left out: "required", not "at least 1
    character" or "not a number"."""
    return model.model_validate({k: v for k, v in values.items() if v is not None})


def _int(form: FormData, name: str) -> int | None:
    value = _text(form, name)
    if value is None:
        return None
    if not value.isdigit():
        raise InvalidInput("invalid.unknown_id", field=name, value=value[:20])
    return int(value)


def _count(form: FormData, name: str) -> int | None:
    """A whole number of 0 or more, or nothing; anything else is refused, never dropped (a
    target of "-1" or "3件" read as "no target" would skip the check of effect)."""
    value = _text(form, name)
    if value is None:
        return None
    if not value.isdigit():
        raise InvalidInput("improvement.not_a_count", field=name, value=value[:20])
    return int(value)


def _when(form: FormData, name: str, pack: Pack) -> datetime | None:
    """A `datetime-local` field, read in the pack's time zone."""
    value = _text(form, name)
    if value is None:
        return None
    try:
        return datetime.fromisoformat(value).replace(tzinfo=ZoneInfo(pack.timezone))
    except ValueError as exc:
        raise InvalidInput("improvement.not_a_time", field=name, value=value[:20]) from exc


def _people(db, user: User) -> list[Row]:
    return console_queries.group_staff(db, user)


def _names(db, pack: Pack, locale: str) -> dict[str, Any]:
    return {
        "dims": {d.key: pick(d.name, locale) for d in pack.root_cause_dimensions},
        "cats": {c.key: pick(c.name, locale) for c in pack.category_list()},
        "orgs": console_queries.org_names(db),
    }


def for_complaint(db, user: User, complaint: Complaint, pack: Pack) -> dict[str, Any]:
    """What a complaint's page shows of the loop: the actions it led to, the training and
    accountability recorded after it, and (for managers) the forms to add either."""
    manager = user.role in rules.managers(pack)
    records = queries.accountability(db, user, manager=manager, complaint_id=complaint.id)
    return {
        "actions": queries.listing(db, user, complaint_id=complaint.id),
        "records": records,
        "names": queries.user_names(db, {r.user_id for r in records}),
        "manager": manager,
        "staff": _people(db, user) if manager else [],
    }


# --- the list -----------------------------------------------------------------------------------


@router.get("/improvement")
def improvement_list(
    request: Request,
    db: ReadDb,
    clock: ClockDep,
    user: ConsoleUser,
    tab: Annotated[str, Query(max_length=30)] = "open",
) -> Response:
    pack = access_service.pack_for_user(db, user)
    locale = page_locale(request)
    tab = tab if tab in TABS else "open"
    rows = queries.listing(
        db,
        user,
        mine=tab == "mine",
        open_only=tab in ("open", "mine"),
        overdue=tab == "overdue",
        state="awaiting_verification" if tab == "awaiting_verification" else None,
    )
    ids = queries.complaint_ids(db, [a.id for a in rows], viewer=user)
    today = report_service.today_of(pack, clock.now())
    month = report_rules.month(today.year, today.month)
    scope = report_service.target(db, user.org_id).scope  # the user's node and below
    causes = report_queries.root_causes(db, scope, *month.bounds(pack.timezone))
    return page(
        request,
        db,
        user,
        "console/improvement.html",
        {
            "tab": tab,
            "tabs": TABS,
            "rows": rows,
            "linked": ids,
            "users": queries.user_names(db, {a.owner_id for a in rows}),
            "alerts": queries.alerts(db, user, limit=10),
            "inspections": queries.inspections(db, user, state="due", limit=20)
            + queries.inspections(db, user, state="missed", limit=10),
            "pareto": report_rules.pareto(causes),
            "month": month,
            "manager": user.role in rules.managers(pack),
            "checklists": {c.key: c for c in pack.improvement.checklists},
            **_names(db, pack, locale),
        },
        pack=pack,
    )


@router.get("/improvement/complaints")
def cause_complaints(
    request: Request,
    db: ReadDb,
    user: ConsoleUser,
    cause: Annotated[str, Query(max_length=40)],
    period: Annotated[str, Query(max_length=10)],
    category: Annotated[str, Query(max_length=40)] = "",
) -> Response:
    """The complaints behind a bar of the month's cause Pareto (closed in the month, naming
    the cause): pick some, open an action."""
    pack = access_service.pack_for_user(db, user)
    try:
        month = report_rules.parse("monthly", period)
    except ValueError as exc:
        raise InvalidInput(
            "report.bad_period",
            field="period",
            kind=label("report.kind.monthly"),
            value=period,
            example=report_rules.EXAMPLES["monthly"],
        ) from exc
    start, end = month.bounds(pack.timezone)
    group = org_service.group_of(db, user.org_id)
    rows = queries.complaints_of_cause(
        db,
        group_id=group.id,
        dimension=cause,
        start=start,
        end=end,
        categories=improvement_service.category_keys(pack, category)
        if category in pack.keys("categories")
        else None,
        closed=True,
        within=complaint_queries.visible_to(db, user),
    )
    return page(
        request,
        db,
        user,
        "console/improvement_complaints.html",
        {
            "rows": rows,
            "cause": cause,
            "category": category,
            "period": month.label,
            **_names(db, pack, page_locale(request)),
        },
        pack=pack,
    )


# --- opening an action --------------------------------------------------------------------------


def _new_form(
    request: Request,
    db,
    user: User,
    pack: Pack,
    values: dict[str, Any],
    complaints: list[Complaint],
    *,
    error: str | None = None,
    status: int = 200,
) -> Response:
    within = pack.improvement.deadline.within
    return page(
        request,
        db,
        user,
        "console/improvement_new.html",
        {
            "values": values,
            "complaints": complaints,
            "staff": _people(db, user),
            "sites": [o for o in console_queries.places(db, user)[0] if o.kind == "site"],
            "error": error,
            "default_deadline": translate(
                f"improvement.unit.{within.unit}", page_locale(request), n=within.amount
            ),
            **_names(db, pack, page_locale(request)),
        },
        status=status,
        pack=pack,
    )


@router.get("/improvement/new")
def new_action(
    request: Request,
    db: ReadDb,
    user: ConsoleUser,
    complaint: Annotated[list[int], Query()] = [],  # noqa: B006 (FastAPI reads the default)
    cause: Annotated[str, Query(max_length=40)] = "",
    category: Annotated[str, Query(max_length=40)] = "",
    period: Annotated[str, Query(max_length=40)] = "",
) -> Response:
    """From one complaint (`complaint=`), several (`complaint=…&complaint=…`) or a Pareto bar
    (`cause=&period=`): the form comes filled with what they share."""
    pack = access_service.pack_for_user(db, user)
    improvement_service.require_manager(pack, user)
    chosen = [visible_complaint(db, user, cid) for cid in dict.fromkeys(complaint[:200])]
    causes = [set((c.investigation or {}).get("root_causes", [])) for c in chosen]
    shared = set.intersection(*causes) if causes else set()
    categories = {c.category for c in chosen}
    sites = {c.site_id for c in chosen}
    values = {
        "site_id": str(sites.pop()) if len(sites) == 1 else "",
        "cause_dimension": cause or (sorted(shared)[0] if shared else ""),
        "category": category or (categories.pop() if len(categories) == 1 else "") or "",
        "period": period,
        "title": chosen[0].title if len(chosen) == 1 else "",
        "problem": "\n".join(f"{c.number} {c.title}" for c in chosen),
        "action_kind": "corrective",
    }
    return _new_form(request, db, user, pack, values, chosen)


@router.post("/improvement/new")
def create_action(
    request: Request, db: Db, clock: ClockDep, user: ConsoleUser, form: Form
) -> Response:
    pack = access_service.pack_for_user(db, user)
    values = {k: v for k, v in form.items() if isinstance(v, str) and k != "csrf"}
    complaint_ids = [int(v) for v in form.getlist("complaint_ids") if str(v).isdigit()]
    try:
        data = _model(
            ActionCreate,
            action_kind=_text(form, "action_kind") or "corrective",
            title=_text(form, "title"),
            problem=_text(form, "problem"),
            cause_dimension=_text(form, "cause_dimension"),
            category=_text(form, "category"),
            planned=_text(form, "planned"),
            owner_id=_int(form, "owner_id"),
            verifier_id=_int(form, "verifier_id"),
            site_id=_int(form, "site_id"),
            due_at=_when(form, "due_at", pack),
            target_per_month=_count(form, "target_per_month"),
            complaint_ids=complaint_ids,
            period=_text(form, "period"),
        )
        action = improvement_service.open_action(db, clock, user, data, key=form_key(form))
    except KesuError as exc:
        db.rollback()
        return _failed(request, db, user, pack, values, complaint_ids, exc)
    except ValidationError as exc:  # name the fields in the reader's language
        db.rollback()
        err = complaint_service.invalid_from(exc)
        return _failed(request, db, user, pack, values, complaint_ids, err)
    db.commit()
    return RedirectResponse(f"/improvement/actions/{action.id}?done=open", status_code=303)


def _failed(request, db, user, pack, values, complaint_ids, exc: KesuError) -> Response:
    chosen = list(
        db.scalars(complaint_queries.visible_to(db, user).where(Complaint.id.in_(complaint_ids)))
    )
    return _new_form(
        request,
        db,
        user,
        pack,
        values,
        chosen,
        error=error_message(exc, page_locale(request)),
        status=exc.status,
    )


# --- an action ----------------------------------------------------------------------------------


def _show(
    request: Request,
    db,
    user: User,
    action_id: int,
    *,
    done: str = "",
    error: str | None = None,
    failed: str | None = None,
    values: dict[str, Any] | None = None,
    status: int = 200,
) -> Response:
    action = improvement_service.visible_action(db, user, action_id)
    pack = improvement_service.pack_of(db, action)
    locale = page_locale(request)
    events = queries.events(db, action.id)
    manager = user.role in rules.managers(pack)
    records = queries.accountability(db, user, manager=manager, action_id=action.id)
    people = {action.owner_id, action.verifier_id, action.created_by_id, action.verified_by_id}
    people |= {e.actor_id for e in events} | {r.user_id for r in records}
    complaints = queries.complaints_of(db, action.id, viewer=user)
    slices = None
    if action.verification:
        slices = rules.observation(
            datetime.fromisoformat(action.verification["from"]),
            len(action.verification["counts"]),
            pack.timezone,
        )
    return page(
        request,
        db,
        user,
        "console/improvement_action.html",
        {
            "a": action,
            "complaints": complaints,
            "shown_numbers": {c.number for c in complaints},  # in the record's events too
            "events": events,
            "records": records,
            "allowed": improvement_service.allowed(db, user, action),
            "manager": manager,
            "users": queries.user_names(db, people),
            "staff": _people(db, user),
            "slices": slices,
            "done": done,
            "error": error,
            "failed": failed,  # the accountability form, refused: open and refilled
            "values": values or {},
            **_names(db, pack, locale),
        },
        status=status,
        pack=pack,
    )


@router.get("/improvement/actions/{action_id}")
def action_page(
    request: Request,
    action_id: int,
    db: ReadDb,
    user: ConsoleUser,
    done: Annotated[str, Query(max_length=40)] = "",
) -> Response:
    return _show(request, db, user, action_id, done=done if done in (*rules.RULES, "open") else "")


def _by_numbers(db, user: User, text: str | None) -> list[int]:
    """Complaint numbers as typed (separated by commas, spaces or new lines) → their ids."""
    numbers = [n for n in (text or "").replace("，", ",").replace(",", " ").split() if n][:200]
    found = dict(
        db.execute(
            complaint_queries.visible_to(db, user)
            .with_only_columns(Complaint.number, Complaint.id)
            .where(Complaint.number.in_(numbers))
        ).all()
    )
    for n in numbers:
        if n not in found:
            raise InvalidInput("invalid.unknown_id", field="complaint_numbers", value=n[:40])
    return [found[n] for n in numbers]


def _payload(command: str, form: FormData, pack: Pack) -> dict[str, Any]:
    """The form's fields as the command's payload (the service validates them; a blank one,
    None, is left out by the caller: "required")."""
    if command == "implement":
        evidence = [e.strip() for e in (_text(form, "evidence") or "").splitlines() if e.strip()]
        return {"actions_taken": _text(form, "actions_taken"), "evidence": evidence}
    if command == "reassign":
        due = _when(form, "due_at", pack)
        return {
            "owner_id": _int(form, "owner_id"),
            "verifier_id": _int(form, "verifier_id"),
            "due_at": due.isoformat() if due else None,
            "reason": _text(form, "reason"),
        }
    if command == "reopen":
        due = _when(form, "due_at", pack)
        return {"reason": _text(form, "reason"), "due_at": due.isoformat() if due else None}
    field = {"progress": "text", "add_evidence": "text", "cancel": "reason"}.get(command)
    if field:
        return {field: _text(form, field)}
    key = {"start": "note", "confirm": "comment"}.get(command)
    return {key: _text(form, key)} if key and _text(form, key) else {}


@router.post("/improvement/actions/{action_id}/commands/{command}")
def run_command(
    request: Request,
    action_id: int,
    command: str,
    db: Db,
    clock: ClockDep,
    user: ConsoleUser,
    form: Form,
) -> Response:
    action = improvement_service.visible_action(db, user, action_id)
    pack = improvement_service.pack_of(db, action)
    try:
        version = _int(form, "version")
        payload = {k: v for k, v in _payload(command, form, pack).items() if v is not None}
        if command == "link_complaints":
            payload = {"complaint_ids": _by_numbers(db, user, _text(form, "complaint_numbers"))}
        improvement_service.execute(db, clock, action_id, user, command, payload, version or 0)
    except KesuError as exc:
        db.rollback()
        message = error_message(exc, page_locale(request))
        return _show(request, db, user, action_id, error=message, status=exc.status)
    db.commit()
    return RedirectResponse(f"/improvement/actions/{action_id}?done={command}", status_code=303)


# --- accountability -----------------------------------------------------------------------------


@router.post("/improvement/accountability")
def record_accountability(
    request: Request, db: Db, clock: ClockDep, user: ConsoleUser, form: Form
) -> Response:
    """培训 / 处分 / 奖励, from an action's page or a complaint's page (`back` returns there)."""
    back = _text(form, "back") or "/improvement"
    back = back if back.startswith(("/improvement/actions/", "/complaints/")) else "/improvement"
    try:
        occurred = _text(form, "occurred_on")
        try:
            occurred_on = date.fromisoformat(occurred) if occurred else None
        except ValueError as exc:
            raise InvalidInput(
                "improvement.not_a_date", field="occurred_on", value=occurred[:20]
            ) from exc
        if occurred_on is None:
            raise InvalidInput("invalid.required", field="occurred_on")
        data = _model(
            AccountabilityCreate,
            record_kind=_text(form, "record_kind"),
            user_ids=[int(v) for v in form.getlist("user_ids") if str(v).isdigit()],
            complaint_id=_int(form, "complaint_id"),
            action_id=_int(form, "action_id"),
            occurred_on=occurred_on,
            measure=_text(form, "measure"),
            amount=_text(form, "amount"),
            note=_text(form, "note"),
        )
        improvement_service.record_accountability(db, clock, user, data, key=form_key(form))
    except (KesuError, ValidationError) as exc:  # each field named: not always "date required"
        db.rollback()
        err = exc if isinstance(exc, KesuError) else complaint_service.invalid_from(exc)
        return _accountability_refused(request, db, user, form, back, err)
    db.commit()
    return RedirectResponse(back, status_code=303)


def _accountability_refused(request, db, user: User, form: FormData, back: str, err: KesuError):
    """The page the form was sent from, with the error and the form open as it was filled in,
    not an error page whose only link goes home (and what was typed lost)."""
    message = error_message(err, page_locale(request))
    values: dict[str, Any] = {
        k: v
        for k, v in form.multi_items()
        if isinstance(v, str) and k not in ("csrf", "submission")
    }
    values["user_ids"] = [str(v) for v in form.getlist("user_ids")]
    refill = {"error": message, "failed": "accountability", "values": values, "status": err.status}
    where = back.split("?")[0].rstrip("/").rsplit("/", 1)[-1]
    if back.startswith("/improvement/actions/") and where.isdigit():
        return _show(request, db, user, int(where), **refill)
    if back.startswith("/complaints/") and where.isdigit():
        from kesu.web.console import complaint as complaint_pages  # (it imports this module)

        complaint = visible_complaint(db, user, int(where))
        return complaint_pages._show(request, db, user, complaint, **refill)
    return page(request, db, user, "error.html", {"message": message}, status=err.status)


# --- inspections --------------------------------------------------------------------------------


def _inspection_page(
    request, db, user: User, inspection_id: int, *, error: str | None = None, status: int = 200
) -> Response:
    inspection = improvement_service.get_inspection(db, user, inspection_id)
    checklist = improvement_service.checklist_of(db, inspection)
    results = {r["item"]: r for r in inspection.results}
    return page(
        request,
        db,
        user,
        "console/improvement_inspection.html",
        {
            "i": inspection,
            "checklist": checklist,
            "results": results,
            "opened": queries.from_inspection(db, inspection.id),
            "site": console_queries.org_names(db).get(inspection.site_id, ""),
            "inspector": queries.user_names(db, {inspection.inspector_id}).get(
                inspection.inspector_id or 0, ""
            ),
            "staff": _people(db, user),
            "error": error,
        },
        status=status,
    )


@router.get("/improvement/inspections/{inspection_id}")
def inspection_page(request: Request, inspection_id: int, db: ReadDb, user: ConsoleUser):
    return _inspection_page(request, db, user, inspection_id)


@router.post("/improvement/inspections/{inspection_id}")
def record_inspection(
    request: Request, inspection_id: int, db: Db, clock: ClockDep, user: ConsoleUser, form: Form
) -> Response:
    inspection = improvement_service.get_inspection(db, user, inspection_id)
    checklist = improvement_service.checklist_of(db, inspection)
    items = {
        item.key: {
            "ok": form.get(f"item.{item.key}") == "ok",
            "finding": _text(form, f"finding.{item.key}"),
        }
        for item in checklist.items
        if form.get(f"item.{item.key}") in ("ok", "failed")
    }
    try:
        data = InspectionIn.model_validate({"items": items, "note": _text(form, "note")})
        improvement_service.record_inspection(db, clock, user, inspection_id, data)
    except KesuError as exc:
        db.rollback()
        message = error_message(exc, page_locale(request))
        return _inspection_page(request, db, user, inspection_id, error=message, status=exc.status)
    db.commit()
    return RedirectResponse(f"/improvement/inspections/{inspection_id}", status_code=303)


@router.post("/improvement/inspections/{inspection_id}/items/{item}/action")
def action_from_finding(
    request: Request,
    inspection_id: int,
    item: str,
    db: Db,
    clock: ClockDep,
    user: ConsoleUser,
    form: Form,
) -> Response:
    """A preventive action from a failed item."""
    pack = access_service.pack_for_user(db, user)
    try:
        data = _model(
            FromFinding,
            owner_id=_int(form, "owner_id"),
            planned=_text(form, "planned"),
            target_per_month=_count(form, "target_per_month"),
            due_at=_when(form, "due_at", pack),
        )
        action = improvement_service.open_from_finding(
            db, clock, user, inspection_id, item, data, key=form_key(form)
        )
    except (KesuError, ValidationError) as exc:
        db.rollback()
        exc = exc if isinstance(exc, KesuError) else complaint_service.invalid_from(exc)
        message = error_message(exc, page_locale(request))
        return _inspection_page(request, db, user, inspection_id, error=message, status=exc.status)
    db.commit()
    return RedirectResponse(f"/improvement/actions/{action.id}?done=open", status_code=303)


# --- the management review ----------------------------------------------------------------------


@router.get("/improvement/review")
def review_page(
    request: Request,
    db: ReadDb,
    clock: ClockDep,
    user: ConsoleUser,
    quarter: Annotated[str | None, Query(max_length=10)] = None,
) -> Response:
    pack = access_service.pack_for_user(db, user)
    improvement_service.require_manager(pack, user)
    locale = page_locale(request)
    try:
        report = review.build(
            db, org_id=user.org_id, quarter=quarter, locale=locale, now=clock.now()
        )
    except InvalidInput as exc:  # a mistyped or future quarter: the box as typed, to correct
        context = {"r": None, "quarter": quarter or "", "error": error_message(exc, locale)}
        return page(
            request, db, user, "console/improvement_review.html", context, status=exc.status
        )
    context = {"r": report, "quarter": report.period, "error": None}
    return page(request, db, user, "console/improvement_review.html", context, pack=pack)


@router.get("/improvement/review.{fmt}")
def review_file(
    request: Request,
    fmt: str,
    db: ReadDb,
    clock: ClockDep,
    user: ConsoleUser,
    quarter: Annotated[str | None, Query(max_length=10)] = None,
) -> Response:
    pack = access_service.pack_for_user(db, user)
    improvement_service.require_manager(pack, user)
    if fmt not in ("pdf", "xlsx"):
        raise InvalidInput("report.unknown_format", field="format", value=fmt[:10])
    report = review.build(
        db, org_id=user.org_id, quarter=quarter, locale=page_locale(request), now=clock.now()
    )
    content, media, filename = review.render(report, fmt)
    return Response(
        content,
        media_type=media,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
