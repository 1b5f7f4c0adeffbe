"""Illegal commands through the API are refused with a clear message and change nothing."""

from __future__ import annotations

import pytest

from helpers import complaint_body, login, run


@pytest.fixture
def case(client, org):
    headers = login(client, "receiver1")
    r = client.post("/api/v1/complaints", json=complaint_body(org), headers=headers)
    return r.json()["id"], headers


def _snapshot(client, headers, cid):
    d = client.get(f"/api/v1/complaints/{cid}", headers=headers).json()
    return d["version"], d["state"], len(d["timeline"])


def test_closing_an_unresolved_complaint_is_refused_and_changes_nothing(client, case):
    cid, receiver = case
    before = _snapshot(client, receiver, cid)
    r = run(client, login(client, "archivist"), cid, "close", {"summary": "想直接结案"})
    assert r.status_code == 409
    assert "不能结案" in r.json()["error"]["message"]
    assert _snapshot(client, receiver, cid) == before


def test_the_person_complained_about_cannot_see_or_act_on_the_case(client, org):
    receiver = login(client, "receiver1")
    me = client.get("/api/v1/users", headers=receiver).json()
    clerk_id = next(u["id"] for u in me if u["username"] == "clerk")
    body = complaint_body(org, category="store_attitude", staff_complained_id=clerk_id)
    cid = client.post("/api/v1/complaints", json=body, headers=receiver).json()["id"]
    before = _snapshot(client, receiver, cid)
    clerk = login(client, "clerk")
    r = client.post(
        f"/api/v1/complaints/{cid}/commands/note",
        json={"version": before[0], "payload": {"text": "我没有态度问题"}},
        headers=clerk,
    )
    assert r.status_code == 404
    assert client.get(f"/api/v1/complaints/{cid}", headers=clerk).status_code == 404
    listed = client.get("/api/v1/complaints", headers=clerk).json()["items"]
    assert cid not in [c["id"] for c in listed]
    assert _snapshot(client, receiver, cid) == before


def test_the_person_complained_about_cannot_register_a_complaint_about_themselves(client, org):
    clerk = login(client, "clerk")
    users = client.get("/api/v1/users", headers=clerk).json()
    clerk_id = next(u["id"] for u in users if u["username"] == "clerk")
    body = complaint_body(org, staff_complained_id=clerk_id)
    assert client.post("/api/v1/complaints", json=body, headers=clerk).status_code == 403


def test_a_handler_of_the_wrong_tier_is_refused_and_nothing_changes(client, case):
    cid, receiver = case
    supervisor = login(client, "supervisor")
    assert (
        run(
            client, receiver, cid, "classify", {"classification": "valid", "reason": "属实"}
        ).status_code
        == 200
    )
    assert run(client, supervisor, cid, "categorize", {"level": "L2"}).status_code == 200
    before = _snapshot(client, receiver, cid)
    r = run(
        client,
        receiver,
        cid,
        "record_investigation",
        {
            "findings": "已核实",
            "root_causes": ["people"],
            "responsibility": [{"party": "门店", "share": 100}],
            "founded": True,
        },
    )
    assert r.status_code == 403
    assert "T2" in r.json()["error"]["message"]
    assert _snapshot(client, receiver, cid) == before


def test_a_role_without_the_command_is_refused(client, case):
    cid, _ = case
    archivist = login(client, "archivist")
    r = run(client, archivist, cid, "acknowledge")
    assert r.status_code == 403
    assert r.json()["error"]["message"] == "您的角色（事务文员）无权执行「确认受理」"


def test_a_command_out_of_its_state_is_refused_in_words_not_codes(client, case):
    cid, _ = case
    director = login(client, "director")
    r = run(client, director, cid, "approve_solution")
    assert r.status_code == 409
    assert r.json()["error"]["message"] == "当前状态（新登记）下不能执行「批准方案」"
    r = client.post(
        f"/api/v1/complaints/{cid}/commands/approve_solution?lang=en",
        json={"version": 1, "payload": {}},
        headers=director,
    )
    assert r.json()["error"]["message"] == "'Approve solution' is not allowed in state New"
    r = run(client, login(client, "archivist"), cid, "close", {"summary": "想直接结案"})
    assert "（当前状态：新登记）" in r.json()["error"]["message"]


def test_closing_and_escalating_refusals_name_roles_and_levels_in_words(client, case):
    cid, _ = case
    director = login(client, "director")
    r = run(client, director, cid, "close", {"summary": "结案"})
    assert r.status_code == 403
    assert r.json()["error"]["message"] == "只有以下角色可以结案归档：事务文员"
    assert run(client, director, cid, "categorize", {"level": "L3"}).status_code == 200
    r = run(client, director, cid, "escalate", {"reason": "再升一级"})
    assert r.status_code == 409
    assert r.json()["error"]["message"] == "已是最高级别（三级（极严重投诉）），无法再升级"


def test_assigning_to_someone_below_the_complaints_tier_is_refused(client, case):
    cid, _ = case
    supervisor = login(client, "supervisor")
    users = client.get("/api/v1/users", headers=supervisor).json()
    receiver2 = next(u["id"] for u in users if u["username"] == "receiver2")
    assert run(client, supervisor, cid, "categorize", {"level": "L2"}).status_code == 200
    r = run(client, supervisor, cid, "assign", {"assignee_id": receiver2})
    assert r.status_code == 422 and r.json()["error"]["field"] == "assignee_id"


def test_transferring_to_someone_below_the_complaints_tier_is_refused(client, case, org):
    cid, _ = case
    supervisor = login(client, "supervisor")
    users = client.get("/api/v1/users", headers=supervisor).json()
    receiver3 = next(u["id"] for u in users if u["username"] == "receiver3")
    assert run(client, supervisor, cid, "categorize", {"level": "L2"}).status_code == 200
    payload = {"to_department_id": org["LOG"], "to_user_id": receiver3, "reason": "物流问题"}
    r = run(client, supervisor, cid, "transfer", payload)
    assert r.status_code == 422 and r.json()["error"]["field"] == "to_user_id"
    assert (
        client.get(f"/api/v1/complaints/{cid}", headers=supervisor).json()["pending_transfer"]
        is None
    )


def test_a_transfer_waits_for_the_receiving_department(client, case, org):
    cid, receiver = case
    r = run(
        client, receiver, cid, "transfer", {"to_department_id": org["LOG"], "reason": "物流问题"}
    )
    assert r.status_code == 200 and r.json()["department_id"] == org["CS"]
    assert run(client, receiver, cid, "accept_transfer").status_code == 403
    logistics = login(client, "receiver3")
    r = run(client, logistics, cid, "accept_transfer", {"comment": "已接收"})
    assert r.status_code == 200
    assert r.json()["department_id"] == org["LOG"] and r.json()["pending_transfer"] is None


def test_a_transfer_sent_to_the_wrong_desk_is_withdrawn_and_sent_again(client, case, org):
    cid, receiver = case
    wrong = {"to_department_id": org["LOG"], "reason": "选错部门"}
    assert run(client, receiver, cid, "transfer", wrong).status_code == 200
    r = run(client, login(client, "receiver3"), cid, "withdraw_transfer")
    assert r.status_code == 403 and r.json()["error"]["message"] == (
        "只有发起转交的人或本投诉的处理人可以撤回此转交"
    )
    r = run(client, receiver, cid, "withdraw_transfer", {"comment": "选错了"})
    assert r.status_code == 200 and r.json()["pending_transfer"] is None
    assert r.json()["department_id"] == org["CS"]
    again = {"to_department_id": org["LOG"], "reason": "属物流问题", "to_user_id": None}
    assert run(client, receiver, cid, "transfer", again).status_code == 200


def test_a_transfer_to_a_department_nobody_there_could_accept_is_refused(client, case, org):
    """It used to wait for good: only the receiving side may accept or decline, and 质量管理部
    has no staff to do either."""
    cid, receiver = case
    before = _snapshot(client, receiver, cid)
    r = run(client, receiver, cid, "transfer", {"to_department_id": org["QA"], "reason": "质量"})
    assert r.status_code == 422 and r.json()["error"]["field"] == "to_department_id"
    assert r.json()["error"]["message"] == (
        "接收部门：该部门没有可以接手的在职员工（本投诉须由一级受理人或以上处理）"
    )
    assert _snapshot(client, receiver, cid) == before


def test_a_tier_refusal_names_the_tiers_in_words(client, case, org):
    cid, receiver = case
    supervisor = login(client, "supervisor")
    assert run(client, supervisor, cid, "categorize", {"level": "L2"}).status_code == 200
    r = run(client, receiver, cid, "categorize", {"level": "L1", "reason": "不严重"})
    assert r.status_code == 403
    message = r.json()["error"]["message"]
    assert message == "此操作需要二级受理人（T2）及以上级别的处理人（您的级别：一级受理人）"
    users = client.get("/api/v1/users", headers=supervisor).json()
    receiver2 = next(u["id"] for u in users if u["username"] == "receiver2")
    r = run(client, supervisor, cid, "assign", {"assignee_id": receiver2})
    assert r.json()["error"]["message"] == "处理人：此人的级别低于本投诉要求的二级受理人（T2）"


def _other_group(sessions, clock) -> tuple[int, int]:
    """A second organisation on the same pack (the same role keys): its department and its
    manager, whose ids mean nothing to the first."""
    from kesu.access import service as access_service
    from kesu.db.session import transaction
    from kesu.org import service as org_service

    with transaction(sessions) as s:
        group = org_service.create(
            s, clock, kind="group", code="HY", name="华裕", pack_key="franchise-sales-center"
        )
        dept = org_service.create(
            s, clock, kind="department", code="HY-CS", name="华裕客服部", parent_id=group.id
        )
        manager = access_service.add_user(
            s,
            clock,
            username="hy.manager",
            display_name="华裕经理",
            role="supervisor",
            org_id=group.id,
            department_id=dept.id,
        )
        return dept.id, manager.id


def test_a_complaint_is_not_assigned_or_transferred_to_another_organisations_staff(
    client, case, sessions, clock
):
    cid, _ = case
    dept_id, manager_id = _other_group(sessions, clock)
    supervisor = login(client, "supervisor")
    before = _snapshot(client, supervisor, cid)
    r = run(client, supervisor, cid, "assign", {"assignee_id": manager_id})
    assert r.status_code == 422 and r.json()["error"]["field"] == "assignee_id"
    r = run(client, supervisor, cid, "assign", {"department_id": dept_id})
    assert r.status_code == 422 and r.json()["error"]["field"] == "department_id"
    for to in (
        {"to_department_id": dept_id},
        {"to_department_id": dept_id, "to_user_id": manager_id},
    ):
        r = run(client, supervisor, cid, "transfer", {**to, "reason": "转给华裕"})
        assert r.status_code == 422 and r.json()["error"]["field"] == "to_department_id"
    assert _snapshot(client, supervisor, cid) == before


def test_a_complaint_is_not_registered_to_another_organisations_department_or_staff(
    client, org, sessions, clock
):
    dept_id, manager_id = _other_group(sessions, clock)
    receiver = login(client, "receiver1")
    for field, value in (("department_id", dept_id), ("staff_complained_id", manager_id)):
        body = complaint_body(org, **{field: value})
        r = client.post("/api/v1/complaints", json=body, headers=receiver)
        assert r.status_code == 422 and r.json()["error"]["field"] == field
    listed = client.get("/api/v1/complaints", headers=receiver).json()["items"]
    assert listed == []
