"""The improvement loop through its doors: the staff console (complaint ↔ action pages, opening
an action from selected complaints, inspections, the management review) and the JSON API."""

from __future__ import annotations

import io
import re
from datetime import timedelta

import openpyxl
import pypdf
import pytest
from fastapi.testclient import TestClient

from improvement.loop import DONE, Loop, closed, club, investigated, table_complaint
from kesu.access import service as access_service
from kesu.access.models import User
from kesu.db.session import transaction
from scenarios.world import local
from web.console_helpers import csrf_of, post_form, sign_in

PASSWORD = "club-2026-secret"
THURSDAY_10 = local(2026, 11, 26, 10, 0)


@pytest.fixture
def loop(sessions, clock):
    clock.set(THURSDAY_10)
    return Loop(club(sessions, clock))


@pytest.fixture
def client(loop, settings):
    from kesu.web.app import create_app

    with transaction(loop.world.sessions) as session:
        for name in ("desk", "eq_head", "floor_head", "club_mgr"):
            user = session.get(User, loop.world.ids[name])
            access_service.reset_password(session, loop.world.clock, None, user, PASSWORD)
    app = create_app(settings, loop.world.clock)
    with TestClient(app) as c:
        yield c
    app.state.engine.dispose()


def _api(client, username: str) -> dict[str, str]:
    """Headers of a signed-in API caller reading English."""
    r = client.post("/api/v1/auth/login", json={"username": username, "password": PASSWORD})
    return {"Authorization": f"Bearer {r.json()['token']}", "Accept-Language": "en"}


def _number(loop: Loop, cid: int) -> str:
    return loop.world.complaint(cid).number


def test_the_console_shows_each_complaints_linked_actions_and_each_actions_complaints(loop, client):
    first, second = table_complaint(loop.world), table_complaint(loop.world, title="5号台不平")
    for cid in (first, second):
        investigated(loop.world, cid)
        closed(loop.world, cid)
    sign_in(client, "club_mgr", PASSWORD)
    assert (
        "/improvement/complaints?cause=material&amp;period=2026-11"
        in client.get("/improvement").text
    )

    # the complaints behind this month's 物 bar (closed this month), picked in a list
    listing = client.get("/improvement/complaints?cause=material&period=2026-11")
    assert _number(loop, first) in listing.text and _number(loop, second) in listing.text
    form = client.get(f"/improvement/new?complaint={first}&complaint={second}")
    assert 'value="material" selected' in form.text
    assert 'value="table_fault" selected' in form.text
    r = client.post(
        "/improvement/new",
        data={
            "csrf": csrf_of(form.text),
            "complaint_ids": [str(first), str(second)],
            "action_kind": "corrective",
            "cause_dimension": "material",
            "category": "table_fault",
            "title": "球桌故障整改",
            "problem": "两张球台台面不平。",
            "planned": "厂家校平，每日开店检查台面水平。",
            "owner_id": str(loop.world.ids["eq_head"]),
            "target_per_month": "1",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    action_url = r.headers["location"].split("?")[0]
    action_page = client.get(action_url)
    assert _number(loop, first) in action_page.text and _number(loop, second) in action_page.text
    assert f'href="/complaints/{first}"' in action_page.text
    number = re.search(r'class="number">(ZG\d+)<', action_page.text).group(1)

    complaint_page = client.get(f"/complaints/{first}")
    section = complaint_page.text.split('id="improvement"')[1].split("</section>")[0]
    assert number in section and f'href="{action_url}"' in section


def test_a_form_that_breaks_a_rule_comes_back_with_the_message_and_what_was_typed(loop, client):
    sign_in(client, "club_mgr", PASSWORD)
    r = post_form(
        client,
        "/improvement/new",
        "/improvement/new",
        {
            "cause_dimension": "material",
            "title": "照明整改",
            "problem": "灯光昏暗",
            "planned": "更换灯管",
            "owner_id": str(loop.world.ids["eq_head"]),
            "verifier_id": str(loop.world.ids["eq_head"]),
        },
    )
    assert r.status_code == 422
    assert "验证人不能是整改责任人本人" in r.text and 'value="照明整改"' in r.text
    r = post_form(client, "/improvement/new", "/improvement/new", {"title": "照明整改"})
    assert r.status_code == 422 and "必填" in r.text and "至少 1 个字符" not in r.text


@pytest.mark.parametrize(
    ("field", "typed", "message"),
    [
        ("target_per_month", "-1", "目标（每月不超过）：“-1”不是件数（0 或正整数）"),
        ("target_per_month", "3件", "目标（每月不超过）：“3件”不是件数（0 或正整数）"),
        ("due_at", "2026-02-30T18:00", "整改期限：“2026-02-30T18:00”不是有效的日期时间"),
    ],
)
def test_a_target_or_deadline_that_is_not_one_is_refused_not_dropped(
    loop, client, field, typed, message
):
    """A target typed as "-1" or "3件" used to open the action with no target at all, so its
    effect was never checked."""
    from kesu.improvement.models import CorrectiveAction

    sign_in(client, "club_mgr", PASSWORD)
    form = {
        "cause_dimension": "material",
        "title": "照明整改",
        "problem": "灯光昏暗",
        "planned": "更换灯管",
        "owner_id": str(loop.world.ids["eq_head"]),
        field: typed,
    }
    r = post_form(client, "/improvement/new", "/improvement/new", form)
    assert r.status_code == 422 and message in r.text
    with loop.world.sessions() as session:
        assert session.query(CorrectiveAction).count() == 0


@pytest.mark.parametrize(
    ("over", "message"),
    [
        ({"amount": "abc"}, "金额：必须是数字"),
        ({"amount": "-5"}, "金额：不能小于 0"),
        ({"measure": ""}, "内容/措施：必填"),
        ({"user_ids": None}, "员工：至少 1 项"),
        ({"occurred_on": "2026-02-30"}, "日期：“2026-02-30”不是有效的日期"),
        ({"occurred_on": ""}, "日期：必填"),
        ({"occurred_on": "2030-11-20"}, "日期：不能晚于现在"),  # a record of what was done
    ],
)
def test_a_training_or_discipline_record_names_the_field_that_is_wrong(loop, client, over, message):
    """Every problem used to read "日期：必填" (date required), whatever it was."""
    from kesu.improvement.models import Accountability

    sign_in(client, "club_mgr", PASSWORD)
    form = {
        "record_kind": "training",
        "user_ids": str(loop.world.ids["desk"]),
        "occurred_on": "2026-11-20",
        "measure": "服务规范培训",
        "back": "/improvement",
    }
    form = {k: v for k, v in {**form, **over}.items() if v is not None}
    r = post_form(client, "/improvement", "/improvement/accountability", form)
    assert r.status_code == 422 and message in r.text, r.text[-600:]
    with loop.world.sessions() as session:
        assert session.query(Accountability).count() == 0


def test_a_refused_training_record_comes_back_on_its_page_with_the_form_as_typed(loop, client):
    """A refused record ended on an error page whose only link went home, and what the manager
    had typed (the people ticked, the measure, the note) was lost."""
    cid = table_complaint(loop.world)
    investigated(loop.world, cid)
    aid = loop.open("club_mgr", complaint_ids=[cid])
    sign_in(client, "club_mgr", PASSWORD)
    desk, head = str(loop.world.ids["desk"]), str(loop.world.ids["eq_head"])
    for page, hidden in (
        (f"/improvement/actions/{aid}", {"action_id": str(aid)}),
        (f"/complaints/{cid}", {"complaint_id": str(cid)}),
    ):
        form = {
            **hidden,
            "back": page,
            "record_kind": "training",
            "user_ids": [desk, head],
            "occurred_on": "2026-11-20",
            "measure": "台面校平培训",
            "amount": "100",  # a training has no amount
            "note": "厂家讲师",
        }
        r = post_form(client, page, "/improvement/accountability", form)
        assert r.status_code == 422, page
        assert "金额：培训记录没有金额" in r.text
        refilled = r.text.split('id="accountability-form"')[1].split("</details>")[0]
        assert refilled.startswith(" open>")
        assert f'value="{desk}" checked' in refilled and f'value="{head}" checked' in refilled
        assert 'value="台面校平培训"' in refilled and ">厂家讲师</textarea>" in refilled
        assert '<option value="training" selected>' in refilled
        if "actions" in page:
            assert loop.action(aid).title in r.text  # the action's own page
        else:
            assert loop.world.complaint(cid).number in r.text


def test_the_owner_marks_the_action_done_in_the_console_and_its_page_shows_the_check_of_effect(
    loop, client
):
    cid = table_complaint(loop.world)
    investigated(loop.world, cid)
    aid = loop.open("eq_head", target_per_month=0, complaint_ids=[cid])
    sign_in(client, "eq_head", PASSWORD)
    page = f"/improvement/actions/{aid}"
    assert 'id="action-implement"' in client.get(page).text
    assert 'id="action-confirm"' not in client.get(page).text  # the owner does not verify
    r = post_form(
        client,
        page,
        f"{page}/commands/implement",
        {"version": "1", "actions_taken": DONE["actions_taken"], "evidence": "维修单 WX-1126"},
    )
    assert r.status_code == 303
    assert "维修单 WX-1126" in client.get(page).text

    loop.world.clock.set(local(2026, 12, 10, 12, 0))
    investigated(loop.world, table_complaint(loop.world, title="8号台又不平了"))
    loop.at(local(2026, 12, 26, 10, 0))
    sign_in(client, "eq_head", PASSWORD)  # a month later: yesterday's session has expired
    shown = client.get(page).text
    assert "未达目标" in shown
    assert re.search(r"<td data-count>1</td><td>≤ 0</td>", shown)
    assert "2026-11-26 – 2026-12-26" in shown


def test_a_stale_page_gets_a_conflict_and_changes_nothing(loop, client):
    aid = loop.open("eq_head")
    sign_in(client, "eq_head", PASSWORD)
    page = client.get(f"/improvement/actions/{aid}")
    loop.run("eq_head", aid, "progress", {"text": "已联系厂家。"})
    r = client.post(
        f"/improvement/actions/{aid}/commands/start",
        data={"csrf": csrf_of(page.text), "version": "1"},
        follow_redirects=False,
    )
    assert r.status_code == 409
    assert loop.action(aid).state == "open"


def test_a_command_sent_twice_is_done_once(loop, client):
    aid = loop.open("eq_head")
    sign_in(client, "eq_head", PASSWORD)
    page = client.get(f"/improvement/actions/{aid}")
    for _ in range(2):  # a second click finds the version moved on by the first
        r = client.post(
            f"/improvement/actions/{aid}/commands/start",
            data={"csrf": csrf_of(page.text), "version": "1"},
            follow_redirects=False,
        )
        assert r.status_code == 303
    assert loop.action(aid).state == "in_progress" and loop.action(aid).version == 2


def test_the_api_opens_an_action_lists_it_by_complaint_and_refuses_a_handler(loop, client):
    cid = table_complaint(loop.world)
    investigated(loop.world, cid)
    head = _api(client, "eq_head")
    body = {
        "title": "Table levelling",
        "problem": "Table 8 is not level.",
        "cause_dimension": "material",
        "category": "table_fault",
        "planned": "Level it; check levels every morning.",
        "owner_id": loop.world.ids["eq_head"],
        "complaint_ids": [cid],
        "target_per_month": 0,
    }
    r = client.post("/api/v1/improvement/actions", json=body, headers=head)
    assert r.status_code == 201, r.text
    action = r.json()
    assert action["source"] == "complaint" and action["complaint_ids"] == [cid]
    assert action["allowed"][:2] == ["start", "progress"] and "confirm" not in action["allowed"]

    listed = client.get(f"/api/v1/improvement/actions?complaint_id={cid}", headers=head).json()
    assert [a["number"] for a in listed] == [action["number"]]

    stale = client.post(
        f"/api/v1/improvement/actions/{action['id']}/commands/start",
        json={"version": 7, "payload": {}},
        headers=head,
    )
    assert stale.status_code == 409

    desk_head = _api(client, "desk")
    refused = client.post("/api/v1/improvement/actions", json=body, headers=desk_head)
    assert refused.status_code == 403
    # the roles by their names in the reader's language, not the pack's keys
    message = refused.json()["error"]["message"]
    assert message == "Only these roles may do this: Club manager, Department head"
    sign_in(client, "desk", PASSWORD)
    page = client.get("/improvement/new")
    assert page.status_code == 403
    assert "只有以下角色可以执行此操作：俱乐部经理、部门主管" in page.text


def test_an_inspection_is_issued_recorded_in_the_console_and_a_failed_item_opens_a_preventive_action(  # noqa: E501
    loop, client
):
    # the daily table check falls due at 10:00; the clock is 10:00 on Thursday: next is Friday
    loop.sweep()
    loop.at(local(2026, 11, 27, 10, 0))
    issued = [i for i in loop.inspections() if i.checklist == "tables_daily"]
    assert len(issued) == 1 and issued[0].due_at == local(2026, 11, 27, 12, 0)
    assert loop.messages("improvement_inspection_due") == ["desk", "desk2", "eq_head", "floor_head"]

    sign_in(client, "desk", PASSWORD)
    page = f"/improvement/inspections/{issued[0].id}"
    results = {f"item.{k}": "ok" for k in ("table_level", "cushions", "pockets", "cues", "balls")}
    r = post_form(
        client,
        page,
        page,
        {**results, "item.cloth": "failed", "finding.cloth": "6号台台呢有破洞"},
    )
    assert r.status_code == 303
    assert loop.messages("improvement_inspection_failed") == ["eq_head", "floor_head"]

    sign_in(client, "eq_head", PASSWORD)
    owner = str(loop.world.ids["eq_head"])
    r = post_form(client, page, f"{page}/items/cloth/action", {"owner_id": owner, "planned": ""})
    assert r.status_code == 422 and "整改措施：必填" in r.text  # was a 500
    r = post_form(
        client,
        page,
        f"{page}/items/cloth/action",
        {"owner_id": owner, "planned": "更换6号台台呢。"},
    )
    assert r.status_code == 303
    action = client.get(r.headers["location"]).text
    assert "预防措施" in action and "6号台台呢有破洞" in action and "检查发现" in action

    loop.at(local(2026, 11, 28, 12, 0))  # Saturday's check was never recorded
    missed = [i for i in loop.inspections() if i.state == "missed"]
    assert [i.scheduled_for for i in missed] == [local(2026, 11, 28, 10, 0)]
    assert loop.messages("improvement_inspection_missed") == ["eq_head", "floor_head"]


def test_the_quarterly_management_review_shows_the_loop_and_prints_as_pdf_and_excel(loop, client):
    cid = table_complaint(loop.world)
    investigated(loop.world, cid)
    aid = loop.open("club_mgr", complaint_ids=[cid], target_per_month=1)
    loop.at(local(2026, 12, 4, 0, 0) + timedelta(minutes=1))  # overdue
    loop.run("eq_head", aid, "implement", DONE)
    sign_in(client, "club_mgr", PASSWORD)

    html = client.get("/improvement/review?quarter=2026-Q4")
    assert html.status_code == 200
    assert "投诉管理评审 2026-Q4" in html.text and "反复出现的原因" in html.text
    summary = html.text.split('id="review-summary"')[1].split("</section>")[0]
    assert re.search(r"<td>超期</td><td>1</td>", summary)

    pdf = client.get("/improvement/review.pdf?quarter=2026-Q4")
    assert pdf.headers["content-type"] == "application/pdf"
    text = "".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(pdf.content)).pages)
    assert "投诉管理评审" in text and "球桌定期校平" in text

    xlsx = client.get("/improvement/review.xlsx?quarter=2026-Q4")
    book = openpyxl.load_workbook(io.BytesIO(xlsx.content))
    cells = [c.value for ws in book.worksheets for row in ws.iter_rows() for c in row]
    assert loop.action(aid).number in cells

    sign_in(client, "desk", PASSWORD)
    assert client.get("/improvement/review?quarter=2026-Q4").status_code == 403


def test_the_review_form_sent_with_an_empty_quarter_shows_the_last_complete_one(loop, client):
    sign_in(client, "club_mgr", PASSWORD)
    page = client.get("/improvement/review", params={"quarter": ""})
    assert page.status_code == 200 and "2026-Q3" in page.text


def test_a_quarter_not_begun_or_mistyped_is_refused_on_the_review_page_with_its_box(loop, client):
    """2027-Q1 (today is 26 November 2026) was a review of zeros that read like a quiet
    quarter, with PDF and Excel links; a mistyped quarter ended on an error page whose only link
    went home."""
    sign_in(client, "club_mgr", PASSWORD)
    future = client.get("/improvement/review", params={"quarter": "2027-Q1"})
    assert future.status_code == 422
    assert "“2027-Q1”尚未开始（今天是 2026-11-26），没有可统计的数据" in future.text
    assert 'name="quarter" value="2027-Q1"' in future.text
    assert "/improvement/review.pdf" not in future.text and 'id="review-summary"' not in future.text
    assert client.get("/improvement/review.pdf", params={"quarter": "2027-Q1"}).status_code == 422
    typo = client.get("/improvement/review", params={"quarter": "2026-Q5", "lang": "en"})
    assert typo.status_code == 422 and 'name="quarter" value="2026-Q5"' in typo.text
    assert "is not a quarter (e.g. 2026-Q4)" in typo.text and 'id="review-summary"' not in typo.text
    api = client.get("/api/v1/improvement/review?quarter=2027-Q1", headers=_api(client, "club_mgr"))
    assert api.status_code == 422 and api.json()["error"]["field"] == "quarter"
    assert client.get("/improvement/review", params={"quarter": "2026-Q4"}).status_code == 200


def test_a_bar_of_the_reports_cause_pareto_opens_an_action_with_its_cause_and_period(loop, client):
    cid = table_complaint(loop.world)
    investigated(loop.world, cid)
    closed(loop.world, cid)
    sign_in(client, "club_mgr", PASSWORD)
    reports = client.get("/reports?kind=monthly&period=2026-11").text
    link = "/improvement/new?cause=material&amp;period=2026-11"
    assert link in reports.split('id="section-pareto_causes"')[1].split("</section>")[0]

    form = client.get(link.replace("&amp;", "&"))
    assert 'value="material" selected' in form.text and 'value="2026-11"' in form.text
    r = client.post(
        "/improvement/new",
        data={
            "csrf": csrf_of(form.text),
            "period": "2026-11",
            "action_kind": "preventive",
            "cause_dimension": "material",
            "title": "设备老化排查",
            "problem": "11 月投诉原因中“物”居首。",
            "planned": "全面排查球台与球具，列出更换计划。",
            "owner_id": str(loop.world.ids["eq_head"]),
        },
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    assert "排列图" in client.get(r.headers["location"]).text  # the source: a Pareto chart


def test_the_reports_pareto_offers_opening_an_action_only_to_those_who_may(loop, client):
    cid = table_complaint(loop.world)
    investigated(loop.world, cid)
    closed(loop.world, cid)
    sign_in(client, "desk", PASSWORD)
    reports = client.get("/reports?kind=monthly&period=2026-11")
    assert reports.status_code == 200
    pareto = reports.text.split('id="section-pareto_causes"')[1].split("</section>")[0]
    assert "物" in pareto and "/improvement/new" not in pareto
    assert client.get("/improvement/new?cause=material&period=2026-11").status_code == 403


def _submission(html: str, action: str) -> str:
    """The hidden submission id of the form posting to `action` on a page."""
    form = html.split(f'action="{action}"')[1].split("</form>")[0]
    return form.split('name="submission" value="')[1].split('"')[0]


def test_an_action_or_accountability_form_sent_twice_makes_one(loop, client):
    """A second click (or a browser's resend) on 整改立项 or on a training record used to
    open a second action or write every record twice; the same form changed after going back
    to it is a new submission."""
    from kesu.improvement.models import Accountability, CorrectiveAction

    cid = table_complaint(loop.world)
    investigated(loop.world, cid)
    sign_in(client, "club_mgr", PASSWORD)
    page = client.get(f"/improvement/new?complaint={cid}").text
    form = {
        "csrf": csrf_of(page),
        "submission": _submission(page, "/improvement/new"),
        "complaint_ids": str(cid),
        "action_kind": "corrective",
        "cause_dimension": "material",
        "title": "球桌故障整改",
        "problem": "8号台台面不平。",
        "planned": "厂家校平。",
        "owner_id": str(loop.world.ids["eq_head"]),
    }
    first, again = (
        client.post("/improvement/new", data=form, follow_redirects=False) for _ in range(2)
    )
    assert first.status_code == again.status_code == 303
    assert first.headers["location"] == again.headers["location"]
    with loop.world.sessions() as session:
        assert session.query(CorrectiveAction).count() == 1
    changed = client.post(
        "/improvement/new", data={**form, "title": "照明整改"}, follow_redirects=False
    )
    assert changed.status_code == 303 and changed.headers["location"] != first.headers["location"]

    action_url = first.headers["location"].split("?")[0]
    page = client.get(action_url).text
    record = {
        "csrf": csrf_of(page),
        "submission": _submission(page, "/improvement/accountability"),
        "record_kind": "training",
        "user_ids": [str(loop.world.ids["desk"]), str(loop.world.ids["eq_head"])],
        "action_id": action_url.rsplit("/", 1)[1],
        "occurred_on": "2026-11-25",
        "measure": "球台日检培训",
        "back": action_url,
    }
    for _ in range(2):
        r = client.post("/improvement/accountability", data=record, follow_redirects=False)
        assert r.status_code == 303
    with loop.world.sessions() as session:
        assert session.query(Accountability).count() == 2  # one per person, once
    assert client.get(action_url).text.count("球台日检培训") >= 1


def test_an_inspection_or_its_preventive_action_sent_twice_is_kept_once(loop, client):
    from kesu.improvement.models import CorrectiveAction

    loop.sweep()
    loop.at(local(2026, 11, 27, 10, 0))
    issued = next(i for i in loop.inspections() if i.checklist == "tables_daily")
    page = f"/improvement/inspections/{issued.id}"
    sign_in(client, "desk", PASSWORD)
    results = {f"item.{k}": "ok" for k in ("table_level", "cushions", "pockets", "cues", "balls")}
    results |= {"item.cloth": "failed", "finding.cloth": "6号台台呢有破洞"}
    token = csrf_of(client.get(page).text)
    for _ in range(2):  # was "already recorded" on the second click
        r = client.post(page, data={"csrf": token, **results}, follow_redirects=False)
        assert r.status_code == 303
    assert loop.messages("improvement_inspection_failed") == ["eq_head", "floor_head"]
    other = client.post(
        page, data={"csrf": token, **results, "finding.cloth": "台呢起球"}, follow_redirects=False
    )
    assert other.status_code == 422 and "此项检查已经记录过" in other.text  # another record

    sign_in(client, "eq_head", PASSWORD)
    html = client.get(page).text
    target = f"{page}/items/cloth/action"
    form = {
        "csrf": csrf_of(html),
        "submission": _submission(html, target),
        "owner_id": str(loop.world.ids["eq_head"]),
        "planned": "更换6号台台呢。",
    }
    first, again = (client.post(target, data=form, follow_redirects=False) for _ in range(2))
    assert first.status_code == again.status_code == 303
    assert first.headers["location"] == again.headers["location"]
    with loop.world.sessions() as session:
        assert session.query(CorrectiveAction).count() == 1


def test_the_api_answers_a_retried_action_or_record_with_what_it_made(loop, client):
    head = _api(client, "club_mgr")
    body = {
        "title": "Table levelling",
        "problem": "Table 8 is not level.",
        "cause_dimension": "material",
        "planned": "Level it; check levels every morning.",
        "owner_id": loop.world.ids["eq_head"],
    }
    keyed = {**head, "Idempotency-Key": "erp-action-1"}
    first = client.post("/api/v1/improvement/actions", json=body, headers=keyed)
    again = client.post("/api/v1/improvement/actions", json=body, headers=keyed)
    assert first.status_code == again.status_code == 201
    assert again.json()["id"] == first.json()["id"]
    assert (
        again.headers["Idempotent-Replayed"] == "true"
        and "Idempotent-Replayed" not in first.headers
    )
    reused = client.post(
        "/api/v1/improvement/actions", json={**body, "title": "Lights"}, headers=keyed
    )
    assert reused.status_code == 422 and "Idempotency-Key" in reused.json()["error"]["message"]
    assert len(client.get("/api/v1/improvement/actions?tab=all", headers=head).json()) == 1

    record = {
        "record_kind": "training",
        "user_ids": [loop.world.ids["desk"]],
        "occurred_on": "2026-11-25",
        "measure": "Table checks",
    }
    keyed = {**head, "Idempotency-Key": "erp-training-1"}
    rows = [
        client.post("/api/v1/improvement/accountability", json=record, headers=keyed)
        for _ in range(2)
    ]
    assert [r.status_code for r in rows] == [201, 201]
    assert rows[0].json() == rows[1].json()
    listed = client.get("/api/v1/improvement/accountability", headers=head).json()
    assert len(listed) == 1
