"""Reading an old complaint ledger (客户投诉登记表), pure: find the header among title rows and
merged cells, map its columns to fields, and parse each row's messy values — dates as text or
as Excel serial numbers, phone numbers with spaces, pack values by key or by their Chinese
name — naming every problem by row and column.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

FIELDS = (
    "original_number",
    "received_at",
    "name",
    "phone",
    "title",
    "description",
    "category",
    "level",
    "channel",
    "site",
    "department",
    "complainant_type",
    "merchant",
    "product",
    "order_no",
    "closed",
    "closed_at",
    "result",
    "satisfaction",
    "amount",
)
REQUIRED = ("received_at", "name", "description")

SYNONYMS: dict[str, tuple[str, ...]] = {
    # not 序号: that is the row counter most ledgers start at 1 again on every sheet and every
    # month, so as an identity it would skip the next month's rows as "already imported"
    "original_number": ("编号", "投诉编号", "单号", "登记编号", "流水号", "no", "number"),
    "received_at": (
        "日期",
        "投诉日期",
        "受理日期",
        "登记日期",
        "投诉时间",
        "受理时间",
        "来电时间",
        "date",
        "received",
    ),
    "name": ("姓名", "客户姓名", "顾客姓名", "投诉人", "投诉人姓名", "客户", "顾客", "name"),
    "phone": ("电话", "联系电话", "手机", "手机号", "联系方式", "投诉人电话", "phone", "tel"),
    "title": ("标题", "主题", "投诉事项", "事由", "title", "subject"),
    "description": (
        "投诉内容",
        "内容",
        "问题描述",
        "投诉描述",
        "具体内容",
        "详细内容",
        "description",
    ),
    "category": ("类别", "投诉类别", "分类", "投诉类型", "问题类型", "category"),
    "level": ("级别", "等级", "投诉级别", "严重程度", "level"),
    "channel": ("渠道", "来源", "投诉渠道", "投诉方式", "受理方式", "channel"),
    "site": ("门店", "店铺", "网点", "站点", "分店", "投诉门店", "site", "store"),
    "department": ("部门", "责任部门", "处理部门", "department"),
    "complainant_type": ("客户类型", "投诉人类型", "顾客类型"),
    "merchant": ("商户", "商家", "供应商", "merchant"),
    "product": ("产品", "商品", "产品名称", "商品名称", "product"),
    "order_no": ("订单号", "单据号", "发票号", "送货单号", "order"),
    "closed": ("状态", "处理状态", "是否结案", "结案状态", "status"),
    "closed_at": ("结案日期", "结案时间", "完成日期", "处理完成日期", "closed"),
    "result": ("处理结果", "处理情况", "处理方案", "处理意见", "解决方案", "result"),
    "satisfaction": ("满意度", "客户满意度", "回访满意度", "satisfaction"),
    "amount": ("金额", "赔偿金额", "补偿金额", "费用", "赔付金额", "amount"),
}

CLOSED_WORDS = (
    "已结",
    "已结案",
    "结案",
    "已处理",
    "已完成",
    "完成",
    "已关闭",
    "closed",
    "是",
    "y",
    "yes",
)
OPEN_WORDS = ("未结", "未结案", "处理中", "跟进中", "待处理", "open", "否", "n", "no")


def normalise(text: Any) -> str:
    """Header or value text for matching: no spaces, line breaks, colons, stars or brackets."""
    return re.sub(r"[\s:：*＊()（）\[\]【】]", "", str(text)).lower()


def bare(text: str) -> str:
    """A header without its bracketed note: 赔偿金额（元） → 赔偿金额."""
    return re.sub(r"[（(【\[][^）)】\]]*[）)】\]]", "", text).strip()


def lookup(columns: Mapping[str, str] | None = None) -> dict[str, str]:
    """normalised header → field: a saved mapping first, then the built-in synonyms."""
    out = {normalise(h): f for f, names in SYNONYMS.items() for h in names}
    out.update({normalise(h): f for h, f in (columns or {}).items()})
    return out


@dataclass(frozen=True)
class Header:
    row: int  # 0-based index of the last header row
    columns: dict[int, str]  # column index → header text as shown
    fields: dict[int, str]  # column index → field


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _title_row(cells: Sequence[Any]) -> bool:
    """A banner like 客户投诉登记表 repeated across merged cells: one distinct value."""
    values = {str(c).strip() for c in cells if not _blank(c)}
    return len(values) <= 1


def _resolve(
    rows: Sequence[Sequence[Any]], i: int, known: Mapping[str, str]
) -> tuple[dict[int, str], dict[int, str]]:
    """Row i read as the header, with the row above as the upper half of two-level headers
    (unless that row is a banner): (column → header as shown, column → field)."""
    upper = rows[i - 1] if i > 0 and not _title_row(rows[i - 1]) else None
    shown: dict[int, str] = {}
    fields: dict[int, str] = {}
    for j, cell in enumerate(rows[i]):
        top = "" if upper is None or j >= len(upper) or _blank(upper[j]) else str(upper[j]).strip()
        low = "" if _blank(cell) else str(cell).strip()
        candidates = [top + low, low, top] if top and low and top != low else [low or top]
        for name in [*candidates, *(bare(c) for c in candidates)]:
            if name and normalise(name) in known and known[normalise(name)] not in fields.values():
                fields[j] = known[normalise(name)]
                break
        if low or top:
            shown[j] = " / ".join(p for p in (top, low) if p) if top != low else low
    return shown, fields


def find_header(rows: Sequence[Sequence[Any]], columns: Mapping[str, str] | None = None) -> Header:
    """The header is the row (among the first 20) that, read together with a two-level upper
    half above it (merged cells), names the most fields; at least two."""
    known = lookup(columns)
    best, best_fields, best_shown = None, {}, {}
    for i in range(min(len(rows), 20)):
        if _title_row(rows[i]):
            continue
        shown, fields = _resolve(rows, i, known)
        if len(fields) > len(best_fields):
            best, best_fields, best_shown = i, fields, shown
    if best is None or len(best_fields) < 2:
        raise ValueError("no header row: fewer than two columns name a known field")
    return Header(best, best_shown, best_fields)


# --- values ---------------------------------------------------------------------------------

EXCEL_EPOCH = datetime(1899, 12, 30)
_DATE = re.compile(
    r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?"
    r"(?:[\sT]+(\d{1,2})\s*[:：时]\s*(\d{1,2})(?:\s*[:：分]\s*(\d{1,2}))?\s*秒?)?$"
)

_NO_YEAR = re.compile(r"^(\d{1,2})\s*[/月]\s*(\d{1,2})\s*日?(?:[\sT].*)?$")


def parse_datetime(value: Any) -> datetime | None:
    """A naive local date-time from a cell: a date/datetime, an Excel serial number (as a
    number or as text), or text like 2025-03-05, 2025/3/5 14:30, 2025年3月5日. None if empty;
    ValueError if it cannot be read."""
    if _blank(value):
        return None
    if isinstance(value, datetime):
        return value.replace(tzinfo=None)
    if isinstance(value, date):
        return datetime.combine(value, time())
    if isinstance(value, int | float) and not isinstance(value, bool):
        return _serial(float(value))
    text = str(value).strip()
    if re.fullmatch(r"\d{5}(\.\d+)?", text):
        return _serial(float(text))
    m = _DATE.match(text)
    if m is None:
        if _NO_YEAR.match(text):  # 3月5日: the year is only in the sheet's title
            raise ValueError("date_year")
        raise ValueError("date")
    y, mo, d, h, mi, s = (int(g) if g else 0 for g in m.groups())
    try:
        return datetime(y, mo, d, h, mi, s)
    except ValueError as exc:  # 2025-13-45, 2025-02-30
        raise ValueError("date") from exc


def _serial(days: float) -> datetime:
    if not 1 <= days < 2958466:
        raise ValueError("date")
    at = EXCEL_EPOCH + timedelta(days=days)
    return at.replace(microsecond=0) + timedelta(seconds=round(at.microsecond / 1e6))


def parse_phone(value: Any) -> str | None:
    """Digits and a leading + of a phone cell: "138 1234 5678", "0571-8888 6666", 13812345678.0."""
    if _blank(value):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value).strip()
    digits = re.sub(r"[\s\-()（）]", "", text)
    if not re.fullmatch(r"\+?\d{7,15}", digits):
        raise ValueError("phone")
    return digits


def parse_amount(value: Any) -> Decimal | None:
    if _blank(value):
        return None
    text = str(value).strip().replace(",", "").replace("，", "").removesuffix("元").strip("¥￥ ")
    try:
        amount = Decimal(text)
    except InvalidOperation as exc:
        raise ValueError("amount") from exc
    if amount < 0 or amount > 10_000_000:
        raise ValueError("amount")
    return amount.quantize(Decimal("0.01"))


def parse_closed(value: Any) -> bool | None:
    if _blank(value):
        return None
    word = normalise(value)
    if word in CLOSED_WORDS:
        return True
    if word in OPEN_WORDS:
        return False
    raise ValueError("closed")


def text_of(value: Any) -> str | None:
    if _blank(value):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


# --- rows -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Problem:
    row: int  # the ledger's own row number (1 = the first line of the sheet)
    column: str  # the column's letter and header, e.g. "C 投诉日期"
    field: str
    rule: (
        str  # missing | date | date_year | phone | amount | closed | unknown | too_long | duplicate
    )
    value: str = ""
    sheet: str = ""  # the worksheet's name when the workbook has several


@dataclass
class Row:
    number: int
    sheet: str = ""
    values: dict[str, Any] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)

    @property
    def blank(self) -> bool:
        return not any(v is not None for v in self.values.values())


_TOTAL = re.compile(r"^.{0,8}(合计|总计|小计|合計|總計|小計|total|subtotal)$")


def total_row(cells: Sequence[Any]) -> bool:
    """A 合计 (total) line under the rows: a word like 合计/本月合计 (often merged across the
    first columns) and otherwise only numbers and sums."""
    words = {normalise(c) for c in cells if isinstance(c, str) and c.strip()}
    if not any(_TOTAL.match(w) for w in words):
        return False
    return all(_TOTAL.match(w) or re.fullmatch(r"[=¥￥\d.,，元+\-]*|=.*", w) for w in words)


def column_letter(index: int) -> str:
    out, n = "", index + 1
    while n:
        n, rem = divmod(n - 1, 26)
        out = chr(65 + rem) + out
    return out


PARSERS = {
    "received_at": parse_datetime,
    "closed_at": parse_datetime,
    "phone": parse_phone,
    "amount": parse_amount,
    "closed": parse_closed,
}
LIMITS = {"name": 100, "title": 200, "description": 4000, "result": 4000, "original_number": 60}


def read_row(number: int, cells: Sequence[Any], header: Header, sheet: str = "") -> Row:
    """Parse one data row; every unreadable value becomes a Problem and the field stays None."""
    row = Row(number, sheet)
    for j, name in header.fields.items():
        raw = cells[j] if j < len(cells) else None
        where = f"{column_letter(j)} {header.columns.get(j, '')}".strip()
        parse = PARSERS.get(name, text_of)
        try:
            value = parse(raw)
        except ValueError as exc:
            row.problems.append(Problem(number, where, name, str(exc), str(raw)[:60], sheet))
            value = None
        if isinstance(value, str) and len(value) > LIMITS.get(name, 200):
            row.problems.append(Problem(number, where, name, "too_long", value[:60], sheet))
            value = None
        row.values[name] = value
    return row


def where_of(header: Header, name: str) -> str:
    j = next((j for j, f in header.fields.items() if f == name), None)
    return "" if j is None else f"{column_letter(j)} {header.columns.get(j, '')}".strip()


def check_required(row: Row, header: Header) -> None:
    for name in REQUIRED:
        if row.values.get(name) is None and not any(p.field == name for p in row.problems):
            row.problems.append(
                Problem(row.number, where_of(header, name), name, "missing", sheet=row.sheet)
            )


def match_key(
    text: str | None, options: Mapping[str, Mapping[str, str]], saved: Mapping[str, str]
) -> str | None:
    """A pack key from a ledger value: the organisation's saved translation, the key itself, or
    one of its names (any language). `options`: key → {locale: name}. None when unknown."""
    if text is None:
        return None
    if text in saved:
        return saved[text]
    if text in options:
        return text
    wanted = normalise(text)
    for key, names in options.items():
        if wanted == normalise(key) or any(wanted == normalise(n) for n in names.values()):
            return key
    return None


def identity(row: Row) -> str:
    """What makes a ledger row the same row on a second import: its own number, or else a
    fingerprint of what it says (received time, complainant, phone, description)."""
    number = row.values.get("original_number")
    if number:
        return f"no:{number}"
    basis = [str(row.values.get(k) or "") for k in ("received_at", "name", "phone", "description")]
    digest = hashlib.sha256(json.dumps(basis, ensure_ascii=False).encode()).hexdigest()
    return f"fp:{digest[:40]}"
