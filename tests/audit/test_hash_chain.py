"""The event log verifies, and any altered, removed or reordered event is named."""

from __future__ import annotations

import pytest
from sqlalchemy import delete, select, update
from typer.testing import CliRunner

from helpers import complaint_body, login, run
from kesu.audit.service import verify_all
from kesu.cli import app as cli_app
from kesu.complaint.models import ComplaintEvent


@pytest.fixture
def three_events(client, org):
    headers = login(client, "receiver1")
    cid = client.post("/api/v1/complaints", json=complaint_body(org), headers=headers).json()["id"]
    assert run(client, headers, cid, "acknowledge").status_code == 200
    assert run(client, headers, cid, "note", {"text": "客户来电催促"}).status_code == 200
    return cid


def _verify_cli(settings, monkeypatch):
    monkeypatch.setenv("KESU_DATABASE_URL", settings.db_url)
    monkeypatch.setenv("KESU_DATA_DIR", str(settings.data_dir))
    return CliRunner().invoke(cli_app, ["audit", "verify"])


def test_an_untouched_record_verifies(three_events, settings, monkeypatch):
    result = _verify_cli(settings, monkeypatch)
    assert result.exit_code == 0, result.output
    assert "1 complaints" in result.output


def test_editing_an_event_payload_in_the_database_is_named_by_audit_verify(
    three_events, tamper, settings, monkeypatch
):
    with tamper() as s:
        s.execute(
            update(ComplaintEvent)
            .where(ComplaintEvent.complaint_id == three_events, ComplaintEvent.seq == 2)
            .values(payload={"message": "篡改后的内容"})
        )
    result = _verify_cli(settings, monkeypatch)
    assert result.exit_code == 1
    assert f"complaint {three_events}: event seq 2" in result.output and "altered" in result.output


def test_deleting_the_last_event_is_detected(three_events, sessions, tamper):
    with tamper() as s:
        s.execute(
            delete(ComplaintEvent).where(
                ComplaintEvent.complaint_id == three_events, ComplaintEvent.seq == 3
            )
        )
    with sessions() as s:
        _, breaks = verify_all(s)
    assert [(b.complaint_id, b.seq, b.problem) for b in breaks] == [(three_events, 3, "missing")]


def test_deleting_an_event_in_the_middle_is_detected(three_events, sessions, tamper):
    with tamper() as s:
        s.execute(
            delete(ComplaintEvent).where(
                ComplaintEvent.complaint_id == three_events, ComplaintEvent.seq == 2
            )
        )
    with sessions() as s:
        _, breaks = verify_all(s)
    assert breaks[0].problem == "missing" and breaks[0].seq == 3


def test_swapping_the_order_of_two_events_is_detected(three_events, sessions, tamper):
    with tamper() as s:
        ids = s.scalars(
            select(ComplaintEvent.id)
            .where(ComplaintEvent.complaint_id == three_events)
            .order_by(ComplaintEvent.seq)
        ).all()
        s.execute(update(ComplaintEvent).where(ComplaintEvent.id == ids[1]).values(seq=99))
        s.execute(update(ComplaintEvent).where(ComplaintEvent.id == ids[2]).values(seq=2))
        s.execute(update(ComplaintEvent).where(ComplaintEvent.id == ids[1]).values(seq=3))
    with sessions() as s:
        _, breaks = verify_all(s)
    assert breaks and breaks[0].complaint_id == three_events
