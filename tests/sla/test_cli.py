"""`kesu calendar …` and `kesu policy show`, run as an admin would run them."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from helpers import complaint_body, login
from kesu.cli import app

runner = CliRunner()


@pytest.fixture
def kesu(settings, monkeypatch):
    monkeypatch.setenv("KESU_DATABASE_URL", settings.db_url)
    monkeypatch.setenv("KESU_DATA_DIR", str(settings.data_dir))

    def invoke(*args: str):
        return runner.invoke(app, list(args))

    return invoke


def test_policy_show_summarises_levels_timers_and_delays(kesu):
    result = kesu("policy", "show", "bank-insurance", "--lang", "en")
    assert result.exit_code == 0, result.output
    text = result.output
    assert "decision Decision within 15 days" in text
    assert "within: 15 calendar days" in text
    assert "up to 60 calendar days by senior_executive (customer told)" in text
    assert "ordinary Ordinary: handled by T1; review complaint_head" in text


def test_policy_show_names_an_unknown_pack(kesu):
    result = kesu("policy", "show", "no-such-pack")
    assert result.exit_code == 1


def test_closing_a_store_for_a_day_moves_its_open_deadlines(kesu, client, org):
    headers = login(client, "receiver1")
    cid = client.post("/api/v1/complaints", json=complaint_body(org), headers=headers).json()["id"]
    result = kesu("calendar", "close-day", "SH-NJ", "2026-11-27", "--note", "盘点")
    assert result.exit_code == 0, result.output
    assert "1 running deadline moved" in result.output
    detail = client.get(f"/api/v1/complaints/{cid}", headers=headers).json()
    assert detail["next_due_at"] == "2026-11-30T16:00:00Z"  # the end of Monday
    assert kesu("calendar", "clear-day", "SH-NJ", "2026-11-27").exit_code == 0
    detail = client.get(f"/api/v1/complaints/{cid}", headers=headers).json()
    assert detail["next_due_at"] == "2026-11-27T16:00:00Z"


def test_closing_a_day_works_in_a_command_line_process_of_its_own(settings, client, org):
    # A fresh interpreter has imported only the models the command itself reaches; closing a
    # day retimes open complaints, whose table refers to the ledger's (a crash once).
    headers = login(client, "receiver1")
    client.post("/api/v1/complaints", json=complaint_body(org), headers=headers)
    env = {
        **os.environ,
        "KESU_DATABASE_URL": settings.db_url,
        "KESU_DATA_DIR": str(settings.data_dir),
    }
    result = subprocess.run(
        [sys.executable, "-m", "kesu", "calendar", "close-day", "SH-NJ", "2026-11-27"],
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "1 running deadline moved" in result.stdout


def test_a_bad_date_or_organisation_is_named(kesu, org):
    assert "not a date" in kesu("calendar", "close-day", "HX", "27/11/2026").output
    assert "no organisation" in kesu("calendar", "close-day", "NOPE", "2026-11-27").output
    result = kesu("calendar", "close-day", "HX", "2026-11-27", "--note", "盘" * 201)
    assert result.exit_code == 1 and "note: at most 200 characters" in result.output


def test_the_check_warns_until_the_missing_year_is_entered(kesu, org, tmp_path):
    result = kesu("calendar", "check")
    assert result.exit_code == 1
    assert "HX: no official holiday data for 2027" in result.output
    schedule = tmp_path / "2027.yaml"
    schedule.write_text(
        "year: 2027\nholidays: [2027-01-01, 2027-02-05]\nmakeup_workdays: [2027-02-13]\n",
        encoding="utf-8",
    )
    entered = kesu("calendar", "year", "HX", str(schedule))
    assert entered.exit_code == 0, entered.output
    assert "2 holidays, 1 make-up day)" in entered.output
    result = kesu("calendar", "check")
    assert "2027" not in result.output.split("for ")[1].split(";")[0]


def test_a_schedule_file_with_dates_outside_its_year_is_refused(kesu, org, tmp_path):
    schedule = tmp_path / "bad.yaml"
    schedule.write_text("year: 2027\nholidays: [2028-01-01]\n", encoding="utf-8")
    result = kesu("calendar", "year", "HX", str(schedule))
    assert result.exit_code == 1 and "outside 2027" in result.output


def test_a_schedule_file_with_a_misspelt_field_or_a_bad_date_names_each_problem(
    kesu, org, tmp_path
):
    """`makeup_workday:` (no s) would have entered a year without its 调休 Saturdays: it is
    refused, and every problem names its field and item, with dates as the admin wrote them."""
    schedule = tmp_path / "2027.yaml"
    schedule.write_text(
        "year: 2027\nholidays: [2027-01-01, 2027-02-30, 2027-02-06]\n"
        "makeup_workday: [2027-02-13]\nmakeup_workdays: [2027-02-06]\n",
        encoding="utf-8",
    )
    result = kesu("calendar", "year", "HX", str(schedule))
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert f"error: {schedule}: makeup_workday: not an accepted field" in lines[0]
    assert f"error: {schedule}: holidays.1: '2027-02-30' is not a date (YYYY-MM-DD)" in lines
    assert f"error: {schedule}: 2027-02-06: both a holiday and a make-up working day" in lines
    assert "datetime" not in result.output
    result = kesu("calendar", "check")
    assert "HX: no official holiday data for 2027" in result.output  # nothing was entered


def test_a_year_entered_for_a_store_is_the_group_s_and_on_the_configuration_trail(
    kesu, org, tmp_path, sessions
):
    from sqlalchemy import select

    from kesu.audit.models import ConfigAudit
    from kesu.db.session import reading

    schedule = tmp_path / "2027.yaml"
    schedule.write_text("year: 2027\nholidays: [2027-01-01]\n", encoding="utf-8")
    result = kesu("calendar", "year", "SH-NJ", str(schedule))
    assert result.exit_code == 0, result.output
    assert result.output.startswith("HX (the group of SH-NJ: a year is the group's): ")
    with reading(sessions) as s:
        entry = s.scalars(select(ConfigAudit).order_by(ConfigAudit.id.desc())).first()
    assert entry.action == "calendar.year" and entry.target_id == org["HX"]
    assert entry.details["year"] == 2027 and entry.details["holidays"] == ["2027-01-01"]


def test_a_department_s_day_is_refused_for_it_would_move_no_deadline(kesu, org, client):
    """Deadlines count the days of a complaint's site and the organisations above it: closing
    a day for the 综合服务部 was stored and moved nothing, silently. It is refused, naming
    where to set it, in the CLI and over HTTP."""
    result = kesu("calendar", "close-day", "CS", "2026-12-03", "--note", "团建")
    assert result.exit_code == 1
    assert "CS is a department, which keeps the days of its site or group" in result.output
    admin = login(client, "admin")
    r = client.put(
        "/api/v1/calendar/days/CS/2026-12-03",
        json={"working": False, "note": "团建"},
        headers=admin,
    )
    assert r.status_code == 422 and r.json()["error"]["field"] == "org"
    assert r.json()["error"]["message"].startswith("组织：CS 是部门")
    assert client.get("/api/v1/calendar/days", headers=admin).json() == []
