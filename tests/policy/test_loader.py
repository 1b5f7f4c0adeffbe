"""Pack files: built-in packs are valid; a broken one is refused naming file, line, path, rule."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from kesu.cli import app
from kesu.policy.loader import PackInvalid, advice, builtin_keys, builtin_source, parse_pack

runner = CliRunner()


@pytest.mark.parametrize("key", builtin_keys())
def test_every_built_in_pack_is_valid(key):
    pack = parse_pack(builtin_source(key), f"{key}.yaml")
    assert pack.key == key
    assert pack.level(pack.levels[0].key).closer_roles


def _broken(tmp_path, old: str, new: str):
    text = builtin_source("franchise-sales-center").replace(old, new, 1)
    path = tmp_path / "broken.yaml"
    path.write_text(text, encoding="utf-8")
    return path, text


def test_an_unknown_tier_on_a_level_is_named_with_its_line(tmp_path):
    path, text = _broken(tmp_path, "handler_tier: T1", "handler_tier: T9")
    with pytest.raises(PackInvalid) as err:
        parse_pack(text, str(path))
    problem = err.value.problems[0]
    line = text.splitlines().index("    handler_tier: T9") + 1
    assert problem.rule == "unknown tier: 'T9'" and problem.path == "levels.L1.handler_tier"
    assert problem.line == line  # the level's line, not the pack's first
    result = runner.invoke(app, ["policy", "validate", str(path)])
    assert result.exit_code == 1
    assert f"broken.yaml:{line}: levels.L1.handler_tier: 未知的层级：'T9'" in result.output
    result = runner.invoke(app, ["policy", "validate", str(path), "--lang", "en"])
    assert f"broken.yaml:{line}: levels.L1.handler_tier: unknown tier: 'T9'" in result.output


def test_a_check_across_the_pack_reports_every_problem_it_finds(tmp_path):
    path, text = _broken(tmp_path, "handler_tier: T1", "handler_tier: T9")
    text = text.replace("handler_tier: T2", "handler_tier: T8", 1)
    path.write_text(text, encoding="utf-8")
    with pytest.raises(PackInvalid) as err:
        parse_pack(text, str(path))
    found = [(p.path, p.said("zh_Hant")) for p in err.value.problems]
    assert ("levels.L1.handler_tier", "未知的層級：'T9'") in found
    assert ("levels.L2.handler_tier", "未知的層級：'T8'") in found


def test_every_section_s_unknown_names_are_reported_in_one_run(tmp_path):
    """A deployer's edited pack with a wrong tier in the authority table, a misspelt role in a
    timer and an unknown level in the repeat rule hears of all three at once, each on its line."""
    path, text = _broken(tmp_path, "{up_to: 2000, tier: T2}", "{up_to: 2000, tier: T5}")
    text = text.replace("    warn: [receiver]", "    warn: [reciever]", 1)
    text = text.replace("min_level: L2", "min_level: L4", 1)
    path.write_text(text, encoding="utf-8")
    lines = text.splitlines()
    result = runner.invoke(app, ["policy", "validate", str(path), "--lang", "en"])
    assert result.exit_code == 1
    for path_in_pack, line_text, rule in [
        ("authority.1.tier", "  - {up_to: 2000, tier: T5}", "unknown tier: 'T5'"),
        ("timers.first_contact.warn", "    warn: [reciever]", "unknown recipient: 'reciever'"),
        ("escalation.repeat.min_level", "    min_level: L4", "unknown level: 'L4'"),
    ]:
        line = lines.index(line_text) + 1
        assert f"broken.yaml:{line}: {path_in_pack}: {rule}" in result.output


def test_a_check_across_the_pack_names_the_line_of_the_item_it_is_about(tmp_path):
    text = builtin_source("billiards-club").replace(
        "manager_roles: [", "manager_roles: [nobody, ", 1
    )
    with pytest.raises(PackInvalid) as err:
        parse_pack(text, "club.yaml")
    problem = err.value.problems[0]
    assert problem.path == "improvement.manager_roles"
    assert text.splitlines()[problem.line - 1].strip().startswith("manager_roles: [nobody")


def test_a_wrong_value_type_names_the_file_line_and_path(tmp_path):
    current = next(
        x for x in builtin_source("franchise-sales-center").splitlines() if x.startswith("version:")
    )
    path, text = _broken(tmp_path, current, "version: one")
    with pytest.raises(PackInvalid) as err:
        parse_pack(text, str(path))
    problem = err.value.problems[0]
    line = text.splitlines().index("version: one") + 1
    assert (problem.file, problem.line, problem.path) == (str(path), line, "version")
    assert f"{path}:{line}: version: must be a whole number" == str(problem)
    assert problem.said("zh_Hans") == "必须是整数"


def test_a_role_with_an_unknown_command_is_refused(tmp_path):
    path, text = _broken(tmp_path, "commands: [close, note]", "commands: [close, shred]")
    with pytest.raises(PackInvalid) as err:
        parse_pack(text, str(path))
    assert "shred" in str(err.value.problems[0])
    assert err.value.problems[0].rule.startswith("unknown command: 'shred' (known: receive, ")
    assert err.value.problems[0].said("zh_Hans").startswith("未知的命令：'shred'（可用：receive")
    assert err.value.problems[0].path.startswith("roles.")


def test_a_value_outside_its_choices_lists_them_as_the_reader_writes_a_list(tmp_path):
    path, text = _broken(tmp_path, "effect: pause", "effect: freeze")
    with pytest.raises(PackInvalid) as err:
        parse_pack(text, str(path))
    problem = err.value.problems[0]
    assert problem.path == "delays.effect"
    assert problem.said("zh_Hans") == "必须是以下之一：'pause'、'extend'"
    assert problem.said("en") == "must be one of 'pause' or 'extend'"


def test_yaml_that_does_not_parse_is_reported_with_its_line(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("key: x\nlevels: [\n", encoding="utf-8")
    result = runner.invoke(app, ["policy", "validate", str(path)])
    assert result.exit_code == 1 and f"{path}:3: (pack): 不是有效的 YAML：" in result.output
    result = runner.invoke(app, ["policy", "validate", str(path), "--lang", "en"])
    assert result.exit_code == 1 and f"{path}:3: (pack): not valid YAML: " in result.output
    assert "line 3" not in result.output  # said once, where a deployer looks for it


def test_a_pack_saved_as_gbk_is_refused_naming_the_line_and_the_encoding(tmp_path):
    """A Windows editor saves Chinese as GBK: the operator is told so, not shown a traceback."""
    path = tmp_path / "gbk.yaml"
    path.write_bytes(builtin_source("default").encode("gbk"))
    result = runner.invoke(app, ["policy", "validate", str(path)])
    assert result.exit_code == 1
    first_chinese = next(
        n for n, line in enumerate(builtin_source("default").splitlines(), 1) if not line.isascii()
    )
    assert result.output.startswith(f"{path}:{first_chinese}: (pack): 不是 UTF-8 文本")
    result = runner.invoke(app, ["policy", "validate", str(path), "--lang", "en"])
    assert result.output.startswith(f"{path}:{first_chinese}: (pack): not UTF-8 text")
    result = runner.invoke(app, ["policy", "show", str(path)])
    assert result.exit_code == 1 and "save the file as UTF-8" in result.output


def test_a_valid_pack_file_passes_validation(tmp_path):
    path = tmp_path / "ok.yaml"
    path.write_text(builtin_source("default"), encoding="utf-8")
    result = runner.invoke(app, ["policy", "validate", str(path)])
    assert result.exit_code == 0 and "valid pack default" in result.output


def test_policy_show_reads_seed_001s_response_rounds_as_words_not_a_python_mapping():
    from kesu.policy.summary import describe

    lines = describe(parse_pack(builtin_source("service-center"), "service-center.yaml"), "en")
    assert "  response rounds: at most 2; crisis: case by case" in lines


@pytest.mark.parametrize("key", builtin_keys())
def test_no_built_in_pack_asks_a_handler_s_own_tier_alone_to_review(key):
    assert advice(parse_pack(builtin_source(key)), builtin_source(key)) == []


def test_validate_warns_of_a_review_only_the_handler_s_own_tier_can_give(tmp_path):
    """The default pack's 重大投诉 used to be handled by a T3 and reviewed by a T3: with one
    manager it could never close. The pack is valid, so validate says so, then warns."""
    text = builtin_source("default").replace(
        "    handler_tier: T3\n    review_chain: []",
        "    handler_tier: T3\n    review_chain: [{tier: T3}]",
    )
    path = tmp_path / "mine.yaml"
    path.write_text(text, encoding="utf-8")
    line = text.splitlines().index("    review_chain: [{tier: T3}]") + 1
    result = runner.invoke(app, ["policy", "validate", str(path)])
    assert result.exit_code == 0 and "valid pack default" in result.output
    where = f"mine.yaml:{line}: levels.critical.review_chain.0: "
    assert (
        where + "提醒：此审核（客服经理）只有与处理人同一层级（客服经理）的人员能签"
        in result.output
    )
    assert "永远无法结案重大投诉" in result.output
    result = runner.invoke(app, ["policy", "validate", str(path), "--lang", "en"])
    assert "can never close a Critical complaint" in result.output
