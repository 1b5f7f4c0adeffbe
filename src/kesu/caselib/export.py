"""The case library as a spreadsheet for training: the cases a search finds, personal data
removed, written by the report renderers (one sheet; formulas defused)."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Select
from sqlalchemy.orm import Session

from kesu.caselib import queries
from kesu.errors import InvalidInput
from kesu.i18n import pick, translate
from kesu.org import service as org_service
from kesu.policy.schema import Pack
from kesu.report.schemas import Column, Report, Section

MAX_CASES = 10_000
COLUMNS = (
    ("number", "text"),
    ("closed_at", "datetime"),
    ("site", "text"),
    ("level", "text"),
    ("category", "text"),
    ("title", "text"),
    ("description", "text"),
    ("findings", "text"),
    ("root_causes", "text"),
    ("solution", "text"),
    ("amount", "money"),
    ("satisfaction", "int"),
)


def export(
    session: Session,
    scope: Select,
    pack: Pack,
    words: list[str],
    filters: queries.Filters,
    *,
    fmt: str,
    locale: str,
    now: datetime,
) -> tuple[bytes, str, str]:
    """(content, media type, file name) of the matching cases as xlsx or csv."""
    from kesu.report import service as report_service

    if fmt not in ("xlsx", "csv"):
        raise InvalidInput("report.unknown_format", field="format", value=fmt)
    zone = ZoneInfo(pack.timezone)
    cases, _ = queries.search(session, scope, words, filters, limit=MAX_CASES)
    names = queries.complainant_names(session, cases)
    orgs = {o.id: o.name for o in org_service.all_orgs(session)}
    labels = {
        kind: {i.key: pick(i.name, locale) for i in items}
        for kind, items in (
            ("levels", pack.levels),
            ("categories", pack.category_list()),
            ("causes", pack.root_cause_dimensions),
        )
    }
    rows = []
    closed_days = []
    for c in cases:
        case = queries.as_case(c, names)
        closed_days.append(case["closed_at"].astimezone(zone).date())
        rows.append(
            [
                case["number"],
                case["closed_at"].astimezone(zone).strftime("%Y-%m-%d"),
                orgs.get(case["site_id"], ""),
                labels["levels"].get(case["level"], case["level"]),
                labels["categories"].get(case["category"], case["category"] or ""),
                case["title"],
                case["description"],
                case["findings"],
                "、".join(labels["causes"].get(k, k) for k in case["root_causes"]),
                case["solution"],
                float(case["amount"]) if case["amount"] is not None else None,
                case["satisfaction"],
            ]
        )
    title = translate("caselib.title", locale)
    section = Section(
        key="cases",
        title=title,
        columns=[
            Column(key=k, label=translate(f"caselib.column.{k}", locale), kind=kind)
            for k, kind in COLUMNS
        ],
        rows=rows,
        note=translate("caselib.note", locale, query=" ".join(words) or "—"),
    )
    day = now.astimezone(zone).date()
    report = Report(
        kind="cases",
        title=title,
        org_code="cases",
        org_name="",
        period=day.isoformat(),
        # the cover's period line: the closing days of the cases exported (end exclusive)
        start=min(closed_days, default=day),
        end=max(closed_days, default=day) + timedelta(days=1),
        timezone=pack.timezone,
        generated_at=now,
        locale=locale,
        sections=[section],
    )
    content, media, _ = report_service.render(report, fmt)
    return content, media, f"kesu-cases-{day.isoformat()}.{fmt}"
