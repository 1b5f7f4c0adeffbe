"""The customer portal at `/portal` (no account; mobile-first, 375 px).

Submit a complaint (privacy notice and consent, evidence, contact preference) → the number and
a signed tracking link; track by number + the last four digits of the phone, or by that link;
see progress and the next promised time; rate the result when asked. The customer is
`lifecycle.Actor(kind="customer")` and goes through the same services as staff. Nothing about
staff beyond their role, and nothing of any other complaint or person, is ever shown; a wrong
number and wrong digits give the same answer.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.datastructures import FormData, UploadFile

from kesu.access import throttle
from kesu.access.models import User
from kesu.access.rules import PORTAL_PER_IP, Limit
from kesu.complaint import evidence as evidence_service
from kesu.complaint import lifecycle, queries, tracking
from kesu.complaint import service as complaint_service
from kesu.complaint.models import Complainant, Complaint, ComplaintEvent
from kesu.complaint.schemas import ComplaintCreate
from kesu.errors import IllegalTransition, InvalidInput, KesuError, NotFound, StaleVersion
from kesu.escalation import service as escalation_service
from kesu.i18n import label, pick, translate
from kesu.org import service as org_service
from kesu.org.models import Organisation
from kesu.policy import service as policy_service
from kesu.policy.schema import Pack
from kesu.privacy import rules as privacy_rules
from kesu.settings import Settings
from kesu.web.console import record
from kesu.web.console.forms import category_options
from kesu.web.deps import ClockDep, Db, ReadDb, SettingsDep
from kesu.web.pages import (
    checked_form,
    error_message,
    form_key,
    new_submission,
    page_locale,
    render,
)

router = APIRouter(prefix="/portal", include_in_schema=False)

Form = Annotated[FormData, Depends(checked_form)]
CHANNEL = "portal"
CONTACT_PREFERENCES = ("phone", "sms", "wechat", "email")
MAX_FILES = 3
PRIVACY_VERSION = "2026-11"
CUSTOMER_EVENTS = {
    "receive",
    "acknowledge",
    "record_contact",
    "implement",
    "record_response",
    "close",
    "reopen",
    "escalate",
    "attach_evidence",
}
"""Events a customer sees on their own complaint (by kind, never staff names)."""


SUBMIT_PER_PHONE = Limit(attempts=3, window_seconds=3600)
TRACK_PER_NUMBER = Limit(attempts=5, window_seconds=3600)
MESSAGES_PER_COMPLAINT = Limit(attempts=10, window_seconds=3600)
"""Beyond the per-address limit: a phone may file 3 complaints an hour, a number may be
tried with wrong digits 5 times an hour (so the last four digits cannot be guessed), and a
complaint takes 10 of its customer's messages an hour."""


def _count(db: Session, clock, request: Request, *keyed: tuple[str, Limit]) -> None:
    """Count this request against the portal's limits (shared by every web process through
    the database) and commit the counts, whatever follows; 429 past a limit."""
    try:
        throttle.hit(db, clock, f"portal-ip:{_ip(request)}", PORTAL_PER_IP)
        for key, limit in keyed:
            throttle.hit(db, clock, key, limit)
    finally:
        db.commit()


def _ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


# --- which organisation ---------------------------------------------------------------------


def _groups(db: Session) -> list[Organisation]:
    return list(db.scalars(select(Organisation).where(Organisation.kind == "group")))


def _group(db: Session, code: str) -> Organisation | None:
    groups = _groups(db)
    if code:
        return next((g for g in groups if g.code == code), None)
    return groups[0] if len(groups) == 1 else None


def _pack(db: Session, group: Organisation) -> Pack:
    return policy_service.pack_of(db, policy_service.current(db, group.pack_key).id)


def _sites(db: Session, group: Organisation) -> list[Organisation]:
    ids = set(org_service.subtree_ids(db, group.id))
    return [o for o in org_service.all_orgs(db) if o.id in ids and o.kind == "site"]


def _submit_page(request, db, group, values, *, error=None, status=200) -> Response:
    pack = _pack(db, group)
    locale = page_locale(request)
    return render(
        request,
        "portal/submit.html",
        {
            "group": group,
            "pack": pack,
            "enabled": CHANNEL in pack.keys("channels"),
            "sites": _sites(db, group),
            "categories": category_options(pack, locale),
            "preferences": CONTACT_PREFERENCES,
            "values": {"submission": new_submission(), **values},
            "error": error,
            "max_files": MAX_FILES,
        },
        status=status,
    )


@router.get("")
def portal_home(
    request: Request, db: ReadDb, org: Annotated[str, Query(max_length=40)] = ""
) -> Response:
    group = _group(db, org)
    if group is None:
        return render(request, "portal/choose.html", {"groups": _groups(db)})
    return _submit_page(request, db, group, {})


# --- submit ---------------------------------------------------------------------------------


def _text(form: FormData, name: str, limit: int = 4000) -> str | None:
    raw = form.get(name)
    value = raw.strip()[:limit] if isinstance(raw, str) else ""
    return value or None


def _create_from(
    form: FormData, pack: Pack, group: Organisation, db: Session, locale: str
) -> ComplaintCreate:
    """The complaint as filed; `locale`, the page's language, is the one its messages use."""
    if form.get("consent") != "yes":
        raise InvalidInput("portal.consent_required", field="consent")
    if not _text(form, "phone"):
        raise InvalidInput("invalid.required", field="phone")
    site = _text(form, "site_id")
    if site is None or not site.isdigit() or int(site) not in {s.id for s in _sites(db, group)}:
        raise InvalidInput("invalid.required", field="site_id")
    preference = _text(form, "preference")
    other = _text(form, "other_contact", 150)
    contact = privacy_rules.CONTACT_SEPARATOR.join(
        part
        for part in (
            translate(f"web.method.{preference}", "zh_Hans")
            if preference in CONTACT_PREFERENCES
            else None,
            other,
        )
        if part
    )
    types = pack.keys("complainant_types")
    data: dict[str, Any] = {
        "site_id": int(site),
        "channel": CHANNEL,
        "complainant": {
            "name": _text(form, "name"),
            "phone": _text(form, "phone"),
            "other_contact": contact or None,
        },
        "complainant_type": "consumer" if "consumer" in types else pack.complainant_types[0].key,
        "title": _text(form, "title"),
        "description": _text(form, "description"),
        "demands": [d for d in form.getlist("demands") if isinstance(d, str) and d],
        "category": _text(form, "category"),
        "locale": locale,
    }
    # a blank field is a missing one: "required", not "must be text"
    data["complainant"] = {k: v for k, v in data["complainant"].items() if v is not None}
    data = {k: v for k, v in data.items() if v is not None}
    try:
        return ComplaintCreate.model_validate(data)
    except ValidationError as exc:
        raise complaint_service.invalid_from(exc) from exc


@router.post("/complaints")
def submit(
    request: Request,
    db: Db,
    clock: ClockDep,
    settings: SettingsDep,
    form: Form,
    org: Annotated[str, Query(max_length=40)] = "",
) -> Response:
    group = _group(db, org)
    if group is None:
        raise NotFound("not_found.organisation", id=org)
    pack = _pack(db, group)
    phone = _text(form, "phone", 30)
    try:
        if CHANNEL not in pack.keys("channels"):
            raise InvalidInput("portal.disabled", field="channel")
        per_phone = f"portal-phone:{complaint_service.phone_digest(phone or '')}"
        _count(db, clock, request)
        throttle.refuse_if_spent(db, clock, per_phone, SUBMIT_PER_PHONE)
        data = _create_from(form, pack, group, db, page_locale(request))
        files = _files(form)
        customer = lifecycle.Actor(kind="customer", label=data.complainant.name[:100])
        created = complaint_service.receive(db, clock, customer, data, key=form_key(form))
        if db.info.get(complaint_service.REPLAYED):  # sent twice: the first made it whole
            return RedirectResponse(tracking.path(settings, created.id) + "?new=1", 303)
        # a complaint filed counts against its phone, not a form sent back for a correction
        throttle.hit(db, clock, per_phone, SUBMIT_PER_PHONE)
        complaint_service.execute(
            db,
            clock,
            created.id,
            customer,
            "note",
            {"text": privacy_rules.consent_note(PRIVACY_VERSION)},
            created.version,
        )
        _attach(db, clock, settings, created, customer, files)
    except KesuError as exc:
        db.rollback()
        values = {k: v for k, v in form.multi_items() if isinstance(v, str) and k != "csrf"}
        values["demands"] = form.getlist("demands")
        message = error_message(exc, page_locale(request))
        return _submit_page(request, db, group, values, error=message, status=exc.status)
    db.commit()
    return RedirectResponse(tracking.path(settings, created.id) + "?new=1", status_code=303)


# --- track ------------------------------------------------------------------------------------


@router.get("/track")
def track_page(request: Request) -> Response:
    return render(request, "portal/track.html", {"values": {}})


@router.post("/track")
def track(request: Request, db: Db, clock: ClockDep, settings: SettingsDep, form: Form) -> Response:
    number = (_text(form, "number", 40) or "").upper().replace(" ", "")
    # the phone as typed on the form or the intake ("137 0000 12 34", "１２３４"): its digits
    digits = complaint_service.normalise_phone(_text(form, "last4", 10) or "")
    key = f"portal-number:{number}"
    try:
        _count(db, clock, request)
        throttle.refuse_if_spent(db, clock, key, TRACK_PER_NUMBER)
        found = db.execute(
            select(Complaint.id, Complainant.phone)
            .join(Complainant, Complainant.id == Complaint.complainant_id)
            .where(Complaint.number == number)
        ).all()
        match = next(
            (
                cid
                for cid, phone in found
                if phone
                and len(digits) == 4
                and complaint_service.normalise_phone(phone).endswith(digits)
            ),
            None,
        )
        if match is None:  # only wrong tries count against the number: following it is free
            try:
                throttle.hit(db, clock, key, TRACK_PER_NUMBER)
            finally:
                db.commit()
            raise NotFound("portal.not_found")
    except KesuError as exc:
        message = error_message(exc, page_locale(request))
        values = {"number": number}
        return render(
            request, "portal/track.html", {"values": values, "error": message}, status=exc.status
        )
    return RedirectResponse(tracking.path(settings, match), status_code=303)


def _tracked(db: Session, settings: Settings, token: str) -> Complaint:
    """The complaint a link opens; none once its complainant is anonymised (erasure or the
    retention period): the link in an old message then shows nothing of them, and takes no
    new messages that would bring personal data back."""
    cid = tracking.complaint_id(settings, token)
    complaint = db.get(Complaint, cid) if cid is not None else None
    if complaint is None or db.scalar(
        select(Complainant.anonymised_at).where(Complainant.id == complaint.complainant_id)
    ):
        raise NotFound("portal.not_found")
    return complaint


def _stage(complaint: Complaint) -> str:
    state = complaint.state
    if state != "closed" and complaint.classification not in (None, "valid"):
        return "result"  # not taken as a complaint (an enquiry, refused): that is the answer
    if state in ("new", "acknowledged"):
        return "received"
    if state in lifecycle.HANDLING - {"implemented"}:
        return "handling"
    return {"implemented": "result", "reviewing": "result", "closed": "closed"}[state]


def _who(pack: Pack, event: ComplaintEvent, roles: dict[int, str], locale: str) -> str:
    """A role, never a name: what the customer learns about who acted."""
    if event.actor_kind == "customer":
        return translate("portal.you", locale)
    if event.actor_kind == "system":
        return translate("portal.system", locale)
    role = pack.role(roles.get(event.actor_id or 0))
    return pick(role.name, locale) if role else translate("portal.staff", locale)


def _status_page(
    request, db, settings, token, complaint, *, error=None, values=None, status=200
) -> Response:
    locale = page_locale(request)
    pack = complaint_service.pack_of(db, complaint)
    events, told = [], {}
    for e in queries.timeline(db, complaint.id):
        if e.command == "note":  # the customer's own messages; staff's notes are internal
            if e.actor_kind == "customer" and not privacy_rules.is_consent_note(
                e.payload.get("text")
            ):
                events.append(e)
            continue
        if e.command in CUSTOMER_EVENTS:
            # the customer's own files; staff's (CCTV, statements) are internal evidence
            if e.command != "attach_evidence" or e.actor_kind == "customer":
                events.append(e)
            continue
        # a step the pack tells the customer of (12315: whether it is accepted), in the words
        # of the message they got
        update = escalation_service.customer_update(pack, complaint, e.command, e.payload)
        if update is not None:
            events.append(e)
            told[e.id] = pick(update, locale)
    staff_ids = {e.actor_id for e in events if e.actor_kind == "staff" and e.actor_id}
    roles = (
        dict(db.execute(select(User.id, User.role).where(User.id.in_(staff_ids))).all())
        if staff_ids
        else {}
    )
    steps = []
    for e in events:
        detail = told.get(e.id, "")
        if e.command == "acknowledge":
            detail = e.payload.get("message") or ""
        elif e.command == "record_response":
            detail = record.value_text(
                pack, "satisfaction", e.payload.get("satisfaction"), record.Names({}, {}), locale
            )
        elif e.command == "record_contact":
            detail = translate(
                "portal.contact_reached" if e.payload.get("reached") else "portal.contact_missed",
                locale,
            )
        elif e.command == "attach_evidence":
            detail = e.payload.get("filename") or ""
        elif e.command == "note":
            detail = e.payload.get("text") or ""
        title = f"portal.event.{e.command}"
        if translate(title, locale) == title:
            title = "portal.event.update"
        steps.append((e, translate(title, locale), _who(pack, e, roles, locale), detail))
    return render(
        request,
        "portal/status.html",
        {
            "c": complaint,
            "pack": pack,
            "token": token,
            "stage": _stage(complaint),
            "stages": ("received", "handling", "result", "closed"),
            "level": pick(pack.level(complaint.level).name, locale),
            "steps": steps,
            "tz": pack.timezone,
            "can_rate": complaint.state == "implemented",
            "max_files": MAX_FILES,
            "grades": [(g.value, pick(g.name, locale)) for g in pack.satisfaction],
            "new": request.query_params.get("new") == "1",
            "rated": request.query_params.get("rated") == "1",
            "sent": request.query_params.get("sent") == "1",
            "spaced": record.spaced(complaint.number, pack.numbering.pattern),
            "error": error,
            "values": values or {},
        },
        status=status,
    )


@router.get("/t/{token}")
def status(request: Request, token: str, db: ReadDb, settings: SettingsDep) -> Response:
    complaint = _tracked(db, settings, token)
    return _status_page(request, db, settings, token, complaint)


def _files(form: FormData) -> list[UploadFile]:
    files = [f for f in form.getlist("files") if isinstance(f, UploadFile) and f.filename]
    if len(files) > MAX_FILES:
        raise InvalidInput("portal.too_many_files", field="file", max=MAX_FILES)
    return files


def _attach(db, clock, settings, complaint: Complaint, customer, files: list[UploadFile]) -> None:
    """The customer's files, as evidence of their complaint (each within the upload limit)."""
    for upload in files:
        evidence_service.attach(
            db,
            clock,
            settings.evidence_dir,
            complaint,
            customer,
            upload.filename or "file",
            upload.file.read(settings.max_upload_bytes + 1),
            settings.max_upload_bytes,
        )


def _for_customer(exc: KesuError) -> KesuError:
    """A refused rating in the customer's terms, not the staff's (versions, the pack's grades):
    a page staff have moved on since is "its status has changed" (a second click of the same
    rating is no error: the command service takes it as done)."""
    if isinstance(exc, StaleVersion | IllegalTransition):
        return IllegalTransition("portal.rate.moved_on")
    if exc.key == "invalid.satisfaction":
        return InvalidInput("portal.rate.pick_grade", field="satisfaction")
    return exc


@router.post("/t/{token}/rate")
def rate(
    request: Request, token: str, db: Db, clock: ClockDep, settings: SettingsDep, form: Form
) -> Response:
    """满意度: the customer's grade on the pack's scale; 4/5 in seed 002 reopen one level up."""
    complaint = _tracked(db, settings, token)
    person = db.get(Complainant, complaint.complainant_id)
    raw = form.get("satisfaction")
    version = form.get("version")
    payload: dict[str, Any] = {}
    if raw:  # no grade chosen is a missing one: "required", not "must be a whole number"
        payload["satisfaction"] = int(raw) if isinstance(raw, str) and raw.isdigit() else raw
    comment = _text(form, "comment")
    if comment:
        payload["comment"] = comment
    try:
        _count(db, clock, request)
        customer = lifecycle.Actor(kind="customer", label=person.name[:100])
        complaint_service.execute(
            db,
            clock,
            complaint.id,
            customer,
            "record_response",
            payload,
            int(version) if isinstance(version, str) and version.isdigit() else 0,
        )
    except KesuError as exc:
        db.rollback()
        complaint = _tracked(db, settings, token)
        message = error_message(_for_customer(exc), page_locale(request))
        typed = {"satisfaction": raw if isinstance(raw, str) else "", "comment": comment or ""}
        return _status_page(
            request, db, settings, token, complaint, error=message, values=typed, status=exc.status
        )
    db.commit()
    return RedirectResponse(f"/portal/t/{token}?rated=1", status_code=303)


@router.post("/t/{token}/message")
def message(
    request: Request, token: str, db: Db, clock: ClockDep, settings: SettingsDep, form: Form
) -> Response:
    """追问/补充: the customer asks a question or adds what they forgot (with files), at any
    stage, closed too. It is on the record as their note, its handler is told, and urgent
    words in it (12315, 媒体…) raise the level like any note. A page staff have moved on
    since is refused like a rating, so a second click never files it twice."""
    complaint = _tracked(db, settings, token)
    person = db.get(Complainant, complaint.complainant_id)
    text = _text(form, "text")
    version = form.get("version")
    try:
        _count(db, clock, request, (f"portal-message:{complaint.id}", MESSAGES_PER_COMPLAINT))
        if text is None:
            raise InvalidInput("invalid.required", field="text")
        files = _files(form)
        customer = lifecycle.Actor(kind="customer", label=person.name[:100])
        done = complaint_service.execute(
            db,
            clock,
            complaint.id,
            customer,
            "note",
            {"text": text},
            int(version) if isinstance(version, str) and version.isdigit() else 0,
        )
        if not db.info.get(complaint_service.REPLAYED):
            pack = complaint_service.pack_of(db, done)
            params = escalation_service.params_of(pack, done, event=label("portal.message.alert"))
            escalation_service.send(
                db,
                pack,
                done,
                [
                    escalation_service.Alert(
                        "customer_message", "complaint_alert", params, to=["assignee"]
                    )
                ],
                f"event:{done.id}:{done.version}",
                clock.now(),
            )
        _attach(db, clock, settings, done, customer, files)
    except KesuError as exc:
        db.rollback()
        complaint = _tracked(db, settings, token)
        if isinstance(exc, StaleVersion | IllegalTransition):
            exc = IllegalTransition("portal.message.moved_on")
        return _status_page(
            request,
            db,
            settings,
            token,
            complaint,
            error=error_message(exc, page_locale(request)),
            values={"text": text or ""},
            status=exc.status,
        )
    db.commit()
    return RedirectResponse(f"/portal/t/{token}?sent=1", status_code=303)
