"""The case library finds closed cases by any Chinese substring — two-character words too —
shows and exports them without the complainant's personal data, and never shows a staff
member the cases about themselves."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import openpyxl
import pytest
from sqlalchemy import select

from kesu.access import service as access_service
from kesu.access.models import User
from kesu.caselib import export, queries
from kesu.caselib.rules import redact, terms
from kesu.complaint import service as complaint_service
from kesu.complaint.schemas import ComplainantIn, ComplaintCreate
from kesu.db.session import reading, transaction

L1_PATH = [
    ("receiver1", "acknowledge", {}),
    ("receiver1", "record_contact", {"reached": True}),
    ("receiver1", "classify", {"classification": "valid", "reason": "属实"}),
    (
        "receiver1",
        "record_investigation",
        {
            "findings": "FINDINGS",
            "root_causes": ["material"],
            "responsibility": [{"party": "供应商", "share": 100}],
            "founded": True,
        },
    ),
    (
        "receiver1",
        "propose_solution",
        {"solution_type": "exchange", "amount": 0, "description": "更换坐垫"},
    ),
    ("receiver1", "implement", {}),
    ("receiver1", "record_response", {"satisfaction": 2}),
    ("supervisor", "sign_off", {}),
    ("archivist", "close", {}),
]


def _complaint(
    session, clock, org, users, title, description, *, close=True, about=None, findings="属实"
):
    """A new complainant each time (a repeat complaint would be raised to L2 by the pack)."""
    n = len(title) * 7 + len(description)
    name, phone = ("林美华", "138 1234 5678") if "林美华" in description else (f"客户{n}", None)
    data = ComplaintCreate(
        site_id=org["SH-NJ"],
        channel="phone",
        complainant=ComplainantIn(name=name, phone=phone),
        complainant_type="consumer",
        title=title,
        description=description,
        category="product_quality",
        level="L1",
        staff_complained_id=about,
    )
    c = complaint_service.receive(
        session, clock, complaint_service.actor_of(users["receiver2"]), data
    )
    for username, command, payload in L1_PATH if close else []:
        if command == "record_investigation":
            payload = {**payload, "findings": findings}
        clock.advance(minutes=30)
        c = complaint_service.execute(
            session, clock, c.id, complaint_service.actor_of(users[username]), command, payload,
            c.version,
        )  # fmt: skip
    return c


@pytest.fixture
def library(sessions, org, clock):
    with transaction(sessions) as session:
        users = {u.username: u for u in session.scalars(select(User))}
        sofa = _complaint(
            session, clock, org, users, "沙发坐垫塌陷",
            "林美华女士（电话 138 1234 5678，身份证 110101199003071234）反映沙发坐垫塌陷。",
            findings="海绵密度不达标，供应商批次问题",
        )  # fmt: skip
        _complaint(session, clock, org, users, "餐桌划痕", "实木餐桌送货后发现桌面划痕。")
        _complaint(session, clock, org, users, "沙发异响", "沙发坐下有异响", close=False)
        _complaint(
            session, clock, org, users, "店员态度", "门店店员态度冷淡，沙发区无人接待",
            about=users["receiver3"].id,
        )  # fmt: skip
    return {"sofa": sofa.id, "users": users}


def _search(sessions, username, text, **filters):
    with reading(sessions) as session:
        viewer = session.scalar(select(User).where(User.username == username))
        scope = queries.seen_by(session, viewer)
        found, _ = queries.search(session, scope, terms(text), queries.Filters(**filters))
        names = queries.complainant_names(session, found)
        return [queries.as_case(c, names) for c in found]


def test_two_character_and_longer_chinese_words_find_only_closed_cases(sessions, library):
    assert {c["title"] for c in _search(sessions, "director", "沙发")} == {
        "沙发坐垫塌陷",
        "店员态度",
    }
    assert [c["title"] for c in _search(sessions, "director", "坐垫塌陷")] == ["沙发坐垫塌陷"]
    assert [c["title"] for c in _search(sessions, "director", "沙发 供应商批次")] == [
        "沙发坐垫塌陷"
    ], "every word must match; the findings are searched too"
    assert _search(sessions, "director", "异响") == [], "an open case is not in the library"
    assert _search(sessions, "director", "沙发", category="repair") == []


def test_a_reopened_case_leaves_the_library(sessions, library, clock):
    with transaction(sessions) as session:
        c = complaint_service.get(session, library["sofa"])
        actor = complaint_service.actor_of(library["users"]["supervisor"])
        complaint_service.execute(
            session, clock, c.id, actor, "reopen", {"reason": "客户再次反映"}, c.version
        )
    assert [c["title"] for c in _search(sessions, "director", "沙发")] == ["店员态度"]


def test_cases_are_shown_without_the_complainants_personal_data(sessions, library):
    (case,) = _search(sessions, "director", "坐垫塌陷")
    assert "138" not in case["description"] and "110101" not in case["description"]
    assert "林美华" not in case["description"] and case["description"].startswith("某某女士")


def test_the_person_complained_about_does_not_find_the_case(sessions, library):
    assert [c["title"] for c in _search(sessions, "receiver3", "沙发")] == ["沙发坐垫塌陷"]


def test_a_parent_category_finds_the_cases_of_the_categories_under_it(sessions, library, client):
    """Choosing 产品 in the library found nothing: the cases are filed under 产品质量 and
    维修, and the filter matched the key 产品 itself only (console, export, API and CLI)."""
    from helpers import login
    from web.console_helpers import sign_in

    sign_in(client, "director")
    page = client.get("/cases", params={"category": "product"}).text
    assert "沙发坐垫塌陷" in page and "找到 0 件" not in page
    assert '<option value="product_quality">\u3000产品质量</option>' in page  # under 产品
    assert "沙发坐垫塌陷" not in client.get("/cases", params={"category": "logistics"}).text
    export_ = client.get("/cases/export", params={"category": "product", "format": "csv"})
    assert "沙发坐垫塌陷" in export_.content.decode("utf-8-sig")
    api = client.get(
        "/api/v1/cases", params={"category": "product"}, headers=login(client, "director")
    )
    assert "沙发坐垫塌陷" in [c["title"] for c in api.json()["items"]]
    with reading(sessions) as session:
        viewer = session.scalar(select(User).where(User.username == "director"))
        pack = access_service.pack_for_user(session, viewer)
        chosen = queries.Filters(category="product").under(pack)
        found, _ = queries.search(session, queries.seen_by(session, viewer), [], chosen)
    assert "沙发坐垫塌陷" in {c.title for c in found}
    assert chosen.subcategories and "product_quality" in chosen.subcategories


def _director_export(sessions, now: datetime) -> tuple[bytes, str]:
    """The director's case export for 沙发 as XLSX: (content, file name)."""
    with reading(sessions) as session:
        viewer = session.scalar(select(User).where(User.username == "director"))
        content, _, name = export.export(
            session,
            queries.seen_by(session, viewer),
            access_service.pack_for_user(session, viewer),
            ["沙发"],
            queries.Filters(),
            fmt="xlsx",
            locale="zh_Hans",
            now=now,
        )
    return content, name


def test_the_export_holds_the_cases_and_no_personal_data(sessions, library):
    content, name = _director_export(sessions, datetime(2026, 11, 26, 2, tzinfo=UTC))
    assert name == "kesu-cases-2026-11-26.xlsx"
    ws = openpyxl.load_workbook(io.BytesIO(content)).worksheets[1]
    text = "\n".join(str(c.value) for row in ws.iter_rows() for c in row if c.value is not None)
    assert "沙发坐垫塌陷" in text and "更换坐垫" in text
    assert "林美华" not in text and "1234 5678" not in text


def test_redaction_masks_numbers_addresses_and_names():
    text = (
        "王建国先生来电13912345678，座机021-6666 8888，邮箱wjg@example.cn，卡号6222021234567890123"
    )
    out = redact(text, ["王建国"])
    assert out == "某某先生来电＊＊＊，座机＊＊＊，邮箱＊＊＊，卡号＊＊＊"
    assert redact("张女士说沙发坏了") == "某女士说沙发坏了"
    assert redact("订单SO123456已发货") == "订单SO123456已发货"


def test_redaction_keeps_the_words_before_a_title_that_are_not_a_surname():
    text = "安装师傅说是出厂问题，门店经理和维修师傅都来过，王经理和陳先生也来了"
    assert redact(text) == "安装师傅说是出厂问题，门店经理和维修师傅都来过，某经理和某先生也来了"


def test_search_words_split_on_any_space():
    assert terms(" 沙发\u3000坐垫  沙发 ") == ["沙发", "坐垫"]


def test_the_command_line_finds_and_exports_cases(sessions, library, settings, tmp_path):
    from typer.testing import CliRunner

    from kesu.cli import app

    out = tmp_path / "cases.csv"
    result = CliRunner().invoke(
        app,
        ["cases", "search", "塌陷", "--export", str(out)],
        env={"KESU_DATABASE_URL": settings.db_url, "KESU_DATA_DIR": str(settings.data_dir)},
    )
    assert result.exit_code == 0, result.output
    assert "沙发坐垫塌陷" in result.output and "找到 1 件已结案件" in result.output
    text = out.read_text(encoding="utf-8-sig")
    assert "某某女士" in text and "林美华" not in text
    parent = CliRunner().invoke(
        app,
        ["cases", "search", "塌陷", "--category", "product"],
        env={"KESU_DATABASE_URL": settings.db_url, "KESU_DATA_DIR": str(settings.data_dir)},
    )
    assert "找到 1 件已结案件" in parent.output  # 产品 holds its 产品质量 case
    nowhere = tmp_path / "no-such-folder" / "cases.csv"
    result = CliRunner().invoke(
        app,
        ["cases", "search", "塌陷", "--export", str(nowhere), "--lang", "en"],
        env={"KESU_DATABASE_URL": settings.db_url, "KESU_DATA_DIR": str(settings.data_dir)},
    )
    assert result.exit_code == 1  # one line, not a traceback
    assert result.output == f"error: Cannot write '{nowhere}': No such file or directory\n"


def _case_texts(sessions) -> dict[int, str]:
    """Closed cases' searchable text, as migration 0004 builds it."""
    from kesu.complaint.models import Complaint

    with reading(sessions) as session:
        rows = session.scalars(select(Complaint).where(Complaint.state == "closed")).all()
        return {
            c.id: "\n".join(
                [
                    c.title,
                    c.description,
                    (c.investigation or {}).get("findings") or "",
                    (c.solution or {}).get("description") or "",
                ]
            )
            for c in rows
        }


def _ids(sessions, text) -> set[int]:
    return {c["id"] for c in _search(sessions, "director", text)}


def test_one_two_and_five_character_words_find_exactly_the_cases_holding_them(sessions, library):
    """Words shorter than a trigram go through the character index (migration 0008): the
    result is still exactly the cases whose text contains the word, also after an edit."""
    from sqlalchemy import update

    from kesu.complaint.models import Complaint

    def expected(word: str) -> set[int]:
        return {cid for cid, text in _case_texts(sessions).items() if word.lower() in text.lower()}

    words = [
        "沙",
        "桌",
        "沙发",
        "划痕",
        "批次",
        "海绵密度不",
        "实木餐桌送",
        "更换坐垫",
        "鑫",
        "鑫鑫",
    ]
    for word in words:
        assert _ids(sessions, word) == expected(word), word
    assert _ids(sessions, "桌") and _ids(sessions, "海绵密度不") == {library["sofa"]}
    with transaction(sessions) as session:
        session.execute(
            update(Complaint)
            .where(Complaint.id == library["sofa"])
            .values(description="顾客反映餐桌桌腿松动。", investigation={"findings": "螺丝缺失"})
        )
    for word in [*words, "桌腿", "螺", "螺丝缺失"]:
        assert _ids(sessions, word) == expected(word), word
    assert library["sofa"] in _ids(sessions, "桌") and _ids(sessions, "海绵密度不") == set()


def test_a_common_word_gives_the_same_cases_as_a_rare_one_would(sessions, library, monkeypatch):
    """Past `CANDIDATES` matches the search checks the newest cases one by one instead."""
    words = ["沙", "沙发", "坐垫塌陷", "沙发 供应商批次", "鑫鑫"]
    by_index = {w: _ids(sessions, w) for w in words}
    monkeypatch.setattr(queries, "CANDIDATES", 0)
    assert {w: _ids(sessions, w) for w in words} == by_index


def test_the_export_cover_names_the_closing_days_of_its_cases_and_local_time(sessions, library):
    content, _ = _director_export(sessions, datetime(2026, 12, 3, 2, tzinfo=UTC))
    closed = [c["closed_at"] for c in _search(sessions, "director", "沙发")]
    days = sorted(d.astimezone(ZoneInfo("Asia/Shanghai")).date().isoformat() for d in closed)
    cover = openpyxl.load_workbook(io.BytesIO(content)).worksheets[0]
    assert cover["A2"].value == f"统计期间：{days[0]} 至 {days[-1]}（Asia/Shanghai）"
    assert cover["A3"].value == "生成时间：2026-12-03 10:00"
