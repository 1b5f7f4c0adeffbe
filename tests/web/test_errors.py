"""Bad input gets a clear error naming the field and the rule, in the reader's language."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from helpers import complaint_body, login, run
from kesu.complaint.models import Complaint
from kesu.i18n import LOCALES, catalogue
from web.console_helpers import sign_in


def test_a_missing_description_is_named_in_chinese_and_nothing_is_stored(client, org, sessions):
    headers = login(client, "receiver1")
    body = complaint_body(org)
    del body["description"]
    r = client.post(
        "/api/v1/complaints", json=body, headers={**headers, "Accept-Language": "zh-CN"}
    )
    assert r.status_code == 422
    problem = r.json()["error"]["problems"][0]
    assert problem["field"] == "body.description" and problem["rule"] == "missing"
    assert problem["message"] == "投诉内容：必填"
    with sessions() as s:
        assert s.query(Complaint).count() == 0


def test_a_too_long_title_is_explained_in_english(client, org):
    headers = login(client, "receiver1")
    body = complaint_body(org, title="长" * 201)
    r = client.post("/api/v1/complaints", json=body, headers={**headers, "Accept-Language": "en"})
    assert r.status_code == 422
    assert r.json()["error"]["message"] == "Title: at most 200 characters"


def test_an_empty_title_asks_for_at_least_one_character_in_good_english(client, org):
    headers = login(client, "receiver1")
    body = complaint_body(org, title="")
    r = client.post("/api/v1/complaints", json=body, headers={**headers, "Accept-Language": "en"})
    assert r.status_code == 422
    assert r.json()["error"]["message"] == "Title: at least 1 character"
    hant = {**headers, "Accept-Language": "zh-TW"}
    r = client.post("/api/v1/complaints", json=body, headers=hant)
    assert r.json()["error"]["message"] == "標題：至少 1 個字元"


def test_a_channel_the_pack_does_not_know_is_refused_naming_the_field(client, org):
    headers = login(client, "receiver1")
    r = client.post(
        "/api/v1/complaints", json=complaint_body(org, channel="pigeon"), headers=headers
    )
    assert r.status_code == 422
    err = r.json()["error"]
    assert err["field"] == "channel" and "pigeon" in err["message"] and "投诉渠道" in err["message"]


def test_a_complaint_that_happened_in_the_future_or_at_no_timezone_is_refused(
    client, org, sessions
):
    headers = {**login(client, "receiver1"), "Accept-Language": "zh-CN"}
    for when, said in (
        ("2026-11-27T10:00:00+08:00", "发生时间：不能晚于现在"),
        ("2026-11-20T10:00:00", "发生时间：必须带时区（如 2026-11-26T10:00:00+08:00）"),
    ):
        body = complaint_body(org, occurred_at=when)
        r = client.post("/api/v1/complaints", json=body, headers=headers)
        assert r.status_code == 422, when
        err = r.json()["error"]
        assert err["field"] == "occurred_at" and err["message"] == said
    with sessions() as s:
        assert s.query(Complaint).count() == 0
    body = complaint_body(org, occurred_at="2026-11-26T09:00:00+08:00")
    assert client.post("/api/v1/complaints", json=body, headers=headers).status_code == 201


def test_a_command_payload_error_names_the_payload_field(client, org):
    headers = login(client, "receiver1")
    cid = client.post("/api/v1/complaints", json=complaint_body(org), headers=headers).json()["id"]
    r = client.post(
        f"/api/v1/complaints/{cid}/commands/classify",
        json={"version": 1, "payload": {"classification": "angry", "reason": "x"}},
        headers={**headers, "Accept-Language": "zh-TW"},
    )
    assert r.status_code == 422
    problem = r.json()["error"]["problems"][0]
    assert problem["field"] == "payload.classification" and problem["rule"] == "literal_error"
    assert problem["message"].startswith("投訴性質：必須是以下之一")


def test_an_unknown_command_is_404(client, org):
    headers = login(client, "receiver1")
    cid = client.post("/api/v1/complaints", json=complaint_body(org), headers=headers).json()["id"]
    r = client.post(
        f"/api/v1/complaints/{cid}/commands/shred",
        json={"version": 1, "payload": {}},
        headers=headers,
    )
    assert r.status_code == 404


def test_without_a_token_the_api_asks_for_sign_in(client):
    r = client.get("/api/v1/complaints")
    assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"


def test_wrong_password_is_refused_without_saying_which_part_was_wrong(client):
    r = client.post("/api/v1/auth/login", json={"username": "receiver1", "password": "nope-nope"})
    assert r.status_code == 401
    assert r.json()["error"]["message"] == "用户名或密码错误"
    r = client.post("/api/v1/auth/login", json={"username": "ghost", "password": "nope-nope"})
    assert r.json()["error"]["message"] == "用户名或密码错误"


def test_a_revoked_session_no_longer_works(client):
    headers = login(client, "receiver1")
    assert client.get("/api/v1/me", headers=headers).status_code == 200
    assert client.post("/api/v1/auth/logout", headers=headers).status_code == 204
    assert client.get("/api/v1/me", headers=headers).status_code == 401


def test_health_answers_when_ready(client):
    r = client.get("/api/v1/health")
    assert r.status_code == 200 and r.json()["status"] == "ok"


def test_an_address_with_no_page_gets_a_page_in_the_readers_language_and_json_under_api(client):
    r = client.get("/complaints/1/nothing-here", headers={"Accept-Language": "zh-CN"})
    assert r.status_code == 404 and r.headers["content-type"].startswith("text/html")
    assert "找不到这个页面" in r.text and '"detail"' not in r.text
    r = client.get("/nothing-here?lang=en")
    assert r.status_code == 404 and "There is no such page" in r.text
    # under /api, Kesu's error body in the reader's language, like every other API error
    r = client.get("/api/v1/nothing-here", headers={"Accept-Language": "zh-CN"})
    assert r.status_code == 404
    assert r.json()["error"]["code"] == "kesu.not_found"
    assert r.json()["error"]["message"] == "没有这个接口：/api/v1/nothing-here"
    r = client.delete("/api/v1/health?lang=en")
    assert r.status_code == 405 and r.headers["allow"] == "GET"
    assert r.json()["error"]["message"] == "This address does not take DELETE requests"


def test_a_bad_report_period_names_the_report_in_the_readers_language(client, org):
    headers = login(client, "director")
    r = client.get("/api/v1/reports/weekly", params={"period": "bogus"}, headers=headers)
    assert r.status_code == 422
    assert r.json()["error"]["message"].startswith("“bogus”不是有效的周报期间")
    en = {**headers, "Accept-Language": "en"}
    r = client.get("/api/v1/reports/weekly", params={"period": "bogus"}, headers=en)
    assert r.json()["error"]["message"].startswith("'bogus' is not a period of the Weekly report")


def test_a_wrong_phone_says_what_a_phone_number_may_hold_and_full_width_digits_are_fine(
    client, org, sessions
):
    headers = login(client, "receiver1")
    body = complaint_body(org, complainant={"name": "林女士", "phone": "138-abc"})
    r = client.post("/api/v1/complaints", json=body, headers=headers)
    assert r.status_code == 422
    assert r.json()["error"]["message"] == "电话：应为 6 至 20 位数字，可含空格、连字符，开头可有 +"
    r = client.post("/api/v1/complaints", json=body, headers={**headers, "Accept-Language": "en"})
    assert r.json()["error"]["message"].startswith("Phone: 6 to 20 digits")
    body = complaint_body(
        org, complainant={"name": "林女士", "phone": "１３８　１２３４　５６７８"}
    )
    r = client.post("/api/v1/complaints", json=body, headers=headers)
    assert r.status_code == 201, r.text
    earlier = client.post("/api/v1/complaints", json=complaint_body(org), headers=headers).json()
    assert earlier["complainant_id"] == r.json()["complainant_id"]  # the same caller


def test_a_date_that_does_not_exist_is_named_with_its_rule_in_each_language(client, org):
    headers = login(client, "director")
    params = {"from": "2026-02-30", "to": "2026-03-31"}
    expected = {
        "zh-CN": "开始日期：必须是存在的日期（年-月-日，如 2026-11-26）",
        "zh-TW": "開始日期：必須是存在的日期（年-月-日，如 2026-11-26）",
        "en": "From: must be a real date (YYYY-MM-DD, e.g. 2026-11-26)",
    }
    for lang, message in expected.items():
        r = client.get(
            "/api/v1/reports/range", params=params, headers={**headers, "Accept-Language": lang}
        )
        assert r.status_code == 422 and r.json()["error"]["message"] == message


def test_a_choice_outside_the_list_reads_as_a_chinese_list(client, org):
    headers = login(client, "director")
    r = client.get("/api/v1/reports/weekly", params={"format": "docx"}, headers=headers)
    assert r.json()["error"]["message"] == "格式：必须是以下之一：'json'、'xlsx'、'pdf'、'csv'"


def test_a_console_page_with_a_bad_parameter_names_the_field_and_the_rule(client, org):
    from web.console_helpers import sign_in

    sign_in(client, "director")
    page = client.get(
        "/reports", params={"kind": "range", "from": "2026-02-30", "to": "2026-03-01"}
    )
    assert page.status_code == 422
    assert "开始日期：必须是存在的日期（年-月-日，如 2026-11-26）" in page.text


def test_a_filter_time_without_a_time_zone_is_a_422_naming_the_field_not_a_500(client, org):
    headers = {**login(client, "director"), "Accept-Language": "en"}
    for path, name in (
        ("/api/v1/complaints", "received_from"),
        ("/api/v1/register", "received_to"),
        ("/api/v1/cases", "closed_from"),
        ("/api/v1/cases/export", "closed_to"),
        ("/api/v1/sla/penalties", "since"),
    ):
        for value in ("2026-11-01", "2026-11-01T00:00:00"):
            r = client.get(path, params={name: value}, headers=headers)
            assert r.status_code == 422, (path, value, r.status_code)
            problem = r.json()["error"]["problems"][0]
            assert problem["field"] == f"query.{name}" and problem["rule"] == "timezone_aware"
            assert "must include a time zone" in problem["message"]
        ok = client.get(path, params={name: "2026-11-01T00:00:00+08:00"}, headers=headers)
        assert ok.status_code == 200, (path, ok.text)


def test_a_customer_language_kesu_does_not_speak_is_refused_naming_the_field(client, org, sessions):
    headers = {**login(client, "receiver1"), "Accept-Language": "zh-CN"}
    r = client.post("/api/v1/complaints", json=complaint_body(org, locale="fr"), headers=headers)
    assert r.status_code == 422
    problem = r.json()["error"]["problems"][0]
    assert problem["field"] == "body.locale" and problem["message"].startswith("客户语言：必须是")
    assert "zh_Hant" in problem["message"]
    with sessions() as s:
        assert s.query(Complaint).count() == 0
    r = client.post(
        "/api/v1/complaints", json=complaint_body(org, locale="zh_Hant"), headers=headers
    )
    assert r.status_code == 201 and r.json()["locale"] == "zh_Hant"
    cid = r.json()["id"]
    # on the first call the customer asks for English: messages from now on are in English
    contact = {"reached": True, "method": "phone", "locale": "fr"}
    r = run(client, headers, cid, "record_contact", contact)
    assert r.status_code == 422 and r.json()["error"]["problems"][0]["field"] == "payload.locale"
    r = run(client, headers, cid, "record_contact", {**contact, "locale": "en"})
    assert r.status_code == 200 and r.json()["locale"] == "en"


NEVER_NAMED = {
    "payload": "field_label skips it: an error names the command field inside it",
}
"""Request names that can never be the name an error shows, each with the reason."""


def _request_field_names(tmp_path) -> dict[str, set[str]]:
    """Every parameter and request-body property name of the API, with where it is used."""
    from kesu.clock import FrozenClock
    from kesu.complaint.commands import COMMANDS
    from kesu.improvement.schemas import PAYLOADS
    from kesu.settings import Settings
    from kesu.web.app import create_app

    settings = Settings(
        data_dir=tmp_path / "data", database_url=f"sqlite:///{tmp_path}/k.db", _env_file=None
    )
    app = create_app(settings, FrozenClock(datetime(2026, 11, 26, 10, 0, tzinfo=UTC)))
    spec = app.openapi()
    app.state.engine.dispose()
    names: dict[str, set[str]] = {}

    def walk(schema: Any, root: dict[str, Any], where: str, seen: frozenset[str]) -> None:
        if isinstance(schema, list):
            for s in schema:
                walk(s, root, where, seen)
            return
        if not isinstance(schema, dict):
            return
        ref = schema.get("$ref")
        if ref and ref not in seen:  # "#/components/schemas/X" or "#/$defs/X"
            target: Any = root
            for part in ref.lstrip("#/").split("/"):
                target = target[part]
            walk(target, root, where, seen | {ref})
        for name, sub in schema.get("properties", {}).items():
            names.setdefault(name, set()).add(where)
            walk(sub, root, where, seen)
        for key in ("items", "additionalProperties", "anyOf", "oneOf", "allOf"):
            walk(schema.get(key), root, where, seen)

    for path, operations in spec["paths"].items():
        for method, op in operations.items():
            where = f"{method.upper()} {path}"
            for p in op.get("parameters", []):
                names.setdefault(p["name"], set()).add(f"{where} ({p['in']})")
            for content in op.get("requestBody", {}).get("content", {}).values():
                walk(content.get("schema"), spec, where, frozenset())
    for kind, models in (("complaint", COMMANDS), ("improvement", PAYLOADS)):
        for command, model in models.items():
            schema = model.model_json_schema()
            walk(schema, schema, f"{kind} {command} payload", frozenset())
    return names


def test_every_field_a_request_can_get_wrong_has_a_label_in_every_language(tmp_path):
    """An error names the field by its label (`field.<name>`), never by its code name."""
    names = _request_field_names(tmp_path)
    # the walk reaches query, path and header parameters, bodies, and command payloads
    assert {"first_day", "closed_from", "day", "idempotency-key", "solution_type"} <= set(names)
    assert {"evidence", "complaint_ids"} <= set(names)
    for locale in LOCALES:
        texts = catalogue(locale)
        missing = {
            name: sorted(where)[0]
            for name, where in names.items()
            if f"field.{name}" not in texts and name not in NEVER_NAMED
        }
        assert missing == {}, locale


def test_a_date_out_of_range_in_a_pages_address_gets_a_page_not_a_server_error(client):
    """/forms/weekly/pdf?week=0001-01-01 was a 500 (the date, moved to UTC, fell before year 1
    inside the database driver), and ?week=9999-12-31 answered a console page in JSON."""
    sign_in(client, "director")
    for week in ("0001-01-01", "9999-12-31"):
        r = client.get(f"/forms/weekly/pdf?week={week}", headers={"Accept-Language": "zh-CN"})
        assert r.status_code == 422, (week, r.text[:300])
        assert r.headers["content-type"].startswith("text/html")
        assert "数值、日期或文本超出可保存的范围" in r.text


def test_a_complaint_for_a_site_that_is_not_yours_names_the_field(client, org):
    """It was a 404 naming no field, unlike every other value the intake checks."""
    headers = {**login(client, "receiver1"), "Accept-Language": "zh-CN"}
    r = client.post("/api/v1/complaints", json=complaint_body(org, site_id=987654), headers=headers)
    assert r.status_code == 422 and r.json()["error"]["field"] == "site_id"
    assert "987654" in r.json()["error"]["message"]


def test_a_field_is_named_for_what_it_means_where_it_was_sent(client, org):
    """`locale` is the customer's language on a complaint and the reader's own on /me/locale;
    `until` ends a delay on a complaint and a date range on /sla/penalties. Setting one's own
    language wrongly was answered "客户语言：…"."""
    headers = {**login(client, "receiver1"), "Accept-Language": "zh-CN"}
    mine = client.put("/api/v1/me/locale", json={"locale": "fr"}, headers=headers)
    assert mine.status_code == 422 and mine.json()["error"]["message"].startswith("语言：")
    body = complaint_body(org, locale="fr")
    theirs = client.post("/api/v1/complaints", json=body, headers=headers)
    assert theirs.status_code == 422
    assert theirs.json()["error"]["message"].startswith("客户语言：")
    r = client.get(
        "/api/v1/sla/penalties?until=tomorrow", headers={**headers, "Accept-Language": "en"}
    )
    assert r.status_code == 422 and r.json()["error"]["message"].startswith("Until: ")


def test_a_wrong_value_in_a_queues_address_is_named_in_words(client):
    """/?queue=team&department=abc answered "department：必须是整数" (the parameter's code)."""
    sign_in(client, "supervisor")
    r = client.get("/?queue=team&department=abc", headers={"Accept-Language": "zh-CN"})
    assert r.status_code == 422 and "部门：必须是整数" in r.text
    assert "department：" not in r.text


def test_a_number_too_large_for_the_database_in_an_address_is_named(client, org):
    """/complaints/18446744073709551616 and ?site_id= of the same answered "数值、日期或文本
    超出可保存的范围", naming no field."""
    headers = {**login(client, "receiver1"), "Accept-Language": "zh-CN"}
    huge = str(2**64)
    for url, field, label in (
        (f"/api/v1/complaints/{huge}", "complaint_id", "投诉"),
        (f"/api/v1/complaints?site_id={huge}", "site_id", "门店/站点"),
    ):
        r = client.get(url, headers=headers)
        assert r.status_code == 422, r.text
        error = r.json()["error"]
        assert error["field"] == field and error["message"].startswith(f"{label}：数值太大")
