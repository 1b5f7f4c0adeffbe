"""The small form behind each lifecycle command on the complaint page, and its parsing.

A form posts plain fields; `payload_from` turns them into the command's payload, which then goes
to `complaint.service.execute` — the same validation and rules as the API. Nothing is checked
here that the service does not check again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Row
from starlette.datastructures import FormData

from kesu.complaint.commands import CLASSIFICATIONS
from kesu.complaint.models import Complaint
from kesu.i18n import LANGUAGES, pick, translate
from kesu.policy.schema import Pack
from kesu.web.console import record

CONTACT_METHODS = ("phone", "sms", "wechat", "email", "visit")
SHARE_ROWS = 3

# command → fields: (name, kind, required, option source); a test checks every command has one
FIELDS: dict[str, list[tuple[str, str, bool, str | None]]] = {
    "acknowledge": [("message", "textarea", False, None)],
    "record_contact": [
        ("reached", "yesno", True, None),
        ("method", "select", True, "methods"),
        ("summary", "textarea", False, None),
        ("locale", "select", False, "languages"),
    ],
    "classify": [
        ("classification", "select", True, "classifications"),
        ("reason", "textarea", True, None),
    ],
    "categorize": [
        ("category", "select", False, "categories"),
        ("level", "select", False, "levels"),
        ("reason", "textarea", False, None),
    ],
    "assign": [
        ("assignee_id", "select", False, "assignees"),
        ("department_id", "select", False, "departments"),
    ],
    "transfer": [
        # one choice: a desk, or a person under their desk (to_department_id + to_user_id)
        ("to", "recipient", True, "receiving"),
        ("reason", "textarea", True, None),
    ],
    "accept_transfer": [("comment", "textarea", False, None)],
    "decline_transfer": [("comment", "textarea", False, None)],
    "withdraw_transfer": [("comment", "textarea", False, None)],
    "record_investigation": [
        ("findings", "textarea", True, None),
        ("root_causes", "checks", True, "root_causes"),
        ("responsibility", "shares", True, None),
        ("founded", "yesno", True, None),
    ],
    "propose_solution": [
        ("solution_type", "select", True, "solution_types"),
        ("amount", "amount", False, None),
        ("description", "textarea", True, None),
    ],
    "approve_solution": [("comment", "textarea", False, None)],
    "reject_solution": [("reason", "textarea", True, None)],
    "implement": [("notes", "textarea", False, None)],
    "record_response": [
        ("satisfaction", "select", True, "grades"),
        ("comment", "textarea", False, None),
    ],
    "sign_off": [("opinion", "textarea", False, None)],
    "close": [("summary", "textarea", False, None)],
    "reopen": [("reason", "textarea", True, None)],
    "escalate": [("reason", "textarea", True, None)],
    "request_delay": [("reason", "textarea", True, None), ("until", "datetime", True, None)],
    "approve_delay": [("comment", "textarea", False, None)],
    "reject_delay": [("reason", "textarea", True, None)],
    "follow_up": [
        ("result", "textarea", True, None),
        ("satisfaction", "select", False, "grades"),
    ],
    "note": [("text", "textarea", True, None)],
}

INT_SOURCES = frozenset({"assignees", "departments", "staff", "grades"})
MESSAGE_FIELDS = frozenset({"message", "summary", "comment", "text", "result"})
"""Fields a reply template (话术) may be inserted into."""


@dataclass(frozen=True)
class Field:
    name: str
    kind: str
    required: bool
    label: str
    options: tuple[tuple[str, str], ...] = ()
    replies: bool = False
    groups: tuple[tuple[str, tuple[tuple[str, str], ...]], ...] = ()
    """A recipient's choices by desk: (desk name, ((value, label), …))."""


def category_options(pack: Pack, locale: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []

    def walk(cats, depth):
        for c in cats:
            out.append((c.key, "\u3000" * depth + pick(c.name, locale)))
            walk(c.children, depth + 1)

    walk(pack.categories, 0)
    return out


def options(
    pack: Pack,
    complaint: Complaint,
    staff: list[Row],
    departments: list[Row],
    locale: str,
) -> dict[str, list[tuple[str, str]]]:
    """Every option list the command forms of one complaint may need."""

    def role_name(u: Row) -> str:
        role = pack.role(u.role)
        # 张伟（综合服务部经理/主管）; in English 张伟 (CS department manager)
        name = pick(role.name, locale) if role else u.role
        return translate("web.with_tier", locale, name=u.display_name, tier=name)

    eligible = [u for u in staff if u.id != complaint.staff_complained_id]
    rank = pack.tier_rank(complaint.current_tier)
    handlers = [
        u
        for u in eligible
        if (r := pack.role(u.role)) is not None and pack.tier_rank(r.tier) >= rank and r.tier
    ]
    return {
        "methods": [(m, translate(f"web.method.{m}", locale)) for m in CONTACT_METHODS],
        "languages": list(LANGUAGES),
        "classifications": [(k, translate(f"classification.{k}", locale)) for k in CLASSIFICATIONS],
        "categories": category_options(pack, locale),
        "levels": [(lv.key, pick(lv.name, locale)) for lv in pack.levels],
        "assignees": [(str(u.id), role_name(u)) for u in handlers],
        "staff": [(str(u.id), role_name(u)) for u in eligible],
        "departments": [(str(d.id), d.name) for d in departments],
        "receiving": receiving(
            departments, [u for u in handlers if u.id != complaint.assignee_id], role_name, locale
        ),
        "root_causes": [(d.key, pick(d.name, locale)) for d in pack.root_cause_dimensions],
        "solution_types": [(s.key, pick(s.name, locale)) for s in pack.solution_types],
        "grades": [(str(g.value), f"{g.value} {pick(g.name, locale)}") for g in pack.satisfaction],
    }


def receiving(departments: list[Row], handlers: list[Row], role_name, locale: str) -> list:
    """Where a transfer may go, desk by desk: the desk itself (anyone there of the complaint's
    tier accepts it), then each of its people who may handle it. Only desks with such a person
    (else it would wait for good), and nobody without a desk: a transfer names the desk its
    receiver works in, so a person is never offered under another desk or none. (The caller
    leaves out whoever handles it already.)"""
    out = []
    for d in departments:
        people = [u for u in handlers if u.department_id == d.id]
        if people:
            desk = (str(d.id), translate("web.transfer.to_desk", locale, name=d.name))
            out.append((d.name, (desk, *((f"{d.id}:{u.id}", role_name(u)) for u in people))))
    return out


def fields_for(command: str, opts: dict[str, list], locale: str) -> list[Field]:
    out = []
    for name, kind, required, source in FIELDS.get(command, []):
        grouped = kind == "recipient"
        out.append(
            Field(
                name=name,
                kind=kind,
                required=required,
                # as the record reads it: a solution's description is not the complaint's
                label=record.field_label(name, locale, command),
                options=tuple(opts[source]) if source and not grouped else (),
                replies=name in MESSAGE_FIELDS,
                groups=tuple(opts[source]) if grouped else (),
            )
        )
    return out


def local_datetime(raw: str, tz: str) -> str:
    """`<input type=datetime-local>` gives wall time; read it in the pack's time zone."""
    try:
        return datetime.fromisoformat(raw).replace(tzinfo=ZoneInfo(tz)).isoformat()
    except ValueError:
        return raw  # the command's own validation names the field and the rule


def payload_from(command: str, form: FormData, tz: str) -> dict[str, Any]:
    """The posted fields as the command's payload; empty optional fields are left out."""
    payload: dict[str, Any] = {}
    for name, kind, _required, source in FIELDS.get(command, []):
        if kind == "checks":
            values = [v for v in form.getlist(name) if isinstance(v, str) and v]
            if values:
                payload[name] = values
            continue
        if kind == "shares":
            rows = []
            for i in range(SHARE_ROWS):
                party = str(form.get(f"{name}.{i}.party") or "").strip()
                share = str(form.get(f"{name}.{i}.share") or "").strip()
                if party or share:
                    rows.append({"party": party, "share": int(share) if share.isdigit() else share})
            if rows:
                payload[name] = rows
            continue
        raw = form.get(name)
        value = raw.strip() if isinstance(raw, str) else ""
        if not value:
            continue
        if kind == "recipient":  # "desk" or "desk:person"
            desk, _, person = value.partition(":")
            payload["to_department_id"] = int(desk) if desk.isdigit() else desk
            if person:
                payload["to_user_id"] = int(person) if person.isdigit() else person
        elif kind == "yesno":
            payload[name] = {"yes": True, "no": False}.get(value, value)
        elif kind == "datetime":
            payload[name] = local_datetime(value, tz)
        elif source in INT_SOURCES and value.lstrip("-").isdigit():
            payload[name] = int(value)
        else:
            payload[name] = value
    return payload
