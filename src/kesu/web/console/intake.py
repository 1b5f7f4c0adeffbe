"""Intake (受理登记) at phone-call speed: one screen, keyboard only, the number to read back.

The form posts to `complaint.service.receive`, the same service as the API. While the receiver
types the caller's number, `/intake/lookup` shows that number's earlier complaints (repeat
complainant), so the receiver can say "I see you called us on the 12th about …".
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from starlette.datastructures import FormData

from kesu.access import service as access_service
from kesu.access.rules import ComplaintView
from kesu.complaint import service as complaint_service
from kesu.complaint.models import Complainant
from kesu.complaint.schemas import ComplaintCreate
from kesu.errors import InvalidInput, KesuError
from kesu.org import service as org_service
from kesu.web.console import queries as console_queries
from kesu.web.console.forms import category_options, local_datetime
from kesu.web.console.record import restatement, spaced
from kesu.web.console.staff import ConsoleUser, page, require_command
from kesu.web.deps import ClockDep, Db, ReadDb, visible_complaint
from kesu.web.pages import checked_form, error_message, form_key, new_submission, page_locale

router = APIRouter()

SUBJECT_FIELDS = ("product", "sku", "order_no", "invoice_no", "delivery_no")
PERSON_FIELDS = ("name", "phone", "other_contact", "address", "member_id")
DETAIL_FIELDS = (
    *(f"subject.{f}" for f in SUBJECT_FIELDS),
    *("occurred_at", "occurred_place", "staff_complained_id", "locale"),
    *("complainant.other_contact", "complainant.address", "complainant.member_id"),
)
"""The fields under 更多信息: the section opens when any holds something (after an error too)."""


def _defaults(pack, user, sites) -> dict[str, Any]:
    site_ids = [s.id for s in sites if s.kind == "site"]
    return {
        "channel": "phone" if "phone" in pack.keys("channels") else pack.channels[0].key,
        "complainant_type": pack.complainant_types[0].key,
        "level": pack.levels[0].key,
        "site_id": str(user.org_id if user.org_id in site_ids else (site_ids or [user.org_id])[0]),
        "department_id": str(user.department_id or ""),
        "submission": new_submission(),
    }


def _form_page(request, db, user, values, *, error=None, status=200) -> Response:
    pack = access_service.pack_for_user(db, user)
    sites, departments = console_queries.places(db, user)
    locale = page_locale(request)
    staff = console_queries.group_staff(db, user)
    return page(
        request,
        db,
        user,
        "console/intake.html",
        {
            "values": {**_defaults(pack, user, sites), **values},
            "sites": sites,
            "departments": departments,
            "staff": staff,
            "categories": category_options(pack, locale),
            "subject_fields": SUBJECT_FIELDS,
            "details_open": any(values.get(f) for f in DETAIL_FIELDS),
            "error": error,
        },
        status=status,
        pack=pack,
    )


@router.get("/intake")
def intake_page(request: Request, db: ReadDb, user: ConsoleUser) -> Response:
    require_command(access_service.pack_for_user(db, user), user, "receive")
    return _form_page(request, db, user, {})


def _text(form: FormData, name: str) -> str | None:
    raw = form.get(name)
    value = raw.strip() if isinstance(raw, str) else ""
    return value or None


def _create_from(form: FormData, tz: str) -> ComplaintCreate:
    person = {f: _text(form, f"complainant.{f}") for f in PERSON_FIELDS}
    subject = {f: _text(form, f"subject.{f}") for f in SUBJECT_FIELDS}
    occurred = _text(form, "occurred_at")
    data: dict[str, Any] = {
        "site_id": _text(form, "site_id"),
        "channel": _text(form, "channel"),
        "complainant": {k: v for k, v in person.items() if v is not None},
        "complainant_type": _text(form, "complainant_type"),
        "title": _text(form, "title"),
        "description": _text(form, "description"),
        "demands": [d for d in form.getlist("demands") if isinstance(d, str) and d],
        "category": _text(form, "category"),
        "level": _text(form, "level"),
        "subject": {k: v for k, v in subject.items() if v is not None},
        "staff_complained_id": _text(form, "staff_complained_id"),
        "occurred_at": local_datetime(occurred, tz) if occurred else None,
        "occurred_place": _text(form, "occurred_place"),
        "department_id": _text(form, "department_id"),
        "locale": _text(form, "locale"),
    }
    # a blank field is a missing one: "required", not "must be text"
    data = {k: v for k, v in data.items() if v is not None}
    try:
        return ComplaintCreate.model_validate(data)
    except ValidationError as exc:
        raise complaint_service.invalid_from(exc) from exc


@router.post("/intake")
def receive(
    request: Request,
    db: Db,
    clock: ClockDep,
    user: ConsoleUser,
    form: Annotated[FormData, Depends(checked_form)],
) -> Response:
    pack = access_service.pack_for_user(db, user)
    require_command(pack, user, "receive")
    try:
        data = _create_from(form, pack.timezone)
        group = org_service.group_of(db, user.org_id)
        if group.id not in org_service.ancestors(db, data.site_id):  # not theirs, or not at all
            raise InvalidInput("invalid.unknown_id", field="site_id", value=data.site_id)
        target = ComplaintView(
            org_id=group.id,
            site_id=data.site_id,
            department_id=data.department_id,
            staff_complained_id=data.staff_complained_id,
        )
        access_service.require(db, user, "receive", target)  # the site is in the user's scope
        actor = complaint_service.actor_of(user)
        created = complaint_service.receive(db, clock, actor, data, key=form_key(form))
    except KesuError as exc:
        db.rollback()
        values = {k: v for k, v in form.multi_items() if isinstance(v, str) and k != "csrf"}
        values["demands"] = form.getlist("demands")
        message = error_message(exc, page_locale(request))
        return _form_page(request, db, user, values, error=message, status=exc.status)
    db.commit()
    return RedirectResponse(f"/complaints/{created.id}/received", status_code=303)


@router.get("/complaints/{complaint_id}/received")
def received(request: Request, complaint_id: int, db: ReadDb, user: ConsoleUser) -> Response:
    """The number to read to the caller, and the record read back to confirm it (复述确认)."""
    c = visible_complaint(db, user, complaint_id)
    pack = complaint_service.pack_of(db, c)
    person = db.get(Complainant, c.complainant_id)
    plain = access_service.may(db, user, "unmask", access_service.view_of(c))
    return page(
        request,
        db,
        user,
        "console/received.html",
        {
            "c": c,
            "spaced": spaced(c.number, pack.numbering.pattern),
            # read back to the caller: in their language where the receiver noted it
            "restate": restatement(pack, c, person, c.locale or page_locale(request), plain=plain),
        },
        pack=pack,
    )


@router.get("/intake/lookup")
def lookup(
    request: Request,
    db: ReadDb,
    user: ConsoleUser,
    phone: Annotated[str, Query(alias="complainant.phone", max_length=30)] = "",
) -> Response:
    """Repeat-complainant lookup (an HTML fragment for the intake screen): for those who take
    complaints, as the screen itself; to anyone else it would tell whose a number is."""
    require_command(access_service.pack_for_user(db, user), user, "receive")
    rows = console_queries.earlier_complaints(db, user, phone)
    people = console_queries.complainants(db, {c.complainant_id for c in rows})
    known = people[rows[0].complainant_id].name if rows else None
    return page(
        request,
        db,
        user,
        "console/_lookup.html",
        {"rows": rows, "known_name": known, "phone": phone},
    )
