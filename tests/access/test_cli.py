"""The account and audit commands an operator runs on the server."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from helpers import login
from kesu.access.models import User
from kesu.cli import app as cli_app
from kesu.db.session import transaction
from kesu.demo import PASSWORD


@pytest.fixture
def kesu(settings, monkeypatch, org):
    monkeypatch.setenv("KESU_DATABASE_URL", settings.db_url)
    monkeypatch.setenv("KESU_DATA_DIR", str(settings.data_dir))

    def invoke(*args: str):
        result = CliRunner().invoke(cli_app, list(args))
        assert result.exit_code == 0, result.output
        return result.output

    return invoke


def test_an_operator_issues_a_scoped_token_and_revokes_everything_of_a_user(kesu, client):
    raw = kesu("token", "create", "director", "--name", "erp", "--scope", "read").strip()
    api = {"Authorization": f"Bearer {raw}"}
    assert client.get("/api/v1/complaints", headers=api).status_code == 200
    assert client.post("/api/v1/tokens", json={"name": "x"}, headers=api).status_code == 403
    assert "1 token of director revoked" in kesu("token", "revoke-all", "director")
    assert client.get("/api/v1/me", headers=api).status_code == 401


def test_a_password_typed_at_the_prompt_is_asked_twice_and_a_mismatch_changes_nothing(
    settings, monkeypatch, org, client
):
    """A typo in a hidden password would lock the person out: the prompt asks again."""
    monkeypatch.setenv("KESU_DATABASE_URL", settings.db_url)
    monkeypatch.setenv("KESU_DATA_DIR", str(settings.data_dir))
    typed = "a-fresh-secret-1\na-fresh-secret-2\n"
    result = CliRunner().invoke(cli_app, ["user", "password", "receiver2"], input=typed)
    assert result.exit_code != 0 and "do not match" in result.output
    login(client, "receiver2", PASSWORD)  # unchanged
    typed = "a-fresh-secret-1\na-fresh-secret-1\n"
    result = CliRunner().invoke(cli_app, ["user", "password", "receiver2"], input=typed)
    assert result.exit_code == 0, result.output
    login(client, "receiver2", "a-fresh-secret-1")
    add = ["user", "add", "newbie", "--role", "receiver", "--org", "HX"]
    result = CliRunner().invoke(cli_app, add, input="Newbie-pass-2026\nNewbie-pass-2027\n")
    assert result.exit_code != 0 and "do not match" in result.output


@pytest.mark.parametrize(("name", "said"), [("  ", "--name: required"), ("x" * 101, "at most 100")])
def test_a_token_needs_a_name_that_fits(settings, monkeypatch, org, name, said):
    monkeypatch.setenv("KESU_DATABASE_URL", settings.db_url)
    monkeypatch.setenv("KESU_DATA_DIR", str(settings.data_dir))
    result = CliRunner().invoke(cli_app, ["token", "create", "director", "--name", name])
    assert result.exit_code == 1 and said in result.output and "ks_" not in result.output


def test_an_operator_deactivates_resets_and_unlocks_a_user(kesu, client):
    kesu("user", "deactivate", "receiver2")
    r = client.post("/api/v1/auth/login", json={"username": "receiver2", "password": PASSWORD})
    assert r.status_code == 401
    kesu("user", "activate", "receiver2")
    kesu("user", "password", "receiver2", "--password", "a-fresh-secret-1")
    for _ in range(5):
        client.post("/api/v1/auth/login", json={"username": "receiver2", "password": "nope"})
    kesu("user", "unlock", "receiver2")
    login(client, "receiver2", "a-fresh-secret-1")
    trail = client.get("/api/v1/audit/config", headers=login(client, "admin")).json()
    actions = [e["action"] for e in trail[:4]]
    assert actions == ["user.unlock", "user.password_reset", "user.activate", "user.deactivate"]
    assert trail[0]["actor_label"] == "system"


def test_an_anchor_can_be_signed_on_demand_and_verify_reports_it(kesu, client):
    assert "nothing new to anchor" not in kesu("audit", "anchor")  # the users added are new
    assert "nothing new to anchor" in kesu("audit", "anchor")
    assert "1 signed anchors match" in kesu("audit", "verify")


def test_keygen_prints_a_long_random_key(kesu):
    one, two = kesu("keygen").strip(), kesu("keygen").strip()
    assert len(one) >= 60 and one != two


@pytest.mark.parametrize(
    ("env", "named"),
    [
        (
            {"KESU_ENVIRONMENT": "production", "KESU_DATA_KEY": "d" * 40},
            "KESU_SECRET_KEY must be set in production",
        ),
        (
            {"KESU_ENVIRONMENT": "production", "KESU_SECRET_KEY": "s" * 40},
            "KESU_DATA_KEY must be set in production",
        ),
        (
            {
                "KESU_ENVIRONMENT": "production",
                "KESU_SECRET_KEY": "changeme",
                "KESU_DATA_KEY": "d" * 40,
            },
            "KESU_SECRET_KEY must be at least 32 characters",
        ),
        ({"KESU_ENVIRONMENT": "prod"}, "KESU_ENVIRONMENT: Input should be 'development' or"),
        ({"KESU_WORKER_INTERVAL_SECONDS": "0"}, "KESU_WORKER_INTERVAL_SECONDS: Input should be"),
        ({"KESU_SESSION_HOURS": "0"}, "KESU_SESSION_HOURS: Input should be greater than or"),
        ({"KESU_SMTP_PORT": "70000"}, "KESU_SMTP_PORT: Input should be less than or equal"),
        ({"KESU_DEFAULT_LOCALE": "fr"}, "KESU_DEFAULT_LOCALE: Input should be 'zh_Hans', 'zh_H"),
    ],
)
def test_settings_that_cannot_run_are_refused_in_one_line_and_nothing_is_done(
    settings, monkeypatch, env, named
):
    monkeypatch.setenv("KESU_DATABASE_URL", settings.db_url)
    monkeypatch.setenv("KESU_DATA_DIR", str(settings.data_dir))
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    result = CliRunner().invoke(cli_app, ["db", "upgrade"])
    assert result.exit_code == 1
    assert result.output.startswith(f"error: {named}") and result.output.count("\n") == 1
    assert CliRunner().invoke(cli_app, ["keygen"]).exit_code == 0  # how to make the keys


def test_production_without_either_key_names_both_at_once(settings, monkeypatch):
    """A deployer who has not set the keys yet hears of both, one line each, not the second
    only after fixing the first."""
    monkeypatch.setenv("KESU_DATABASE_URL", settings.db_url)
    monkeypatch.setenv("KESU_ENVIRONMENT", "production")
    monkeypatch.setenv("KESU_DATA_KEY", "short")
    result = CliRunner().invoke(cli_app, ["health"])
    assert result.exit_code == 1
    assert result.output.splitlines() == [
        "error: KESU_SECRET_KEY must be set in production (`kesu keygen` prints one)",
        "error: KESU_DATA_KEY must be at least 32 characters in production"
        " (`kesu keygen` prints one)",
    ]


def test_production_is_production_in_any_case():
    from kesu.settings import Settings

    prod = Settings(
        environment=" Production", secret_key="s" * 40, data_key="d" * 40, _env_file=None
    )
    assert prod.environment == "production"
    assert Settings(default_locale="zh-hant", _env_file=None).default_locale == "zh_Hant"


def test_a_new_deployment_adds_its_group_and_sites_from_the_command_line(kesu, settings, client):
    """After `kesu db upgrade` on an empty database there is no organisation yet, and
    `kesu user add` needs one: `kesu org add` makes the group with its pack, then its units."""
    assert "group ACME" in kesu("org", "add", "ACME", "--name", "艾克美", "--pack", "retail-store")
    kesu("org", "add", "ACME-1", "--name", "一号店", "--kind", "site", "--parent", "ACME")
    kesu(
        "user",
        "add",
        "boss",
        "--role",
        "store_manager",
        "--org",
        "ACME",
        "--password",
        "Kesu-boss-2026!",
        "--lang",
        "en-GB",
    )
    listed = kesu("org", "list")
    assert "ACME\tgroup\t艾克美\t-\tretail-store" in listed
    assert "ACME-1\tsite\t一号店\tACME\t-" in listed
    me = client.get("/api/v1/me", headers=login(client, "boss", "Kesu-boss-2026!")).json()
    assert (me["username"], me["locale"]) == ("boss", "en")  # their e-mails are in English
    kesu("user", "add", "acme.admin", "--role", "admin", "--org", "ACME", "--password", PASSWORD)
    trail = client.get("/api/v1/audit/config", headers=login(client, "acme.admin")).json()
    assert {"org.create"} <= {e["action"] for e in trail}
    others = client.get("/api/v1/audit/config", headers=login(client, "admin")).json()
    assert "org.create" not in {e["action"] for e in others}  # another group's trail


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["ACME", "--name", "x", "--pack", "no-such-pack"], "Policy pack no-such-pack not found"),
        (["ACME", "--name", "x"], "--pack: required"),
        (["S", "--name", "x", "--kind", "site"], "--parent: a valid parent organisation is"),
        (["S", "--name", "x", "--kind", "store"], "--kind: 'store' is not one of group, region,"),
        (["S", "--name", "x", "--kind", "site", "--parent", "NOPE"], "no organisation with code"),
        (
            ["S", "--name", "x", "--kind", "site", "--parent", "HX", "--pack", "retail-store"],
            "--pack: only a group names its pack",
        ),
        (["S 1", "--name", "x", "--kind", "site", "--parent", "HX"], "code: 'S 1' may hold only"),
        (["S1", "--name", "  ", "--kind", "site", "--parent", "HX"], "--name: required"),
        (
            ["S1", "--name", "店" * 201, "--kind", "site", "--parent", "HX"],
            "at most 200 characters",
        ),
    ],
)
def test_org_add_refuses_a_bad_organisation_and_adds_nothing(
    settings, monkeypatch, org, args, named
):
    monkeypatch.setenv("KESU_DATABASE_URL", settings.db_url)
    monkeypatch.setenv("KESU_DATA_DIR", str(settings.data_dir))
    before = CliRunner().invoke(cli_app, ["org", "list"]).output
    result = CliRunner().invoke(cli_app, ["org", "add", *args])
    assert result.exit_code == 1 and result.output.startswith("error: ")
    assert named in result.output
    assert CliRunner().invoke(cli_app, ["org", "list"]).output == before


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["wang xl", "--name", "王小丽"], "username: 'wang xl' must be 2–60 letters, digits or"),
        (["wangxl", "--name", "   "], "--name: required"),
    ],
)
def test_user_add_refuses_a_name_the_api_would_refuse_and_adds_no_one(
    settings, monkeypatch, org, sessions, args, named
):
    monkeypatch.setenv("KESU_DATABASE_URL", settings.db_url)
    monkeypatch.setenv("KESU_DATA_DIR", str(settings.data_dir))
    options = ["--role", "receiver", "--org", "SH-NJ", "--password", "a-fresh-secret-1"]
    result = CliRunner().invoke(cli_app, ["user", "add", *args, *options])
    assert result.exit_code == 1 and named in result.output
    with transaction(sessions) as session:
        assert session.scalar(select(func.count()).where(User.username.like("wang%"))) == 0


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (
            ["token", "create", "director", "--scope", "admin"],
            "--scope: 'admin' is not one of read",
        ),
        (["notify", "list", "--state", "lost"], "--state: 'lost' is not one of pending, sent"),
    ],
)
def test_an_option_outside_its_choices_names_them_not_the_pack(
    settings, monkeypatch, org, args, named
):
    monkeypatch.setenv("KESU_DATABASE_URL", settings.db_url)
    monkeypatch.setenv("KESU_DATA_DIR", str(settings.data_dir))
    result = CliRunner().invoke(cli_app, args)
    assert result.exit_code == 1 and result.output.startswith(f"error: {named}")
    assert "pack" not in result.output


@pytest.mark.parametrize(
    "args",
    [
        ["serve", "--port", "70000"],
        ["serve", "--port", "0"],
        ["serve", "--workers", "0"],
        ["demo", "--complaints", "-1"],
    ],
)
def test_serve_and_demo_refuse_impossible_numbers_before_touching_anything(
    tmp_path, monkeypatch, args
):
    monkeypatch.setenv("KESU_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("KESU_DATABASE_URL", raising=False)
    result = CliRunner().invoke(cli_app, args)
    assert result.exit_code == 2 and "Invalid value for '--" in result.output
    assert not (tmp_path / "data").exists()


@pytest.mark.parametrize(
    ("url", "named"),
    [
        ("garbage", "error: KESU_DATABASE_URL: not a database URL Kesu can use"),
        (
            "postgresql+psycopg://kesu:secret-pw@127.0.0.1:1/kesu",
            "error: cannot reach the database postgresql+psycopg://kesu:***@127.0.0.1:1/kesu:",
        ),
        ("sqlite:///{tmp}/empty.db", "has no Kesu tables yet: run `kesu db upgrade` first"),
    ],
)
def test_a_database_kesu_cannot_use_is_named_in_one_line_with_the_password_hidden(
    tmp_path, monkeypatch, url, named
):
    monkeypatch.setenv("KESU_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("KESU_DATABASE_URL", url.format(tmp=tmp_path))
    for args in (["user", "unlock", "admin"], ["report", "weekly"], ["worker", "--once"]):
        result = CliRunner().invoke(cli_app, args)
        assert result.exit_code == 1 and named in result.output, (args, result.output)
        assert result.output.count("\n") == 1 and "secret-pw" not in result.output


def test_serve_passes_the_proxy_and_access_log_settings_the_deployment_docs_name(
    settings, monkeypatch, org
):
    """docs/performance.md says `--no-access-log`, docs/security.md a trusted proxy address:
    both are `kesu serve` options handed to uvicorn."""
    import uvicorn

    monkeypatch.setenv("KESU_DATABASE_URL", settings.db_url)
    monkeypatch.setenv("KESU_DATA_DIR", str(settings.data_dir))
    seen = {}
    monkeypatch.setattr(uvicorn, "run", lambda *a, **kw: seen.update(kw))
    args = ["serve", "--no-worker", "--no-access-log", "--forwarded-allow-ips", "10.0.0.5"]
    result = CliRunner().invoke(cli_app, args)
    assert result.exit_code == 0, result.output
    assert seen["access_log"] is False and seen["forwarded_allow_ips"] == "10.0.0.5"
    CliRunner().invoke(cli_app, ["serve", "--no-worker"])
    assert seen["access_log"] is True and seen["forwarded_allow_ips"] is None


@pytest.mark.parametrize(
    "args",
    [
        ["report", "weekly", "--lang", "fr"],
        ["improvement", "review", "--lang", "fr"],
        ["cases", "search", "沙发", "--lang", "fr"],
        ["policy", "show", "retail-store", "--lang", "fr"],
    ],
)
def test_an_unknown_language_is_refused_not_read_as_chinese(settings, monkeypatch, org, args):
    monkeypatch.setenv("KESU_DATABASE_URL", settings.db_url)
    monkeypatch.setenv("KESU_DATA_DIR", str(settings.data_dir))
    result = CliRunner().invoke(cli_app, args)
    assert result.exit_code == 1
    assert result.output == "error: --lang: 'fr' is not one of zh_Hans, zh_Hant, en\n"


def test_a_language_may_be_spelled_as_a_browser_does(settings, monkeypatch, org):
    monkeypatch.setenv("KESU_DATABASE_URL", settings.db_url)
    result = CliRunner().invoke(cli_app, ["policy", "show", "retail-store", "--lang", "zh-TW"])
    assert result.exit_code == 0 and "顧客抱怨處理作業程序辦法" in result.output


def test_a_report_on_a_new_database_says_to_add_the_organisation_first(tmp_path, monkeypatch):
    monkeypatch.setenv("KESU_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("KESU_DATABASE_URL", raising=False)
    assert CliRunner().invoke(cli_app, ["db", "upgrade"]).exit_code == 0
    result = CliRunner().invoke(cli_app, ["report", "weekly", "--lang", "en"])
    assert result.exit_code == 1
    assert result.output.startswith("error: There is no organisation yet: add the group with")
    assert "kesu org add" in result.output


def test_no_token_is_made_for_a_deactivated_user(kesu, settings, client):
    kesu("user", "deactivate", "receiver2")
    result = CliRunner().invoke(cli_app, ["token", "create", "receiver2"])
    assert result.exit_code == 1 and result.output == "error: This account is deactivated\n"
    kesu("user", "activate", "receiver2")
    trail = client.get("/api/v1/audit/config", headers=login(client, "admin")).json()
    assert "token.issue" not in {e["action"] for e in trail}


def test_db_upgrade_does_not_print_the_database_password(monkeypatch, tmp_path):
    import kesu.cli

    monkeypatch.setenv("KESU_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("KESU_DATABASE_URL", "postgresql+psycopg://kesu:s3cret-pw@db.example/kesu")
    monkeypatch.setattr(kesu.cli, "prepare", lambda settings: None)
    result = CliRunner().invoke(cli_app, ["db", "upgrade"])
    assert result.exit_code == 0
    assert result.output == "database ready: postgresql+psycopg://kesu:***@db.example/kesu\n"


def test_a_deactivated_handlers_open_complaints_go_to_someone_who_can_work_them(
    kesu, client, org, sessions
):
    """The closed loop: before, a person who left kept their open complaints (nobody was
    working them, and nothing said so); now they go to whoever auto-assignment picks, on the
    complaint's timeline, from the CLI and the API alike."""
    from sqlalchemy import select

    from helpers import complaint_body
    from kesu.access.models import User
    from kesu.complaint.models import Complaint, ComplaintEvent
    from kesu.db.session import reading

    receiver1 = login(client, "receiver1")
    made = [
        client.post("/api/v1/complaints", json=complaint_body(org), headers=receiver1).json()
        for _ in range(2)
    ]
    with reading(sessions) as s:
        mine = s.scalar(select(User.id).where(User.username == "receiver1"))
    theirs = [c for c in made if c["assignee_id"] == mine]  # the receiver keeps what they took
    assert theirs
    out = kesu("user", "deactivate", "receiver1")
    assert all(c["number"] in out for c in theirs) and "handed over" in out
    with reading(sessions) as s:
        for c in s.scalars(select(Complaint).where(Complaint.id.in_([c["id"] for c in theirs]))):
            owner = s.get(User, c.assignee_id)
            assert owner.username != "receiver1" and owner.active
            last = s.scalars(
                select(ComplaintEvent)
                .where(ComplaintEvent.complaint_id == c.id)
                .order_by(ComplaintEvent.seq.desc())
            ).first()
            assert (last.command, last.actor_kind) == ("assign", "system")
            now_owner = owner.username

    third = client.post(
        "/api/v1/complaints", json=complaint_body(org), headers=login(client, now_owner)
    ).json()
    admin = login(client, "admin")
    with reading(sessions) as s:
        owner_id = s.scalar(select(User.id).where(User.username == now_owner))
    r = client.post(f"/api/v1/users/{owner_id}/deactivate", headers=admin)
    assert r.status_code == 200, r.text
    after = client.get(f"/api/v1/complaints/{third['id']}", headers=admin).json()
    assert after["assignee_id"] not in (None, owner_id)
