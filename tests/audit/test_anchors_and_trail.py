"""Append-only tables, the configuration trail and the signed anchors: what `kesu audit verify`
catches that a hash chain alone would not."""

from __future__ import annotations

import pytest
from sqlalchemy import delete, select, update
from sqlalchemy.exc import DBAPIError
from typer.testing import CliRunner

from helpers import complaint_body, login, run
from kesu.audit import service as audit_service
from kesu.audit.chain import GENESIS, event_hash, hashed_fields
from kesu.audit.models import AuditAnchor, ConfigAudit
from kesu.cli import app as cli_app
from kesu.complaint.models import Complaint, ComplaintEvent
from kesu.db.session import reading, transaction


@pytest.fixture
def anchored(client, org, sessions, clock):
    """Two complaints with a few events each, then an anchor signed over them."""
    headers = login(client, "receiver1")
    ids = []
    for _ in range(2):
        cid = client.post("/api/v1/complaints", json=complaint_body(org), headers=headers).json()[
            "id"
        ]
        assert run(client, headers, cid, "acknowledge").status_code == 200
        assert run(client, headers, cid, "note", {"text": "客户来电催促"}).status_code == 200
        ids.append(cid)
    with transaction(sessions) as s:
        assert audit_service.make_anchor(s, clock) == 1
    return ids


def _verify(settings, monkeypatch):
    monkeypatch.setenv("KESU_DATABASE_URL", settings.db_url)
    monkeypatch.setenv("KESU_DATA_DIR", str(settings.data_dir))
    return CliRunner().invoke(cli_app, ["audit", "verify"])


def test_the_database_itself_refuses_to_change_or_delete_a_recorded_event(anchored, sessions):
    for statement in (
        update(ComplaintEvent).values(actor_label="someone else"),
        delete(ComplaintEvent).where(ComplaintEvent.seq == 3),
        update(ConfigAudit).values(action="nothing"),
        delete(AuditAnchor),
    ):
        with pytest.raises(DBAPIError) as exc, transaction(sessions) as s:
            s.execute(statement)
        assert "append-only" in str(exc.value)


def test_an_untouched_record_verifies_with_its_anchors(anchored, settings, monkeypatch):
    result = _verify(settings, monkeypatch)
    assert result.exit_code == 0, result.output
    assert "2 complaints" in result.output and "1 signed anchors match" in result.output


def test_a_chain_rewritten_with_fresh_hashes_is_caught_by_the_anchor(
    anchored, tamper, settings, monkeypatch
):
    """Someone with database access edits a note and recomputes every hash after it: every
    link holds, but the newest hash no longer matches what the anchor signed."""
    cid = anchored[0]
    with tamper() as s:
        events = list(
            s.scalars(
                select(ComplaintEvent)
                .where(ComplaintEvent.complaint_id == cid)
                .order_by(ComplaintEvent.seq)
            )
        )
        events[2].payload = {"text": "客户表示满意"}
        prev = GENESIS
        for e in events:
            e.prev_hash = prev
            e.hash = event_hash(
                prev,
                hashed_fields(
                    complaint_id=e.complaint_id,
                    seq=e.seq,
                    command=e.command,
                    actor_kind=e.actor_kind,
                    actor_id=e.actor_id,
                    at=e.at,
                    payload=e.payload,
                    policy_version_id=e.policy_version_id,
                ),
            )
            prev = e.hash
    result = _verify(settings, monkeypatch)
    assert result.exit_code == 1
    assert f"complaint {cid}: event seq 3 (id {events[2].id}) altered" in result.output


def test_cutting_off_the_last_event_and_the_version_with_it_is_caught_by_the_anchor(
    anchored, tamper, sessions, settings, monkeypatch
):
    cid = anchored[1]
    with tamper() as s:
        s.execute(
            delete(ComplaintEvent).where(
                ComplaintEvent.complaint_id == cid, ComplaintEvent.seq == 3
            )
        )
        s.execute(update(Complaint).where(Complaint.id == cid).values(version=2))
    with reading(sessions) as s:
        assert audit_service.verify_all(s)[1] == []  # the chain alone looks whole
    result = _verify(settings, monkeypatch)
    assert result.exit_code == 1
    assert f"complaint {cid}: event seq 3 (id None) missing" in result.output


def test_an_edited_anchor_or_one_signed_with_another_key_is_named(
    anchored, tamper, settings, monkeypatch, sessions, clock
):
    with tamper() as s:
        s.execute(update(AuditAnchor).values(up_to_event_id=1))
    result = _verify(settings, monkeypatch)
    assert result.exit_code == 1 and "anchor 1: signature does not match" in result.output
    monkeypatch.setenv("KESU_SECRET_KEY", "a different secret")
    result = _verify(settings, monkeypatch)
    assert "anchor 1: signed with another key" in result.output


def test_a_removed_anchor_breaks_the_sequence_of_anchors(
    anchored, client, org, tamper, settings, monkeypatch, sessions, clock
):
    headers = login(client, "receiver1")
    assert run(client, headers, anchored[0], "note", {"text": "再次来电"}).status_code == 200
    clock.advance(hours=2)
    with transaction(sessions) as s:
        assert audit_service.make_anchor(s, clock) == 1
    with tamper() as s:
        s.execute(delete(AuditAnchor).where(AuditAnchor.id == 1))
    result = _verify(settings, monkeypatch)
    assert (
        result.exit_code == 1 and "anchor 2: does not follow the previous anchor" in result.output
    )


def test_the_worker_signs_at_most_hourly_and_only_when_something_is_new(
    anchored, client, sessions, clock
):
    with transaction(sessions) as s:
        assert audit_service.make_anchor(s, clock) == 0  # just signed
    clock.advance(hours=2)
    with transaction(sessions) as s:
        assert audit_service.make_anchor(s, clock) == 0  # nothing new
    headers = login(client, "receiver1")
    assert run(client, headers, anchored[0], "note", {"text": "补充"}).status_code == 200
    with transaction(sessions) as s:
        assert audit_service.make_anchor(s, clock) == 1
        newest = s.scalars(select(AuditAnchor).order_by(AuditAnchor.id.desc())).first()
        assert list(newest.heads) == [str(anchored[0])] and newest.heads[str(anchored[0])][0] == 4


def test_configuration_changes_are_chained_and_an_edited_entry_is_named(
    client, tamper, settings, monkeypatch
):
    admin = login(client, "admin")
    r = client.post(
        "/api/v1/users",
        json={"username": "newbie", "display_name": "新人", "role": "receiver", "org_id": 1},
        headers=admin,
    )
    assert r.status_code == 201
    client.post("/api/v1/tokens", json={"name": "erp", "scope": "read"}, headers=admin)
    trail = client.get("/api/v1/audit/config", headers=admin).json()
    assert [e["action"] for e in trail][:2] == ["token.issue", "user.add"]
    seq = trail[1]["seq"]
    with tamper() as s:
        s.execute(
            update(ConfigAudit)
            .where(ConfigAudit.seq == seq)
            .values(details={"username": "newbie", "role": "director"})
        )
    result = _verify(settings, monkeypatch)
    assert result.exit_code == 1
    assert f"configuration trail: event seq {seq}" in result.output and "altered" in result.output
