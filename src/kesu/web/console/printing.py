"""Printable forms (表单): each pack's paper forms as views of the one record, in print-ready
HTML and in PDF, with the sign-off boxes filled from the complaint's events (who signed what,
when). PDF uses reportlab's CID fonts (STSong-Light / MSung-Light): Chinese without font files.

Which forms a pack has, and who prepares (编制), reviews (复核), approves (核准) and is informed
(被通知) on each, is the pack's `forms` section; a pack without one gets the list in `FORMS`.
How a form looks (its blocks, and the boxes of a pack that names no duties) is `LAYOUTS`.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import cache
from types import SimpleNamespace
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from kesu.access import rules as access_rules
from kesu.access import service as access_service
from kesu.access.models import User
from kesu.complaint import queries
from kesu.complaint import service as complaint_service
from kesu.complaint.models import Complainant, Complaint, ComplaintEvent
from kesu.errors import NotFound
from kesu.i18n import pick, translate
from kesu.policy.schema import Form, Pack
from kesu.privacy import rules as privacy_rules
from kesu.privacy import service as privacy_service
from kesu.report import rules as report_rules
from kesu.report import service as report_service
from kesu.web.console import queries as console_queries
from kesu.web.console import record
from kesu.web.console.staff import ConsoleUser, page
from kesu.web.deps import ClockDep, ReadDb, visible_complaint
from kesu.web.pages import local_time, page_locale

router = APIRouter()


@dataclass(frozen=True)
class Sign:
    """A sign-off box: filled by the last event of one of `commands`."""

    key: str
    commands: tuple[str, ...]


@dataclass(frozen=True)
class Layout:
    blocks: tuple[str, ...]
    signs: tuple[Sign, ...] = ()
    """Boxes when the pack names no duties for the form."""
    review_chain: bool = False
    """Also one box per step of the level's review chain (when the pack names no duties)."""
    closing: tuple[Sign, ...] = ()
    """Boxes after the duties (e.g. the archivist filing it)."""
    approved_by: tuple[str, ...] = ("approve_solution", "sign_off", "close")
    """The events that fill the 核准 box when the pack names who approves the form: what the
    form is the approval of (a rejected solution is not approved; a delay form's box is the
    delay's decision, either way)."""


RECEIVED = Sign("received", ("receive",))
HANDLED = Sign("handled", ("implement",))
ARCHIVED = Sign("archived", ("close",))
FOLLOWED = Sign("followed_up", ("follow_up",))
FULL = ("header", "complainant", "subject", "content", "contacts", "investigation", "solution")
REPORT = Layout((*FULL, "response"), (RECEIVED, HANDLED), True, (ARCHIVED,))
DECIDED = ("approve_delay", "reject_delay")
DELAY = Layout(
    ("header", "complainant", "contacts", "delay"),
    (Sign("requested", ("request_delay",)), Sign("decided", DECIDED)),
    approved_by=DECIDED,
)

LAYOUTS: dict[str, Layout] = {
    # seed 002 附件三 投诉处理单: T1 fills it, the chain reviews, the archivist files it
    "handling_form": REPORT,
    # seed 001: 协调工作单, 延期处理申请, 转交处理联系单 (both sides sign), 投诉记录卡, 投诉调查报告
    "coordination_order": Layout(
        (*FULL, "response", "follow_up"),
        (RECEIVED, Sign("dept_manager", ("propose_solution",)), FOLLOWED),
        True,
        (ARCHIVED,),
    ),
    "delay_request": DELAY,
    # bank-insurance 延长处理期限审批单 (Art. 18's extension): the same request and decision
    "extension_approval": DELAY,
    # 12315 受理/不予受理告知书: the complaint and the decision to accept it or not (classify)
    "acceptance_notice": Layout(
        ("header", "complainant", "subject", "content", "acceptance"),
        (RECEIVED,),
        approved_by=("classify",),
    ),
    "transfer_slip": Layout(
        ("header", "complainant", "content", "transfer"),
        (Sign("handed_over", ("transfer",)), Sign("taken_over", ("accept_transfer",))),
    ),
    "record_card": Layout(
        ("header", "complainant", "subject", "content", "solution"),
        (RECEIVED, Sign("dept_opinion", ("propose_solution",))),
    ),
    "investigation_report": Layout(
        ("header", "content", "investigation", "solution"),
        (Sign("investigated", ("record_investigation",)),),
        True,
    ),
    # seed 003: one report per level, and the follow-up visit record
    "minor_record": Layout((*FULL, "response"), (RECEIVED, HANDLED)),
    "moderate_report": REPORT,
    "major_summary": REPORT,
    "follow_up_record": Layout(("header", "complainant", "response", "follow_up"), (FOLLOWED,)),
    # seed 000 附录二 客怨处理记录表
    "grievance_record": Layout(
        (*FULL, "response"),
        (
            Sign("prepared", ("receive",)),
            Sign("checked", ("sign_off",)),
            Sign("approved", ("close",)),
        ),
    ),
}
DEFAULT_LAYOUT = Layout((*FULL, "response", "follow_up"), (RECEIVED, HANDLED), True, (ARCHIVED,))

FORMS: dict[str, tuple[str, ...]] = {
    "franchise-sales-center": ("handling_form",),
    "service-center": (
        "coordination_order",
        "delay_request",
        "transfer_slip",
        "record_card",
        "investigation_report",
    ),
    "billiards-club": ("minor_record", "moderate_report", "major_summary", "follow_up_record"),
    "retail-store": ("grievance_record",),
}
"""Forms of packs that declare none (by pack key); anything else gets `complaint_record`."""
LEVEL_FORMS = {"minor_record": 0, "moderate_report": 1, "major_summary": 2}
"""Seed 003's one report per level (by level position), for packs that declare no forms."""
WEEKLY = {"franchise-sales-center": "weekly_report", "retail-store": "weekly_statistics"}
PERIOD_FORMS = frozenset({"weekly_report", "weekly_statistics", "weekly_summary"})
"""Period forms (seed 002 附件二 投诉周报, seed 000 附录三 每周客怨统计报告): /forms/weekly."""
WEEK_ROWS = 1000
"""The complaints a printed week lists at most (its figures count them all)."""


def _declared(pack: Pack, key: str) -> Form | None:
    return next((f for f in pack.forms if f.key == key), None)


def form_title(pack: Pack, key: str, locale: str) -> str:
    declared = _declared(pack, key)
    return pick(declared.name, locale) if declared else translate(f"web.form.{key}", locale)


def forms_for(pack: Pack, c: Complaint, locale: str) -> list[tuple[str, str]]:
    """(key, title) of each printable form of this complaint."""
    if pack.forms:
        keys = [
            f.key
            for f in pack.forms
            if f.key not in PERIOD_FORMS and (f.levels is None or c.level in f.levels)
        ]
    else:
        position = pack.level_index(c.level) if pack.level(c.level) else None
        keys = [
            k
            for k in FORMS.get(pack.key, ("complaint_record",))
            if LEVEL_FORMS.get(k, position) == position
        ]
    return [(k, form_title(pack, k, locale)) for k in keys]


def weekly_form(pack: Pack) -> str:
    declared = [f.key for f in pack.forms if f.key in PERIOD_FORMS]
    return declared[0] if declared else WEEKLY.get(pack.key, "weekly_summary")


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
    informed: str = ""
    printed: str = ""
    number_label: str = ""  # what `number` is, when it is not a complaint's number
    note: str = ""  # under the table (e.g. that it lists only the first rows)


def _box(label: str, event: ComplaintEvent | None, tz: str) -> SignBox:
    if event is None:
        return SignBox(label)
    p = event.payload
    note = next(
        (str(p[k]) for k in ("opinion", "comment", "reason", "summary", "notes") if p.get(k)), ""
    )
    return SignBox(label, event.actor_label, local_time(event.at, tz), note)


def _last(
    events: list[ComplaintEvent],
    commands: tuple[str, ...],
    step: int | None = None,
    by: set[int] | None = None,
):
    found = [
        e
        for e in events
        if e.command in commands
        and (step is None or e.payload.get("step") == step)
        and (by is None or e.actor_id in by)
    ]
    return found[-1] if found else None


def _duty_boxes(
    pack: Pack,
    duties: Form,
    form: Layout,
    c: Complaint,
    events: list[ComplaintEvent],
    roles: dict[int, str],
    locale: str,
) -> list[SignBox]:
    """编制 / 复核 / 核准 boxes from the roles the pack names, filled by those roles' events."""
    tz = pack.timezone

    def who(role_keys: list[str]) -> set[int]:
        return {uid for uid, role in roles.items() if role in role_keys}

    def role_names(role_keys: list[str]) -> str:
        return record.listed(
            (pick(pack.role(r).name, locale) for r in role_keys if pack.role(r)), locale
        )

    def label(duty: str, role_keys: list[str]) -> str:
        return translate(f"web.duty.{duty}", locale, roles=role_names(role_keys))

    boxes = []
    if duties.prepare:
        mine = [e for e in events if e.actor_id in who(duties.prepare) and e.command != "note"]
        boxes.append(_box(label("prepare", duties.prepare), mine[0] if mine else None, tz))
    if duties.review:
        level = pack.level(c.level)
        chain = {step.role for step in level.review_chain} if level else set()
        reviewers = [r for r in duties.review if r in chain] or duties.review
        for role in reviewers:
            signed = _last(events, ("sign_off",), by=who([role]))
            boxes.append(_box(label("review", [role]), signed, tz))
    if duties.approve:
        signed = _last(events, form.approved_by, by=who(duties.approve))
        boxes.append(_box(label("approve", duties.approve), signed, tz))
    return boxes


def build(
    pack: Pack,
    key: str,
    c: Complaint,
    person: Complainant,
    events: list[ComplaintEvent],
    names: record.Names,
    roles: dict[int, str],
    org_name: str,
    locale: str,
    now: datetime,
) -> FormView:
    """The form `key` of complaint `c`; `roles` maps the events' actors to their pack roles."""
    tz = pack.timezone
    t = lambda key, **kw: translate(key, locale, **kw)  # noqa: E731
    val = lambda key, v: record.value_text(pack, key, v, names, locale)  # noqa: E731
    lab = lambda key: record.field_label(key, locale)  # noqa: E731
    form = LAYOUTS.get(key, DEFAULT_LAYOUT)
    duties = _declared(pack, key)
    view = FormView(form_title(pack, key, locale), org_name, c.number, printed=local_time(now, tz))

    def rows_of(cmds: tuple[str, ...]) -> list[tuple[str, str]]:
        out = []
        for e in events:
            if e.command in cmds:
                text = record.labelled(record.event_lines(pack, e, names, locale), locale)
                out.append(
                    (
                        f"{local_time(e.at, tz)} {record.actor_text(e, locale)}"
                        f" · {t('command.' + e.command)}",
                        text,
                    )
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
        "transfer": lambda: rows_of(
            ("transfer", "accept_transfer", "decline_transfer", "withdraw_transfer")
        ),
        "delay": lambda: rows_of(("request_delay", *DECIDED)),
        "acceptance": lambda: rows_of(("classify",)),
        "follow_up": lambda: rows_of(("follow_up",)),
    }
    for block in form.blocks:
        view.sections.append((t(f"web.block.{block}"), blocks[block]()))
    if duties and (duties.prepare or duties.review or duties.approve):
        view.signs += _duty_boxes(pack, duties, form, c, events, roles, locale)
        names_ = record.listed(
            (pick(pack.role(r).name, locale) for r in duties.informed if pack.role(r)), locale
        )
        view.informed = t("web.duty.informed", roles=names_) if names_ else ""
        for sign in form.closing:
            view.signs.append(_box(t(f"web.sign.{sign.key}"), _last(events, sign.commands), tz))
        return view
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
    if view.note:
        story.append(Paragraph(escape(view.note), body))
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
    if view.informed:
        story.append(Paragraph(escape(view.informed), body))
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


def complaint_form(
    db: Session, user, complaint_id: int, key: str, locale: str, now: datetime
) -> FormView:
    """The printed form `key` of a complaint as `user` may see it."""
    c = visible_complaint(db, user, complaint_id)
    pack = complaint_service.pack_of(db, c)
    if key not in {k for k, _ in forms_for(pack, c, locale)}:
        raise NotFound("not_found.form", key=key)
    # printed forms carry the complainant masked: the full number is revealed (and logged) on
    # the complaint page to those allowed
    person = privacy_service.shown(db.get(Complainant, c.complainant_id), False)
    person = SimpleNamespace(**person)
    events = queries.timeline(db, c.id)
    actors = {e.actor_id for e in events if e.actor_id is not None}
    roles = dict(db.execute(select(User.id, User.role).where(User.id.in_(actors))).all())
    mentioned = record.mentioned_users([e.payload for e in events])
    users = console_queries.user_names(db, {c.staff_complained_id, c.assignee_id, *mentioned})
    names = record.Names(users, console_queries.org_names(db))
    org = names.orgs.get(c.org_id, "")
    view = build(pack, key, c, person, events, names, roles, org, locale, now)
    if access_service.may(db, user, "unmask", access_service.view_of(c)):
        return view
    view.sections = [
        (title, [(label, privacy_rules.mask_text(text)) for label, text in rows])
        for title, rows in view.sections
    ]
    return view


@router.get("/complaints/{complaint_id}/forms/{key}")
def print_form(
    request: Request, complaint_id: int, key: str, db: ReadDb, clock: ClockDep, user: ConsoleUser
) -> Response:
    view = complaint_form(db, user, complaint_id, key, page_locale(request), clock.now())
    pdf_url = f"/complaints/{complaint_id}/forms/{key}/pdf"
    return page(request, db, user, "forms/form.html", {"view": view, "pdf_url": pdf_url})


@router.get("/complaints/{complaint_id}/forms/{key}/pdf")
def print_form_pdf(
    request: Request, complaint_id: int, key: str, db: ReadDb, clock: ClockDep, user: ConsoleUser
) -> Response:
    view = complaint_form(db, user, complaint_id, key, page_locale(request), clock.now())
    return _pdf_response(view, page_locale(request), f"{view.number}-{key}")


def week_asked(pack: Pack, week: str, now: datetime) -> report_rules.Period:
    """The week a printed weekly report covers: the one holding the day given (2026-11-16) or
    named (2026-W47), else the last complete week, as the 周报 report; a week that has not
    begun is refused, as the reports refuse it, rather than printed as an empty week."""
    today = report_service.today_of(pack, now)
    text = week.strip() or None
    if text is not None:
        try:
            iso = date.fromisoformat(text).isocalendar()
            text = f"{iso.year:04d}-W{iso.week:02d}"
        except ValueError:
            pass  # a week's name, or a mistake the reports' parser names
    return report_service.period_for("weekly", text, today)


def _week_view(db: Session, user, period: report_rules.Period, locale: str, now: datetime):
    pack = access_service.pack_for_user(db, user)
    start, end = period.bounds(pack.timezone)
    received = queries.visible_to(db, user).where(
        Complaint.received_at >= start, Complaint.received_at < end
    )
    rows = list(db.scalars(received.order_by(Complaint.received_at).limit(WEEK_ROWS)))
    # the figures count every complaint of the week, not only the rows listed; "closed" is
    # closed by the end of the week, as the 周报 report counts it (本期受理且已结)
    closed_by_end = case((Complaint.closed_at < end, 1), else_=0)
    counted: dict[str | None, list[int]] = {}
    for level, closed, n in db.execute(
        received.with_only_columns(Complaint.level, closed_by_end, func.count()).group_by(
            Complaint.level, closed_by_end
        )
    ):
        counted.setdefault(level, [0, 0])[int(closed)] += n
    total = sum(sum(pair) for pair in counted.values())
    closed = sum(pair[1] for pair in counted.values())
    orgs = console_queries.org_names(db)
    users = console_queries.user_names(db, {c.assignee_id for c in rows})
    names = record.Names(users, orgs)
    val = lambda key, v: record.value_text(pack, key, v, names, locale)  # noqa: E731
    t = lambda key, **kw: translate(key, locale, **kw)  # noqa: E731
    viewer = access_service.principal(db, user)

    def title(c: Complaint) -> str | None:  # numbers masked as on every list
        plain = access_rules.can(viewer, "unmask", access_service.view_of(c))
        return c.title if plain else privacy_rules.mask_text(c.title)

    view = FormView(
        form_title(pack, weekly_form(pack), locale),
        orgs.get(user.org_id, ""),  # the complaints counted are those under the reader's node
        t(
            "web.week_of",
            start=period.start.isoformat(),
            end=(period.end - timedelta(days=1)).isoformat(),
        ),
        printed=local_time(now, pack.timezone),
        number_label=t("web.week"),
    )
    by_level = [
        (pick(lv.name, locale), str(sum(counted.get(lv.key, [0, 0])))) for lv in pack.levels
    ]
    view.sections.append(
        (
            t("web.block.totals"),
            [
                (t("web.received_count"), str(total)),
                (t("web.closed_count"), str(closed)),
                (t("web.open_count"), str(total - closed)),
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
                title(c),
                t(f"state.{c.state}"),
                users.get(c.assignee_id, ""),
            ]
            for c in rows
        ],
    )
    if total > len(rows):
        view.note = t("report.week_form.first_rows", shown=len(rows), total=total)
    declared = _declared(pack, weekly_form(pack))
    if declared and declared.informed:
        informed = record.listed(
            (pick(pack.role(r).name, locale) for r in declared.informed if pack.role(r)), locale
        )
        view.informed = t("web.duty.informed", roles=informed)
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
    now = clock.now()
    pack = access_service.pack_for_user(db, user)
    period = week_asked(pack, week, now)
    view = _week_view(db, user, period, page_locale(request), now)
    monday = period.start.isoformat()
    nav = {
        "week": monday,
        "previous": (period.start - timedelta(days=7)).isoformat(),
        # the next week, once it has begun
        "next": period.end.isoformat() if period.end <= report_service.today_of(pack, now) else "",
    }
    return page(
        request,
        db,
        user,
        "forms/form.html",
        {"view": view, "pdf_url": f"/forms/weekly/pdf?week={monday}", "week_nav": nav},
    )


@router.get("/forms/weekly/pdf")
def weekly_pdf(
    request: Request,
    db: ReadDb,
    clock: ClockDep,
    user: ConsoleUser,
    week: Annotated[str, Query(max_length=10)] = "",
) -> Response:
    now = clock.now()
    period = week_asked(access_service.pack_for_user(db, user), week, now)
    view = _week_view(db, user, period, page_locale(request), now)
    return _pdf_response(view, page_locale(request), f"weekly-{period.label}")
