"""Putting an organisation's own pack into use: `kesu policy load FILE` and `POST /api/v1/packs`.
Before, only the built-in packs could be run: a pack an administrator wrote or changed could be
validated, but no organisation could open a complaint under it."""

from __future__ import annotations

import json
import re

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from helpers import complaint_body, login
from kesu.access import service as access_service
from kesu.audit.models import ConfigAudit
from kesu.cli import app as cli_app
from kesu.complaint.models import Complaint
from kesu.db.session import reading, transaction
from kesu.demo import PASSWORD
from kesu.policy import loader
from kesu.policy.models import PolicyVersion


def _changed(version_step: int = 1, days: int = 2) -> str:
    """The demo's pack with its version raised and the first contact due in `days` days."""
    text = loader.builtin_source("franchise-sales-center")
    version = int(re.search(r"^version: (\d+)", text, re.M).group(1))
    text = re.sub(r"^version: \d+", f"version: {version + version_step}", text, count=1, flags=re.M)
    return text.replace(
        "    met_by: [{event: record_contact, when: {reached: true}}]\n"
        "    within: {working_days: 1}",
        f"    met_by: [{{event: record_contact, when: {{reached: true}}}}]\n"
        f"    within: {{working_days: {days}}}",
        1,
    )


@pytest.fixture
def kesu(settings, monkeypatch, org):
    monkeypatch.setenv("KESU_DATABASE_URL", settings.db_url)
    monkeypatch.setenv("KESU_DATA_DIR", str(settings.data_dir))
    return lambda *args: CliRunner().invoke(cli_app, list(args))


def _versions(sessions) -> int:
    with reading(sessions) as s:
        return s.scalar(select(func.count()).select_from(PolicyVersion))


def test_a_changed_pack_loaded_from_the_cli_is_what_new_complaints_open_under(
    kesu, client, sessions, tmp_path, org
):
    assert "within: {working_days: 2}" in _changed()
    path = tmp_path / "ours.yaml"
    path.write_text(_changed(), encoding="utf-8")
    result = kesu("policy", "load", str(path))
    assert result.exit_code == 0, result.output
    assert "stored" in result.output and "in use for new complaints of: HX" in result.output
    assert "already stored" in kesu("policy", "load", str(path)).output  # no second version

    headers = login(client, "receiver1")
    c = client.post("/api/v1/complaints", json=complaint_body(org), headers=headers)
    assert c.status_code == 201, c.text
    assert c.json()["next_due_at"] == "2026-11-30T16:00:00Z"  # two working days: Monday's end
    with reading(sessions) as s:
        used = s.get(Complaint, c.json()["id"]).policy_version_id
        assert s.get(PolicyVersion, used).source == path.read_text(encoding="utf-8")
        assert s.scalar(select(func.count()).where(ConfigAudit.action == "pack.register")) >= 1


def test_a_broken_pack_file_is_refused_with_its_lines_and_nothing_is_stored(
    kesu, sessions, tmp_path
):
    before = _versions(sessions)
    path = tmp_path / "broken.yaml"
    path.write_text(_changed().replace("handler_tier: T1", "handler_tier: T9", 1), "utf-8")
    result = kesu("policy", "load", str(path))
    assert result.exit_code == 1
    assert re.search(
        r"broken\.yaml:\d+: levels\.\w+\.handler_tier: 未知的层级：'T9'", result.output
    )
    assert _versions(sessions) == before


def test_an_older_version_is_stored_but_the_newer_one_stays_in_use(kesu, tmp_path):
    newer, older = tmp_path / "v3.yaml", tmp_path / "v2.yaml"
    newer.write_text(_changed(version_step=2), "utf-8")
    older.write_text(_changed(version_step=1, days=3), "utf-8")
    assert kesu("policy", "load", str(newer)).exit_code == 0
    result = kesu("policy", "load", str(older))
    assert result.exit_code == 0 and "is newer and stays in use" in result.output


def test_the_api_loads_a_pack_for_an_administrator_of_every_group_that_runs_it(
    client, sessions, clock, org
):
    body = {"source": _changed()}
    assert (
        client.post("/api/v1/packs", json=body, headers=login(client, "director")).status_code
        == 403
    )
    r = client.post("/api/v1/packs", json=body, headers=login(client, "admin"))
    assert r.status_code == 201, r.text
    assert (r.json()["new"], r.json()["in_use"]) == (True, True)
    broken = {"source": _changed().replace("handler_tier: T1", "handler_tier: T9", 1)}
    admin = login(client, "admin")
    r = client.post("/api/v1/packs", json=broken, headers=admin)
    assert r.status_code == 422
    assert "levels.L1.handler_tier: 未知的层级：'T9'" in r.json()["error"]["message"]
    english = {**admin, "Accept-Language": "en"}
    r = client.post("/api/v1/packs", json=broken, headers=english)
    assert "levels.L1.handler_tier: unknown tier: 'T9'" in r.json()["error"]["message"]
    # a region's administrator does not administer the group that runs the pack
    with transaction(sessions) as session:
        access_service.add_user(
            session,
            clock,
            username="east_admin",
            display_name="华东管理员",
            role="admin",
            org_id=org["EAST"],
            password=PASSWORD,
        )
    r = client.post(
        "/api/v1/packs", json={"source": _changed(2)}, headers=login(client, "east_admin")
    )
    assert r.status_code == 403 and r.json()["error"]["key"] == "policy.other_groups"


def test_the_stored_pack_from_the_api_is_a_pack_file_to_edit_and_load_again(client, org):
    admin = {**login(client, "admin"), "Accept-Language": "en"}
    r = client.get("/api/v1/packs/franchise-sales-center", headers=admin)
    assert r.status_code == 200 and len(r.headers["ETag"]) == 66  # the digest, quoted
    ours = {**r.json(), "key": "hx-own", "version": r.json()["version"] + 1}
    loaded = client.post("/api/v1/packs", json={"source": json.dumps(ours)}, headers=admin)
    assert loaded.status_code == 201, loaded.text
    assert loaded.json()["key"] == "hx-own"


def test_the_api_lists_the_pack_a_group_runs_once_it_is_its_own(client, org, kesu, tmp_path):
    """An integrator listing the packs finds the one their group runs, at the version in use,
    after the group moved to a pack of its own (before: only the built-in packs)."""
    admin = login(client, "admin")
    listed = {p["key"]: p for p in client.get("/api/v1/packs", headers=admin).json()}
    assert listed["franchise-sales-center"]["in_use"] is True
    own = _changed(version_step=4).replace("key: franchise-sales-center", "key: hx-own", 1)
    path = tmp_path / "own.yaml"
    path.write_text(own, "utf-8")
    assert kesu("policy", "load", str(path)).exit_code == 0
    assert kesu("org", "set-pack", "HX", "hx-own").exit_code == 0
    listed = {p["key"]: p for p in client.get("/api/v1/packs", headers=admin).json()}
    version = int(re.search(r"^version: (\d+)", own, re.M).group(1))
    assert listed["hx-own"]["version"] == version and listed["hx-own"]["in_use"] is True
    assert listed["franchise-sales-center"]["in_use"] is False
    assert "bank-insurance" in listed


def test_a_group_is_moved_to_its_own_pack_and_open_complaints_keep_theirs(
    kesu, client, sessions, tmp_path, org
):
    """Its own procedure under a key of its own (a release's built-in pack then never takes
    its place): `kesu policy load`, then `kesu org set-pack`."""
    headers = login(client, "receiver1")
    before = client.post("/api/v1/complaints", json=complaint_body(org), headers=headers).json()
    own = _changed().replace("key: franchise-sales-center", "key: hx-procedure", 1)
    path = tmp_path / "hx.yaml"
    path.write_text(own, "utf-8")
    assert kesu("policy", "load", str(path)).exit_code == 0
    result = kesu("org", "set-pack", "HX", "hx-procedure")
    assert result.exit_code == 0, result.output
    after = client.post("/api/v1/complaints", json=complaint_body(org), headers=headers).json()
    with reading(sessions) as s:
        keys = {
            c.id: s.get(PolicyVersion, c.policy_version_id).key
            for c in s.scalars(
                select(Complaint).where(Complaint.id.in_([before["id"], after["id"]]))
            )
        }
        assert keys == {before["id"]: "franchise-sales-center", after["id"]: "hx-procedure"}
        trail = s.scalars(select(ConfigAudit).where(ConfigAudit.action == "org.pack")).one()
        assert (trail.details["from"], trail.details["to"]) == (
            "franchise-sales-center",
            "hx-procedure",
        )


def test_policy_list_and_show_find_a_loaded_pack_with_its_version_and_groups(kesu, tmp_path):
    """After `kesu policy load` and `kesu org set-pack`, the deployer sees their own pack among
    the packs, with the version in use and the group running it, and can summarise it by key
    (before, list named only the built-in packs and show said the loaded one was not found)."""
    own = _changed(version_step=2).replace("key: franchise-sales-center", "key: hx-procedure", 1)
    path = tmp_path / "hx.yaml"
    path.write_text(own, "utf-8")
    assert kesu("policy", "load", str(path)).exit_code == 0
    assert kesu("org", "set-pack", "HX", "hx-procedure").exit_code == 0
    version = re.search(r"^version: (\d+)", own, re.M).group(1)
    listed = kesu("policy", "list")
    assert listed.exit_code == 0, listed.output
    lines = listed.output.splitlines()
    assert f"hx-procedure\tv{version}\t加盟销售中心客户投诉管理规定\tHX" in lines
    assert sum(line.startswith("franchise-sales-center\t") for line in lines) == 1
    assert any(line.startswith("bank-insurance\t") for line in lines)
    shown = kesu("policy", "show", "hx-procedure", "--lang", "en")
    assert shown.exit_code == 0, shown.output
    assert shown.output.startswith(f"hx-procedure v{version} — ")
    assert "within: 2 working days" in shown.output


def test_a_pack_without_the_roles_the_staff_hold_is_refused_and_nothing_changes(kesu, sessions):
    result = kesu("org", "set-pack", "HX", "default")  # no 'director', 'admin_center' …
    assert result.exit_code == 1
    assert "no role admin_center、director," in result.output  # the roles HX's staff hold
    with reading(sessions) as s:
        assert org_pack(s, "HX") == "franchise-sales-center"
    assert kesu("org", "set-pack", "SH-NJ", "default").exit_code == 1  # a store runs no pack


def test_a_new_version_without_a_role_the_staff_hold_is_refused_and_nothing_is_stored(
    kesu, client, sessions, tmp_path
):
    """A new version of the pack a group runs that renames the archivists' role would leave
    them unable to close anything (and its timers' messages to nobody): refused like `kesu
    org set-pack` refuses such a pack, in the CLI and over HTTP; nothing is stored."""
    renamed = _changed().replace("archivist", "records_clerk")
    assert loader.parse_pack(renamed).role("archivist") is None
    path = tmp_path / "renamed.yaml"
    path.write_text(renamed, "utf-8")
    before = _versions(sessions)
    result = kesu("policy", "load", str(path), "--lang", "en")
    assert result.exit_code == 1, result.output
    assert "has no role archivist, which staff of this group hold" in result.output
    r = client.post("/api/v1/packs", json={"source": renamed}, headers=login(client, "admin"))
    assert r.status_code == 422 and r.json()["error"]["field"] == "pack"
    assert "archivist" in r.json()["error"]["message"]
    assert _versions(sessions) == before


def org_pack(session, code: str) -> str | None:
    from kesu.org.models import Organisation

    return session.scalar(select(Organisation.pack_key).where(Organisation.code == code))


def test_another_groups_own_procedure_is_not_read_over_the_api(
    client, org, kesu, tmp_path, sessions, clock
):
    """Any signed-in user read any stored pack in full, another group's own procedure too
    (its roles, authority bands, penalties). The built-in packs stay readable by all."""
    from kesu.org import service as org_service

    own = _changed().replace("key: franchise-sales-center", "key: hy-own", 1)
    path = tmp_path / "hy.yaml"
    path.write_text(own, "utf-8")
    assert kesu("policy", "load", str(path)).exit_code == 0
    admin = login(client, "admin")
    assert client.get("/api/v1/packs/hy-own", headers=admin).status_code == 200  # not set yet
    with transaction(sessions) as s:
        org_service.create(s, clock, kind="group", code="HY", name="华裕", pack_key="hy-own")
    refused = client.get("/api/v1/packs/hy-own", headers=admin)
    assert refused.status_code == 404 and refused.json()["error"]["key"] == "not_found.pack"
    assert client.get("/api/v1/packs/bank-insurance", headers=admin).status_code == 200
