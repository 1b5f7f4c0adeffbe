"""`kesu import ledger` from the command line: the dry run names the bad rows, the import
takes the good ones, and running it again adds nothing."""

from __future__ import annotations

import json

from sqlalchemy import func, select
from typer.testing import CliRunner

from kesu.cli import app
from kesu.complaint.models import Complaint
from kesu.db.session import reading

LEDGER = (
    "客户投诉登记表,,,,\r\n"
    "编号,投诉日期,客户姓名,联系电话,投诉内容\r\n"
    "A-1,2025-04-01 10:00,林女士,138 1234 5678,沙发坐垫塌陷\r\n"
    ",,,,\r\n"
    "A-2,2025-02-30,王先生,139 0000 1111,桌面划痕\r\n"
    "A-3,45760,赵先生,,送货延误\r\n"
)


def _env(settings) -> dict[str, str]:
    return {"KESU_DATABASE_URL": settings.db_url, "KESU_DATA_DIR": str(settings.data_dir)}


def _complaints(sessions) -> int:
    with reading(sessions) as session:
        return session.scalar(select(func.count()).select_from(Complaint))


def test_the_dry_run_names_bad_rows_and_the_import_adds_the_rest_once(
    sessions, org, settings, tmp_path
):
    path = tmp_path / "登记表.csv"
    path.write_bytes(LEDGER.encode("utf-8-sig"))
    runner, env = CliRunner(), _env(settings)
    args = ["import", "ledger", str(path), "--org", "SH-NJ"]
    dry = runner.invoke(app, [*args, "--dry-run"], env=env)
    assert dry.exit_code == 2, dry.output  # a script can tell: rows with problems
    assert "第 5 行 B 投诉日期：无法识别的日期“2025-02-30”" in dry.output
    assert "共 3 行，可导入 2 行，已导入过 0 行，有问题 1 行" in dry.output
    assert _complaints(sessions) == 0
    done = runner.invoke(app, args, env=env)
    assert done.exit_code == 2  # the good rows are in; one row still needs fixing
    assert "已导入 2 行" in done.output and _complaints(sessions) == 2
    again = runner.invoke(app, args, env=env)
    assert "已导入 0 行，跳过 2 行" in again.output and _complaints(sessions) == 2
    path.write_bytes(LEDGER.replace("2025-02-30", "2025-02-28").encode("utf-8-sig"))
    fixed = runner.invoke(app, args, env=env)
    assert fixed.exit_code == 0 and _complaints(sessions) == 3  # every row in: exit 0


def test_a_row_whose_number_a_bad_row_already_has_is_a_duplicate_not_imported(
    sessions, org, settings, tmp_path
):
    """The ledger's first A-2 has a wrong date; the second A-2 is the same ledger entry typed
    again. It was imported, and once the first was corrected it was skipped as 'already': the
    corrected row never came in. The first occurrence holds the number."""
    path = tmp_path / "登记表.csv"
    text = LEDGER + "A-2,2025-03-01,王先生,139 0000 1111,桌面划痕（重复登记）\r\n"
    path.write_bytes(text.encode("utf-8-sig"))
    runner, env = CliRunner(), _env(settings)
    args = ["import", "ledger", str(path), "--org", "SH-NJ"]
    dry = runner.invoke(app, [*args, "--dry-run"], env=env)
    assert "第 7 行 A 编号：与第 5 行重复" in dry.output
    assert "共 4 行，可导入 2 行，已导入过 0 行，有问题 2 行" in dry.output  # every row counted
    first = runner.invoke(app, args, env=env)
    assert first.exit_code == 2 and _complaints(sessions) == 2
    path.write_bytes(text.replace("2025-02-30", "2025-02-28").encode("utf-8-sig"))
    runner.invoke(app, args, env=env)
    with reading(sessions) as session:
        texts = set(session.scalars(select(Complaint.description)))
    assert "桌面划痕" in texts and "桌面划痕（重复登记）" not in texts


def test_a_mapping_file_is_saved_under_its_name(sessions, org, settings, tmp_path):
    spec = tmp_path / "mapping.json"
    spec.write_text(json.dumps({"columns": {"来电日期": "received_at"}}), encoding="utf-8")
    runner, env = CliRunner(), _env(settings)
    saved = runner.invoke(
        app, ["import", "mapping", "门店台账", "--org", "HX", "--file", str(spec)], env=env
    )
    assert saved.exit_code == 0 and "门店台账" in saved.output
    spec.write_text(json.dumps({"columns": {"来电日期": "when"}}), encoding="utf-8")
    wrong = runner.invoke(
        app, ["import", "mapping", "门店台账", "--org", "HX", "--file", str(spec)], env=env
    )
    assert wrong.exit_code == 1 and "when" in wrong.output


def test_a_broken_mapping_file_is_refused_in_one_line_and_nothing_is_saved(
    sessions, org, settings, tmp_path
):
    from kesu.ledger.models import LedgerMapping

    runner, env = CliRunner(), _env(settings)
    spec = tmp_path / "mapping.json"
    for text, message in [
        ('{"columns": {"来电日期": "received_at",}}', "第 1 行第 36 列：不是有效的 JSON"),
        ('["received_at"]', '的格式应为 {"columns": {表头: 字段}'),
        ('{"columns": ["来电日期"]}', '的格式应为 {"columns": {表头: 字段}'),
    ]:
        spec.write_text(text, encoding="utf-8")
        result = runner.invoke(
            app, ["import", "mapping", "门店台账", "--org", "HX", "--file", str(spec)], env=env
        )
        assert result.exit_code == 1, result.output
        assert result.output.startswith("error: 列映射文件“mapping.json”"), result.output
        assert message in result.output and "Traceback" not in result.output
        assert len(result.output.strip().splitlines()) == 1
    spec.write_bytes('{"columns": {"来电日期": "received_at"}}'.encode("gbk"))
    result = runner.invoke(
        app, ["import", "mapping", "门店台账", "--org", "HX", "--file", str(spec)], env=env
    )
    assert result.exit_code == 1 and "不是 UTF-8 编码的文本" in result.output
    with reading(sessions) as session:
        assert session.scalar(select(func.count()).select_from(LedgerMapping)) == 0
