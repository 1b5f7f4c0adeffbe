"""`kesu report …` writes the file a manager mails on: any kind, scope, period and format."""

from __future__ import annotations

import io

import openpyxl
import pypdf
from typer.testing import CliRunner

from kesu.cli import app
from kesu.db.session import transaction
from report import dataset


def _env(settings) -> dict[str, str]:
    return {"KESU_DATABASE_URL": settings.db_url, "KESU_DATA_DIR": str(settings.data_dir)}


def test_the_weekly_report_of_a_region_is_written_as_pdf(sessions, org, settings, tmp_path):
    with transaction(sessions) as session:
        dataset.load(session, org, count=400)
    out = tmp_path / "week.pdf"
    result = CliRunner().invoke(
        app,
        ["report", "weekly", "--org", "EAST", "--period", "2025-W23", "--output", str(out)],
        env=_env(settings),
    )
    assert result.exit_code == 0, result.output
    assert "华东大区 投诉周报（2025-W23）" in result.output
    text = pypdf.PdfReader(io.BytesIO(out.read_bytes())).pages[0].extract_text()
    assert "统计期间：2025-06-02 至 2025-06-08" in text


def test_a_range_report_and_the_staff_review_default_to_the_whole_group(
    sessions, org, settings, tmp_path
):
    with transaction(sessions) as session:
        dataset.load(session, org, count=400)
    runner, env = CliRunner(), _env(settings)
    out = tmp_path / "range.xlsx"
    result = runner.invoke(
        app,
        ["report", "range", "--from", "2025-03-01", "--to", "2025-05-31", "--output", str(out)],
        env=env,
    )
    assert result.exit_code == 0, result.output
    wb = openpyxl.load_workbook(out)
    assert wb.worksheets[0]["A1"].value == "华夏家居集团 投诉统计报告（2025-03-01..2025-05-31）"
    review = tmp_path / "review.csv"
    result = runner.invoke(
        app,
        ["report", "staff-review", "--period", "2025-06", "--output", str(review), "--lang", "en"],
        env=env,
    )
    assert result.exit_code == 0, result.output
    lines = review.read_text(encoding="utf-8-sig").splitlines()
    assert lines[0].startswith("华夏家居集团 monthly staff review")
    assert "Cases closed last month" in lines


def test_a_wrong_period_is_named_in_the_error(sessions, org, settings):
    result = CliRunner().invoke(
        app, ["report", "monthly", "--period", "2026-13", "--format", "json"], env=_env(settings)
    )
    assert result.exit_code == 1
    assert "2026-13" in result.output


def test_an_error_is_written_in_the_language_asked_for(sessions, org, settings):
    runner, env = CliRunner(), _env(settings)
    args = ["report", "monthly", "--period", "2026-13", "--format", "json"]
    result = runner.invoke(app, args, env=env)
    assert result.output == "error: “2026-13”不是有效的月报期间，应写作 2026-11 这样的格式\n"
    result = runner.invoke(app, [*args, "--lang", "zh_Hant"], env=env)
    assert result.exit_code == 1 and "不是有效的月報期間" in result.output
    result = runner.invoke(app, ["report", "weekly", "--org", "NOPE", "--lang", "en"], env=env)
    assert result.output == "error: Organisation NOPE not found\n"


def test_a_file_that_cannot_be_written_is_one_line_not_a_traceback(org, settings, tmp_path):
    nowhere = tmp_path / "no-such-folder" / "week.pdf"
    args = ["report", "weekly", "--output", str(nowhere)]
    result = CliRunner().invoke(app, args, env=_env(settings))
    assert result.exit_code == 1
    assert result.output == f"error: 无法写入文件“{nowhere}”：No such file or directory\n"


def test_a_negative_volume_is_refused_naming_the_figure(org, settings):
    days = ["--org", "SH-NJ", "--from", "2026-11-01", "--to", "2026-11-30"]
    result = CliRunner().invoke(
        app, ["report", "volume", *days, "--visits", "-5"], env=_env(settings)
    )
    assert result.exit_code == 1 and result.output == "error: visits: may not be negative\n"


def test_the_staff_reviews_shares_read_with_the_punctuation_of_its_language(sessions, org, clock):
    """质量管理部 60%；门店 40% in Chinese, 质量管理部 60%; 门店 40% in English."""
    from sqlalchemy import select

    from caselib.test_search import L1_PATH
    from helpers import complaint_body
    from kesu.access.models import User
    from kesu.complaint import service as complaint_service
    from kesu.complaint.schemas import ComplaintCreate
    from kesu.report import rules as report_rules
    from kesu.report import service as report_service

    shares = [{"party": "质量管理部", "share": 60}, {"party": "门店", "share": 40}]
    with transaction(sessions) as session:
        users = {u.username: u for u in session.scalars(select(User))}
        data = ComplaintCreate.model_validate(complaint_body(org))
        c = complaint_service.receive(
            session, clock, complaint_service.actor_of(users["receiver1"]), data
        )
        for username, command, payload in L1_PATH:
            if command == "record_investigation":
                payload = {**payload, "responsibility": shares}
            clock.advance(minutes=30)
            actor = complaint_service.actor_of(users[username])
            c = complaint_service.execute(session, clock, c.id, actor, command, payload, c.version)
    month = report_rules.parse("monthly", clock.now().strftime("%Y-%m"))
    with transaction(sessions) as session:
        cells = {
            locale: report_service.staff_review(
                session, org_id=org["HX"], period=month, locale=locale, now=clock.now()
            )
            .sections[0]
            .rows[0]
            for locale in ("zh_Hans", "en")
        }
    assert "质量管理部 60%；门店 40%" in cells["zh_Hans"]
    assert "质量管理部 60%; 门店 40%" in cells["en"]
