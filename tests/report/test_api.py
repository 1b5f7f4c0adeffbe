"""Reports, the case library and ledger import over the HTTP API, for whoever's node covers
the organisation asked about."""

from __future__ import annotations

from datetime import UTC, datetime

from helpers import login
from kesu.access import service as access_service
from kesu.clock import FrozenClock
from kesu.db.session import transaction
from kesu.demo import PASSWORD
from report import dataset


def _load(sessions, org, count=300):
    with transaction(sessions) as session:
        dataset.load(session, org, count=count)


def test_a_report_comes_as_json_or_as_a_file_download(client, sessions, org):
    _load(sessions, org)
    director = login(client, "director")
    r = client.get(
        "/api/v1/reports/monthly", params={"org": "HX", "period": "2025-06"}, headers=director
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["title"] == "华夏家居集团 投诉月报（2025-06）"
    assert [s["key"] for s in body["sections"]][:2] == ["summary", "by_level"]
    r = client.get(
        "/api/v1/reports/weekly",
        params={"period": "2025-W23", "format": "xlsx"},
        headers={**director, "Accept-Language": "en"},
    )
    assert r.status_code == 200
    assert r.headers["content-disposition"] == 'attachment; filename="kesu-weekly-HX-2025-W23.xlsx"'
    assert r.content[:2] == b"PK"


def test_a_region_manager_sees_the_region_but_not_head_office(client, sessions, org):
    _load(sessions, org)
    with transaction(sessions) as session:
        access_service.add_user(
            session,
            FrozenClock(datetime(2026, 11, 26, tzinfo=UTC)),
            username="east",
            display_name="华东经理",
            role="supervisor",
            org_id=org["EAST"],
            password=PASSWORD,
        )
    east = login(client, "east")
    own = client.get("/api/v1/reports/annual", params={"period": "2025"}, headers=east)
    assert own.status_code == 200 and own.json()["org_code"] == "EAST"
    other = client.get(
        "/api/v1/reports/annual", params={"period": "2025", "org": "HX"}, headers=east
    )
    assert other.status_code == 403
    bad = client.get("/api/v1/reports/monthly", params={"period": "11/2026"}, headers=east)
    assert bad.status_code == 422 and "11/2026" in bad.json()["error"]["message"]


def test_the_case_library_and_a_ledger_dry_run_over_http(client, sessions, org):
    director = login(client, "director")
    ledger = (
        "编号,投诉日期,客户姓名,联系电话,投诉内容,状态,结案日期,处理结果\r\n"
        "A-1,2025-04-01 10:00,林女士,138 1234 5678,沙发坐垫塌陷,已结,2025-04-03,更换坐垫\r\n"
        "A-2,2025-04-31,王先生,139 0000 1111,桌面划痕,未结,,\r\n"
    ).encode("utf-8-sig")
    files = {"file": ("登记表.csv", ledger, "text/csv")}
    dry = client.post(
        "/api/v1/ledger/imports", data={"org": "SH-NJ"}, files=files, headers=director
    )
    assert dry.status_code == 200, dry.text
    out = dry.json()
    assert out["dry_run"] and out["ready"] == 1 and out["bad"] == 1
    assert (
        out["rows"][0]["problems"][0]["message"] == "第 3 行 B 投诉日期：无法识别的日期“2025-04-31”"
    )
    done = client.post(
        "/api/v1/ledger/imports",
        data={"org": "SH-NJ", "dry_run": "false"},
        files=files,
        headers=director,
    )
    assert done.json()["imported"] == 1
    found = client.get("/api/v1/cases", params={"q": "塌陷"}, headers=director).json()["items"]
    assert [c["title"] for c in found] == ["沙发坐垫塌陷"] and found[0]["imported"]
    assert found[0]["solution"] == "更换坐垫"
    # the complaint list says which came from the ledger, under its own number
    listed = client.get("/api/v1/complaints", params={"q": "塌陷"}, headers=director).json()
    assert [(c["imported"], c["original_number"]) for c in listed["items"]] == [(True, "A-1")]
    sheet = client.get(
        "/api/v1/cases/export", params={"q": "塌陷", "format": "csv"}, headers=director
    )
    assert sheet.status_code == 200 and "沙发坐垫塌陷" in sheet.content.decode("utf-8-sig")


def test_a_wrong_period_is_explained_in_the_readers_language_with_how_to_write_it(client, org):
    director = login(client, "director")
    expected = {
        ("weekly", "zh-CN"): "“2026-11”不是有效的周报期间，应写作 2026-W47 这样的格式",
        ("monthly", "zh-TW"): "「2026-13」不是有效的月報期間，應寫作 2026-11 這樣的格式",
        ("annual", "en"): "'26' is not a period of the Annual report: write it like 2026",
    }
    for (kind, lang), message in expected.items():
        period = message.split("不是")[0].strip("“”「」") if lang != "en" else "26"
        r = client.get(
            f"/api/v1/reports/{kind}",
            params={"period": period},
            headers={**director, "Accept-Language": lang},
        )
        error = r.json()["error"]
        assert r.status_code == 422 and error["field"] == "period"
        assert error["message"] == message


def test_a_period_that_has_not_begun_is_refused_not_reported_as_zeros(client, org):
    """Today is 26 November 2026: this year and this month may be reported so far, next month
    and a range starting tomorrow not (their report would read like a quiet month)."""
    director = login(client, "director")
    assert client.get("/api/v1/reports/monthly?period=2026-11", headers=director).status_code == 200
    assert client.get("/api/v1/reports/annual?period=2026", headers=director).status_code == 200
    r = client.get("/api/v1/reports/monthly?period=2026-12", headers=director)
    assert r.status_code == 422
    assert r.json()["error"]["field"] == "period"
    assert (
        r.json()["error"]["message"] == "“2026-12”尚未开始（今天是 2026-11-26），没有可统计的数据"
    )
    r = client.get(
        "/api/v1/reports/range",
        params={"from": "2026-11-27", "to": "2026-11-30"},
        headers={**director, "Accept-Language": "en"},
    )
    assert r.status_code == 422 and r.json()["error"]["field"] == "from"
    assert r.json()["error"]["message"].endswith(
        "has not begun yet (today is 2026-11-26): there is nothing to report"
    )


def test_the_monthly_staff_review_is_for_management_not_the_front_line_it_reviews(
    client, sessions, org
):
    """Each person's penalties and the complaints about them: a T1 receiver (or the clerk a
    complaint is about) read everyone's. Managers and the offices (the archivist) still do."""
    from web.console_helpers import sign_in

    _load(sessions, org)
    url, params = "/api/v1/reports/staff_review", {"org": "HX", "period": "2025-06"}
    for reader, status in (
        ("receiver1", 403),
        ("clerk", 403),
        ("supervisor", 200),
        ("archivist", 200),
    ):
        headers = {**login(client, reader), "Accept-Language": "zh-CN"}
        r = client.get(url, params=params, headers=headers)
        assert r.status_code == status, (reader, r.text[:200])
        if status == 403:
            assert "月度人员考核只供管理层和职能部门查看" in r.json()["error"]["message"]
    client.headers.pop("Authorization", None)
    sign_in(client, "receiver1")
    page = client.get("/reports").text
    assert 'value="staff_review"' not in page and 'value="monthly"' in page
    r = client.get("/reports/download?kind=staff_review&period=2025-06&format=csv")
    assert r.status_code == 403
