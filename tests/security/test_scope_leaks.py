"""What one organisation's people learn of another's: nothing, through any administrative list
(another group entirely, or a region's administrator and the rest of the group)."""

from __future__ import annotations

from sqlalchemy import select, update

from kesu.access import service as access_service
from kesu.access.models import User
from kesu.db.session import reading, transaction
from kesu.notify.models import Outbox
from kesu.org import service as org_service


def _other_group(sessions, clock) -> dict[str, int]:
    """A second group on the same installation (`kesu org add`), with its own administrator."""
    with transaction(sessions) as s:
        group = org_service.create(
            s, clock, kind="group", code="HY", name="华裕商贸", pack_key="retail-store"
        )
        admin = access_service.add_user(
            s,
            clock,
            username="hy_admin",
            display_name="华裕管理员",
            role="admin",
            org_id=group.id,
            password="kesu-demo-2026",
        )
        return {"group": group.id, "admin": admin.id}


def test_the_configuration_trail_shows_an_administrator_only_their_own_organisations(
    client, sessions, clock, org, people, bearer
):
    """Another group's administrator read the whole installation's trail: every user added
    (username, role, store), every API token issued, every store and retention rule of the
    first group. Each administrator now reads the changes about their own group (a region's
    administrator: their region), the hash chain stays one for `kesu audit verify`."""
    other = _other_group(sessions, clock)
    theirs = bearer("hy_admin")
    store = {"kind": "site", "code": "HY-S1", "name": "华裕一店", "parent_id": other["group"]}
    made = client.post("/api/v1/organisations", json=store, headers=theirs)
    assert made.status_code == 201
    head_office = bearer("admin")
    token = {"name": "呼叫中心", "scope": "intake"}
    assert client.post("/api/v1/tokens", json=token, headers=head_office).status_code == 201
    kept = client.put(
        f"/api/v1/privacy/retention/{org['SOUTH']}", json={"years": 5}, headers=head_office
    )
    assert kept.status_code == 200

    def trail(headers) -> list[dict]:
        r = client.get("/api/v1/audit/config?limit=500", headers=headers)
        assert r.status_code == 200, r.text
        return r.json()

    seen = trail(theirs)
    assert {(e["action"], e["target_id"]) for e in seen} == {
        ("user.add", other["admin"]),
        ("org.create", made.json()["id"]),
    }
    assert "east_receiver" not in str(seen) and "呼叫中心" not in str(seen)

    everything = trail(head_office)
    assert any(e["details"].get("username") == "east_receiver" for e in everything)
    assert any(e["action"] == "token.issue" for e in everything)
    assert not any(e["details"].get("username") == "hy_admin" for e in everything)
    assert not any(e["details"].get("code") == "HY-S1" for e in everything)

    region = trail(bearer("east_admin"))
    names = {e["details"].get("username") for e in region}
    assert {"east_receiver", "shnj_receiver"} <= names
    assert "south_supervisor" not in names and "hy_admin" not in names
    assert not any(e["action"] in ("token.issue", "retention.set") for e in region)


def test_another_groups_organisation_codes_are_as_unknown_as_codes_nobody_uses(
    client, sessions, clock, org, people, bearer
):
    """A report, a day closed on the calendar or a ledger mapping for another group's code
    answered 403 (无权查看该组织的报告 / 超出您的组织范围) where a code nobody uses
    answered 404: anyone could list which store codes a competitor on the same installation
    has. Both are now 'no organisation NOPE'; within one's own group the refusal stays."""
    _other_group(sessions, clock)
    theirs = bearer("hy_admin")
    day = {"working": False, "note": "盘点"}
    volume = {"first_day": "2026-11-01", "last_day": "2026-11-02", "orders": 1}
    mapping = {"columns": {"编号": "original_number"}}
    for code in ("SH-NJ", "NOPE"):
        answers = [
            client.get(f"/api/v1/reports/weekly?org={code}", headers=theirs),
            client.put(f"/api/v1/calendar/days/{code}/2026-12-01", json=day, headers=theirs),
            client.put("/api/v1/reports/volume", json=volume | {"org": code}, headers=theirs),
            client.put("/api/v1/ledger/mappings/old", json=mapping | {"org": code}, headers=theirs),
        ]
        for r in answers:
            assert r.status_code == 404, (code, r.request.url, r.text)
            assert r.json()["error"]["key"] == "not_found.organisation"
            assert code in r.json()["error"]["message"]
    own_group = client.get("/api/v1/reports/weekly?org=HX", headers=bearer("shnj_receiver"))
    assert own_group.status_code == 403  # their own group's head office: in sight, not theirs


def test_a_scheduled_regional_report_reaches_only_those_who_may_open_it(
    client, sessions, clock, org, people, bearer
):
    """A schedule for one region (`org: EAST`) told every holder of its roles in the group,
    the other region's supervisor and a store's receiver included, with the region's figures
    in the message; they then got 404 for the file. It now reaches those whose node covers
    the region: head office and the region itself."""
    from kesu import worker
    from report.test_schedule import SCHEDULES, _with_schedules

    east = "    - {key: east, kind: weekly, org: EAST, to_roles: [receiver, supervisor]}\n"
    _with_schedules(sessions, clock, SCHEDULES + east)
    with transaction(sessions) as s:
        s.execute(update(User).values(email=User.username + "@example.com"))
    worker.run_pass(sessions, clock)

    with reading(sessions) as s:
        told = set(
            s.scalars(
                select(User.username)
                .join(Outbox, Outbox.recipient_id == User.id)
                .where(
                    Outbox.template == "report_ready",
                    Outbox.recipient_kind == "user",
                    Outbox.dedupe_key.like("%:east:%"),
                )
            )
        )
    assert {"receiver1", "supervisor", "east_receiver"} <= told
    assert not told & {"shnj_receiver", "south_supervisor"}
    listed = client.get("/api/v1/reports/deliveries", headers=bearer("east_receiver")).json()
    url = next(d["file_url"] for d in listed if d["schedule_key"] == "east")
    for who in told:
        assert client.get(url, headers=bearer(who)).status_code == 200, who
