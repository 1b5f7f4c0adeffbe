"""The complaint page: summary, people, times, the full timeline, evidence, and exactly the
actions `lifecycle.allowed_commands` gives this person now — each a small form that posts to
`complaint.service.execute` with the version the page was drawn from (a stale page gets 409).
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import FileResponse, RedirectResponse, Response
from starlette.datastructures import FormData, UploadFile

from kesu.access import service as access_service
from kesu.complaint import evidence as evidence_service
from kesu.complaint import lifecycle, queries
from kesu.complaint import service as complaint_service
from kesu.complaint.models import Complainant, Complaint
from kesu.errors import InvalidInput, KesuError, NotFound, StaleVersion
from kesu.i18n import pick, translate
from kesu.privacy import rules as privacy_rules
from kesu.privacy import service as privacy_service
from kesu.web.console import forms, improvement, printing, record
from kesu.web.console import queries as console_queries
from kesu.web.console.staff import ConsoleUser, page
from kesu.web.deps import ClockDep, Db, ReadDb, SettingsDep, visible_complaint
from kesu.web.pages import checked_form, error_message, page_locale

router = APIRouter()

Form = Annotated[FormData, Depends(checked_form)]


def _done_text(done: str, locale: str) -> str:
    """ "Done: <command>" after a successful post (unknown values show nothing)."""
    key = f"command.{done}"
    text = translate(key, locale) if done else key
    return "" if text == key else text


ANSWERS = (
    "accept_transfer",
    "decline_transfer",
    "approve_solution",
    "reject_solution",
    "approve_delay",
    "reject_delay",
    "sign_off",
    "close",
)
"""What a complaint waits on someone's word for (their 待我审核/审批 queue): listed first among
their actions, so an approver does not look for it below the handler's steps."""


def _show(
    request: Request,
    db,
    user,
    c: Complaint,
    *,
    done: str = "",
    error: str | None = None,
    failed: str | None = None,
    values: dict[str, Any] | None = None,
    status: int = 200,
    revealed: bool = False,
) -> Response:
    """The complainant is shown masked; `revealed` only after the logged reveal below."""
    locale = page_locale(request)
    pack = complaint_service.pack_of(db, c)
    case = complaint_service.case_of(db, pack, c)
    allowed = lifecycle.allowed_commands(pack, case, complaint_service.actor_of(user))
    allowed = sorted(allowed, key=lambda cmd: cmd not in ANSWERS)  # otherwise the pack's order
    person = db.get(Complainant, c.complainant_id)
    shown = person if revealed else SimpleNamespace(**privacy_service.shown(person, False))
    plain = access_service.may(db, user, "unmask", access_service.view_of(c))
    may_reveal = plain and not revealed
    staff = console_queries.group_staff(db, user)
    _, departments = console_queries.places(db, user)
    users = {u.id: u.display_name for u in staff}
    people = {c.assignee_id, c.received_by_id, c.staff_complained_id} - users.keys()
    users.update(console_queries.user_names(db, people))  # those who left or work elsewhere
    names = record.Names(users=users, orgs=console_queries.org_names(db))
    opts = forms.options(pack, c, staff, departments, locale)
    events = queries.timeline(db, c.id)
    unseen = queries.unseen_numbers(db, user, events)  # an earlier complaint not theirs to see
    return page(
        request,
        db,
        user,
        "console/complaint.html",
        {
            "c": c if plain else _masked(c),
            "person": shown,
            "may_reveal": may_reveal,
            "names": names,
            "allowed": allowed,
            "actions": [(cmd, forms.fields_for(cmd, opts, locale)) for cmd in allowed],
            "timeline": [
                (e, _lines(record.event_lines(pack, e, names, locale), plain, unseen))
                for e in events
            ],
            "evidence": queries.evidence(db, c.id),
            "timers": console_queries.timers(db, c.id),
            "timer_names": {tm.key: pick(tm.name, locale) for tm in pack.timers},
            "warn": console_queries.warnings(db, {c.id}).get(c.id),
            "wrote": console_queries.customer_wrote(events),
            # said or written to the customer: in their language where it is noted
            "replies": record.replies(pack, c, person, user.display_name, c.locale or locale),
            "restate": record.restatement(pack, c, person, c.locale or locale, plain=plain),
            "print_forms": printing.forms_for(pack, c, locale),
            "improvement": improvement.for_complaint(db, user, c, pack),
            "value": lambda key, v: record.value_text(pack, key, v, names, locale),
            "actor": lambda e: record.actor_text(e, locale),
            "done": _done_text(done, locale),
            "error": error,
            "failed": failed,
            "values": values or {},
            "share_rows": range(forms.SHARE_ROWS),
        },
        status=status,
        pack=pack,
    )


def _masked(c: Complaint) -> SimpleNamespace:
    """The complaint for a viewer without the personal-data permission: numbers and e-mail
    addresses in its free text masked (the API does the same)."""
    fields = {col.key: getattr(c, col.key) for col in Complaint.__table__.columns}
    for name in privacy_rules.COMPLAINT_TEXT:
        fields[name] = privacy_rules.mask_value(fields[name])
    return SimpleNamespace(**fields)


def _lines(lines: list[tuple[str, str]], plain: bool, unseen: set[str]) -> list[tuple[str, str]]:
    """An event's lines as this viewer may read them: personal data masked unless `plain`, and
    the numbers of other complaints they may not see blanked out."""
    lines = lines if plain else [(label, privacy_rules.mask_text(text)) for label, text in lines]
    return [(label, queries.without_numbers(text, unseen)) for label, text in lines]


@router.get("/complaints/{complaint_id}")
def complaint_page(
    request: Request, complaint_id: int, db: ReadDb, user: ConsoleUser, done: str = ""
) -> Response:
    return _show(request, db, user, visible_complaint(db, user, complaint_id), done=done)


@router.post("/complaints/{complaint_id}/complainant")
def reveal_complainant(
    request: Request, complaint_id: int, db: Db, clock: ClockDep, user: ConsoleUser, form: Form
) -> Response:
    """The complainant's phone, address and ids unmasked for those allowed; the view is logged."""
    c = visible_complaint(db, user, complaint_id)
    privacy_service.reveal(db, clock, access_service.principal(db, user), c)
    db.commit()
    return _show(request, db, user, c, revealed=True)


def _version(form: FormData) -> int:
    raw = form.get("version")
    if not isinstance(raw, str) or not raw.isdigit():
        raise InvalidInput("invalid.required", field="version")
    return int(raw)


@router.post("/complaints/{complaint_id}/commands/{command}")
def run_command(
    request: Request,
    complaint_id: int,
    command: str,
    db: Db,
    clock: ClockDep,
    user: ConsoleUser,
    form: Form,
) -> Response:
    c = visible_complaint(db, user, complaint_id)
    pack = complaint_service.pack_of(db, c)
    try:
        payload = forms.payload_from(command, form, pack.timezone)
        actor = complaint_service.actor_of(user)
        complaint_service.execute(db, clock, c.id, actor, command, payload, _version(form))
    except KesuError as exc:
        db.rollback()
        values: dict[str, Any] = {
            k: v for k, v in form.multi_items() if isinstance(v, str) and k != "csrf"
        }
        for name, kind, _required, _source in forms.FIELDS.get(command, []):
            if kind == "checks":  # every box ticked, not only the last
                values[name] = form.getlist(name)
        locale = page_locale(request)
        # the page drawn again is the current one: "refresh and retry" would post it again
        stale = isinstance(exc, StaleVersion)
        return _show(
            request,
            db,
            user,
            visible_complaint(db, user, complaint_id),
            error=translate("web.stale", locale) if stale else error_message(exc, locale),
            failed=command,
            values=values,
            status=exc.status,
        )
    db.commit()
    return RedirectResponse(f"/complaints/{complaint_id}?done={command}", status_code=303)


@router.post("/complaints/{complaint_id}/evidence")
def upload_evidence(
    request: Request,
    complaint_id: int,
    db: Db,
    clock: ClockDep,
    settings: SettingsDep,
    user: ConsoleUser,
    form: Form,
) -> Response:
    c = visible_complaint(db, user, complaint_id)
    access_service.require(db, user, "attach_evidence", access_service.view_of(c))
    upload = form.get("file")
    try:
        if not isinstance(upload, UploadFile) or not upload.filename:
            raise InvalidInput("invalid.empty_file", field="file")
        data = upload.file.read(settings.max_upload_bytes + 1)
        evidence_service.attach(
            db,
            clock,
            settings.evidence_dir,
            c,
            complaint_service.actor_of(user),
            upload.filename,
            data,
            settings.max_upload_bytes,
        )
    except KesuError as exc:
        db.rollback()
        c = visible_complaint(db, user, complaint_id)
        message = error_message(exc, page_locale(request))
        return _show(request, db, user, c, error=message, status=exc.status)
    db.commit()
    return RedirectResponse(f"/complaints/{complaint_id}?done=attach_evidence", status_code=303)


def _evidence_file(db, settings, user, complaint_id: int, evidence_id: int):
    visible_complaint(db, user, complaint_id)
    row = evidence_service.get(db, evidence_id)
    if row.complaint_id != complaint_id:
        raise NotFound("not_found.evidence", id=evidence_id)
    return row, evidence_service.blob_path(settings.evidence_dir, row.sha256)


@router.get("/complaints/{complaint_id}/evidence/{evidence_id}")
def download_evidence(
    complaint_id: int, evidence_id: int, db: ReadDb, settings: SettingsDep, user: ConsoleUser
) -> Response:
    row, path = _evidence_file(db, settings, user, complaint_id, evidence_id)
    return FileResponse(
        path,
        media_type=row.content_type,
        filename=row.filename,
        content_disposition_type="attachment",
        headers={"X-Content-Type-Options": "nosniff"},
    )


@router.get("/complaints/{complaint_id}/evidence/{evidence_id}/preview")
def preview_evidence(
    complaint_id: int, evidence_id: int, db: ReadDb, settings: SettingsDep, user: ConsoleUser
) -> Response:
    """Images only, inline, under the type their content was sniffed as; anything else 404."""
    row, path = _evidence_file(db, settings, user, complaint_id, evidence_id)
    if not row.content_type.startswith("image/"):
        raise NotFound("not_found.evidence", id=evidence_id)
    return FileResponse(
        path,
        media_type=row.content_type,
        headers={
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "default-src 'none'",
            "Cache-Control": "private, max-age=3600",
        },
    )
