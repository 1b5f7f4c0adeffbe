"""Printable forms (表单): each pack's paper forms as views of the one record, in print-ready
HTML and in PDF, with the sign-off boxes filled from the complaint's events (who signed what,
when). PDF uses reportlab's CID fonts (STSong-Light / MSung-Light): Chinese without font files.

The list of forms per pack lives here, keyed by pack key, until packs declare their forms.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import cache
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from kesu.access import service as access_service
from kesu.complaint import queries
from kesu.complaint import service as complaint_service
from kesu.complaint.models import Complainant, Complaint, ComplaintEvent
from kesu.errors import NotFound
from kesu.i18n import pick, translate
from kesu.org import service as org_service
from kesu.policy.schema import Pack
from kesu.web.console import queries as console_queries
from kesu.web.console import record
from kesu.web.console.staff import ConsoleUser, page
from kesu.web.deps import ClockDep, ReadDb, visible_complaint
from kesu.web.pages import local_time, page_locale

router = APIRouter()


@dataclass(frozen=True)
class Sign:
    """A sign-off box: filled by the last event of one of `commands` (a chain step for sign_off)."""

    key: str
    commands: tuple[str, ...]


@dataclass(frozen=True)
class PrintForm:
    key: str
    blocks: tuple[str, ...]
    signs: tuple[Sign, ...] = ()
    review_chain: bool = False
    closing: tuple[Sign, ...] = ()
    levels: tuple[int, ...] | None = None
    """Positions of the pack's levels this form is for (seed 003 has one report per level)."""


RECEIVED = Sign("received", ("receive",))
HANDLED = Sign("handled", ("implement",))
ARCHIVED = Sign("archived", ("close",))
FOLLOWED = Sign("followed_up", ("follow_up",))
FULL = ("header", "complainant", "subject", "content", "contacts", "investigation", "solution")

FORMS: dict[str, tuple[PrintForm, ...]] = {
    # seed 002 附件三 投诉处理单: T1 fills it, the chain reviews, the archivist files it
    "franchise-sales-center": (
        PrintForm("handling_form", (*FULL, "response"), (RECEIVED, HANDLED), True, (ARCHIVED,)),
    ),
    # seed 001: 协调工作单 (work order), 延期处理申请, 转交处理联系单 (both sides sign),
    # 投诉记录卡, 投诉调查报告
    "service-center": (
        PrintForm(
            "coordination_order",
            (*FULL, "response", "follow_up"),
            (RECEIVED, Sign("dept_manager", ("propose_solution",)), FOLLOWED),
            True,
            (ARCHIVED,),
        ),
        PrintForm(
            "delay_request",
            ("header", "complainant", "contacts", "delay"),
            (
                Sign("requested", ("request_delay",)),
                Sign("decided", ("approve_delay", "reject_delay")),
            ),
        ),
        PrintForm(
            "transfer_slip",
            ("header", "complainant", "content", "transfer"),
            (Sign("handed_over", ("transfer",)), Sign("taken_over", ("accept_transfer",))),
        ),
        PrintForm(
            "record_card",
            ("header", "complainant", "subject", "content", "solution"),
            (RECEIVED, Sign("dept_opinion", ("propose_solution",))),
        ),
        PrintForm(
            "investigation_report",
            ("header", "content", "investigation", "solution"),
            (Sign("investigated", ("record_investigation",)),),
            True,
        ),
    ),
    # seed 003: one report per level, and the follow-up visit record
    "billiards-club": (
        PrintForm("minor_record", (*FULL, "response"), (RECEIVED, HANDLED), levels=(0,)),
        PrintForm("moderate_report", (*FULL, "response"), (RECEIVED, HANDLED), True, levels=(1,)),
        PrintForm("major_summary", (*FULL, "response"), (RECEIVED, HANDLED), True, levels=(2,)),
        PrintForm(
            "follow_up_record", ("header", "complainant", "response", "follow_up"), (FOLLOWED,)
        ),
    ),
    # seed 000 附录二 客怨处理记录表: 编制 / 复核 / 核准 as the form's duties table says
    "retail-store": (
        PrintForm(
            "grievance_record",
            (*FULL, "response"),
            (
                Sign("prepared", ("receive",)),
                Sign("checked", ("sign_off",)),
                Sign("approved", ("close",)),
            ),
        ),
    ),
}
DEFAULT_FORMS = (
    PrintForm(
        "complaint_record", (*FULL, "response", "follow_up"), (RECEIVED, HANDLED), True, (ARCHIVED,)
    ),
)
WEEKLY = {"franchise-sales-center": "weekly_report", "retail-store": "weekly_statistics"}
"""Period forms: seed 002 附件二 投诉周报, seed 000 附录三 每周客怨统计报告."""


def forms_for(pack: Pack, c: Complaint) -> list[PrintForm]:
    position = pack.level_index(c.level) if pack.level(c.level) else None
    return [
        f for f in FORMS.get(pack.key, DEFAULT_FORMS) if f.levels is None or position in f.levels
    ]


def weekly_form(pack: Pack) -> str:
    return WEEKLY.get(pack.key, "weekly_summary")


# --- the view both HTML and PDF draw -----------------------------------------------------


@dataclass
class SignBox:
    label: str
    who: str = ""
    when: str = ""
    note: str = ""


@dataclass
class FormView:
    title: str
    org: str
    number: str
    sections: list[tuple[str, list[tuple[str, str]]]] = field(default_factory=list)
    table: tuple[list[str], list[list[str]]] | None = None
    signs: list[SignBox] = field(default_factory=list)
    printed: str = ""


def _box(label: str, event: ComplaintEvent | None, tz: str) -> SignBox:
    if event is None:
        return SignBox(label)
    p = event.payload
    note = next(
        (str(p[k]) for k in ("opinion", "comment", "reason", "summary", "notes") if p.get(k)), ""
    )
    return SignBox(label, event.actor_label, local_time(event.at, tz), note)


def _last(events: list[ComplaintEvent], commands: tuple[str, ...], step: int | None = None):
    found = [
        e
        for e in events
        if e.command in commands and (step is None or e.payload.get("step") == step)
    ]
    return found[-1] if found else None


def build(
    pack: Pack,
    form: PrintForm,
    c: Complaint,
    person: Complainant,
    events: list[ComplaintEvent],
    names: record.Names,
    org_name: str,
    locale: str,
    now: datetime,
) -> FormView:
    tz = pack.timezone
    t = lambda key, **kw: translate(key, locale, **kw)  # noqa: E731
    val = lambda key, v: record.value_text(pack, key, v, names, locale)  # noqa: E731
    lab = lambda key: record.field_label(key, locale)  # noqa: E731
    view = FormView(t(f"web.form.{form.key}"), org_name, c.number, printed=local_time(now, tz))

    def rows_of(cmds: tuple[str, ...]) -> list[tuple[str, str]]:
        out = []
        for e in events:
            if e.command in cmds:
                text = "；".join(f"{k}：{v}" for k, v in record.event_lines(pack, e, names, locale))
                out.append(
                    (f"{local_time(e.at, tz)} {e.actor_label} · {t('command.' + e.command)}", text)
                )
        return out

    proposed = _last(events, ("propose_solution",))
    solution = c.solution or (proposed.payload if proposed else {})
    blocks = {
        "header": lambda: [
            (t("web.number"), c.number),
            (t("web.received_at"), local_time(c.received_at, tz)),
            (lab("channel"), val("channel", c.channel)),
            (lab("level"), val("level", c.level)),
            (lab("category"), val("category", c.category)),
            (lab("site_id"), names.orgs.get(c.site_id, "")),
            (lab("department_id"), names.orgs.get(c.department_id, "")),
            (t("web.state"), t(f"state.{c.state}")),
            (t("web.round"), str(c.round)),
        ],
        "complainant": lambda: [
            (lab("name"), person.name),
            (lab("phone"), person.phone or ""),
            (t("web.other_contact"), person.other_contact or ""),
            (lab("address"), person.address or ""),
            (t("web.member_id"), person.member_id or ""),
            (
                lab("complainant_type"),
                record.key_label(pack, "complainant_types", c.complainant_type, locale),
            ),
        ],
        "subject": lambda: [
            *((t(f"web.subject.{k}"), str(v)) for k, v in c.subject.items()),
            (
                lab("staff_complained_id"),
                names.users.get(c.staff_complained_id, "") if c.staff_complained_id else "",
            ),
        ],
        "content": lambda: [
            (lab("title"), c.title),
            (lab("description"), c.description),
            (lab("demands"), val("demands", c.demands)),
            (lab("occurred_at"), local_time(c.occurred_at, tz)),
            (t("web.occurred_place"), c.occurred_place or ""),
        ],
        "contacts": lambda: rows_of(("acknowledge", "record_contact")),
        "investigation": lambda: [
            (lab(k), val(k, (c.investigation or {}).get(k)))
            for k in ("findings", "root_causes", "responsibility", "founded")
        ],
        "solution": lambda: [
            *(
                (record.field_label(k, locale, "propose_solution"), val(k, solution.get(k)))
                for k in ("solution_type", "amount", "description")
            ),
            *rows_of(("approve_solution", "reject_solution", "implement")),
        ],
        "response": lambda: rows_of(("record_response",)),
        "transfer": lambda: rows_of(("transfer", "accept_transfer", "decline_transfer")),
        "delay": lambda: rows_of(("request_delay", "approve_delay", "reject_delay")),
        "follow_up": lambda: rows_of(("follow_up",)),
    }
    for block in form.blocks:
        view.sections.append((t(f"web.block.{block}"), blocks[block]()))
    for sign in form.signs:
        view.signs.append(_box(t(f"web.sign.{sign.key}"), _last(events, sign.commands), tz))
    if form.review_chain:
        chain = pack.level(c.level).review_chain if pack.level(c.level) else []
        for i, step in enumerate(chain, start=1):
            if step.name:
                label = pick(step.name, locale)
            elif step.role:
                label = pick(pack.role(step.role).name, locale)
            else:
                label = record.key_label(pack, "tiers", step.tier, locale)
            view.signs.append(
                _box(t("web.sign.review", label=label), _last(events, ("sign_off",), i), tz)
            )
    for sign in form.closing:
        view.signs.append(_box(t(f"web.sign.{sign.key}"), _last(events, sign.commands), tz))
    return view


# --- PDF ------------------------------------------------------------------------------------


@cache
def _font(locale: str) -> str:
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont

    name = "MSung-Light" if locale == "zh_Hant" else "STSong-Light"
    pdfmetrics.registerFont(UnicodeCIDFont(name))
    return name


def pdf(view: FormView, locale: str) -> bytes:
    from xml.sax.saxutils import escape

    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    font = _font(locale)
    body = ParagraphStyle("body", fontName=font, fontSize=9, leading=12, wordWrap="CJK")
    head = ParagraphStyle("head", parent=body, fontSize=11, leading=15, spaceBefore=6)
    title = ParagraphStyle("title", parent=body, fontSize=16, leading=22, alignment=1)
    grid = TableStyle(
        [
            ("GRID", (0, 0), (-1, -1), 0.5, colors.black),
            ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ("BACKGROUND", (0, 0), (0, -1), colors.whitesmoke),
        ]
    )
    p = lambda s: Paragraph(escape(s or "").replace("\n", "<br/>"), body)  # noqa: E731
    width = A4[0] - 30 * mm
    story = [
        Paragraph(escape(view.org), body),
        Paragraph(escape(view.title), title),
        Paragraph(escape(view.number), body),
        Spacer(1, 4 * mm),
    ]
    for heading, rows in view.sections:
        story.append(Paragraph(escape(heading), head))
        if rows:
            table = Table([[p(k), p(v)] for k, v in rows], colWidths=[width * 0.3, width * 0.7])
            table.setStyle(grid)
            story.append(table)
    if view.table:
        headers, rows = view.table
        table = Table([[p(h) for h in headers], *[[p(v) for v in r] for r in rows]], repeatRows=1)
        table.setStyle(TableStyle([("GRID", (0, 0), (-1, -1), 0.5, colors.black)]))
        story += [Spacer(1, 4 * mm), table]
    if view.signs:
        story.append(Spacer(1, 6 * mm))
        cells = [p(f"{s.label}\n{s.who}\n{s.when}\n{s.note}".rstrip()) for s in view.signs]
        per_row = 3
        rows = [cells[i : i + per_row] for i in range(0, len(cells), per_row)]
        rows[-1] += [""] * (per_row - len(rows[-1]))
        table = Table(rows, colWidths=[width / per_row] * per_row, rowHeights=None)
        table.setStyle(
            TableStyle(
                [
                    ("GRID", (0, 0), (-1, -1), 0.5, colors.black),
                    ("VALIGN", (0, 0), (-1, -1), "TOP"),
                    ("BOTTOMPADDING", (0, 0), (-1, -1), 14),
                ]
            )
        )
        story.append(table)
    story.append(Spacer(1, 4 * mm))
    story.append(Paragraph(escape(view.printed), body))
    out = io.BytesIO()
    SimpleDocTemplate(
        out,
        pagesize=A4,
        leftMargin=15 * mm,
        rightMargin=15 * mm,
        topMargin=15 * mm,
        bottomMargin=15 * mm,
        title=view.title,
    ).build(story)
    return out.getvalue()


def _pdf_response(view: FormView, locale: str, filename: str) -> Response:
    return Response(
        pdf(view, locale),
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="{filename}.pdf"'},
    )


# --- routes ------------------------------------------------------------------------------------


def _complaint_view(request, db: Session, user, complaint_id: int, key: str, now) -> FormView:
    c = visible_complaint(db, user, complaint_id)
    pack = complaint_service.pack_of(db, c)
    form = next((f for f in forms_for(pack, c) if f.key == key), None)
    if form is None:
        raise NotFound("not_found.form", key=key)
    person = db.get(Complainant, c.complainant_id)
    events = queries.timeline(db, c.id)
    users = console_queries.user_names(db, {c.staff_complained_id, c.assignee_id})
    names = record.Names(users, console_queries.org_names(db))
    org = names.orgs.get(c.org_id, "")
    return build(pack, form, c, person, events, names, org, page_locale(request), now)


@router.get("/complaints/{complaint_id}/forms/{key}")
def print_form(
    request: Request, complaint_id: int, key: str, db: ReadDb, clock: ClockDep, user: ConsoleUser
) -> Response:
    view = _complaint_view(request, db, user, complaint_id, key, clock.now())
    pdf_url = f"/complaints/{complaint_id}/forms/{key}/pdf"
    return page(request, db, user, "forms/form.html", {"view": view, "pdf_url": pdf_url})


@router.get("/complaints/{complaint_id}/forms/{key}/pdf")
def print_form_pdf(
    request: Request, complaint_id: int, key: str, db: ReadDb, clock: ClockDep, user: ConsoleUser
) -> Response:
    view = _complaint_view(request, db, user, complaint_id, key, clock.now())
    return _pdf_response(view, page_locale(request), f"{view.number}-{key}")


def _week_view(request, db: Session, user, week: str, now: datetime) -> FormView:
    pack = access_service.pack_for_user(db, user)
    tz = ZoneInfo(pack.timezone)
    locale = page_locale(request)
    try:
        day = date.fromisoformat(week) if week else now.astimezone(tz).date()
    except ValueError:
        day = now.astimezone(tz).date()
    monday = day - timedelta(days=day.weekday())
    start = datetime.combine(monday, datetime.min.time(), tzinfo=tz)
    end = start + timedelta(days=7)
    rows = list(
        db.scalars(
            queries.visible_to(db, user)
            .where(Complaint.received_at >= start, Complaint.received_at < end)
            .order_by(Complaint.received_at)
            .limit(1000)
        )
    )
    orgs = console_queries.org_names(db)
    users = console_queries.user_names(db, {c.assignee_id for c in rows})
    names = record.Names(users, orgs)
    val = lambda key, v: record.value_text(pack, key, v, names, locale)  # noqa: E731
    t = lambda key, **kw: translate(key, locale, **kw)  # noqa: E731
    group = org_service.group_of(db, user.org_id)
    view = FormView(
        t(f"web.form.{weekly_form(pack)}"),
        group.name,
        t("web.week_of", start=monday.isoformat(), end=(monday + timedelta(days=6)).isoformat()),
        printed=local_time(now, pack.timezone),
    )
    by_level = [
        (pick(lv.name, locale), str(sum(c.level == lv.key for c in rows))) for lv in pack.levels
    ]
    closed = sum(c.state == "closed" for c in rows)
    view.sections.append(
        (
            t("web.block.totals"),
            [
                (t("web.received_count"), str(len(rows))),
                (t("web.closed_count"), str(closed)),
                (t("web.open_count"), str(len(rows) - closed)),
                *by_level,
            ],
        )
    )
    view.table = (
        [
            t("web.number"),
            t("web.received_at"),
            record.field_label("category", locale),
            record.field_label("level", locale),
            record.field_label("title", locale),
            t("web.state"),
            t("web.assignee"),
        ],
        [
            [
                c.number,
                local_time(c.received_at, pack.timezone),
                val("category", c.category),
                val("level", c.level),
                c.title,
                t(f"state.{c.state}"),
                users.get(c.assignee_id, ""),
            ]
            for c in rows
        ],
    )
    view.signs = [
        SignBox(t("web.sign.prepared"), user.display_name, view.printed),
        SignBox(t("web.sign.checked")),
    ]
    return view


@router.get("/forms/weekly")
def weekly(
    request: Request,
    db: ReadDb,
    clock: ClockDep,
    user: ConsoleUser,
    week: Annotated[str, Query(max_length=10)] = "",
) -> Response:
    view = _week_view(request, db, user, week, clock.now())
    return page(
        request,
        db,
        user,
        "forms/form.html",
        {"view": view, "pdf_url": f"/forms/weekly/pdf?week={week}"},
    )


@router.get("/forms/weekly/pdf")
def weekly_pdf(
    request: Request,
    db: ReadDb,
    clock: ClockDep,
    user: ConsoleUser,
    week: Annotated[str, Query(max_length=10)] = "",
) -> Response:
    view = _week_view(request, db, user, week, clock.now())
    return _pdf_response(view, page_locale(request), "weekly")
