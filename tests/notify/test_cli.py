"""`kesu notify …` on the command line, against a real SMTP server."""

from __future__ import annotations

from typer.testing import CliRunner

from kesu.cli import app
from kesu.db.session import transaction
from kesu.notify import deliver, service

runner = CliRunner()


def env(db_url, tmp_path, **extra) -> dict[str, str]:
    return {"KESU_DATABASE_URL": db_url, "KESU_DATA_DIR": str(tmp_path), **extra}


def test_test_email_is_sent_through_the_configured_server(db_url, tmp_path, org, smtp_server):
    result = runner.invoke(
        app,
        ["notify", "test-email", "it@hx.example"],
        env=env(
            db_url, tmp_path, KESU_SMTP_HOST=smtp_server.host, KESU_SMTP_PORT=str(smtp_server.port)
        ),
    )
    assert result.exit_code == 0, result.output
    assert "sent to it@hx.example" in result.output
    (message,) = smtp_server.mailbox.to("it@hx.example")
    assert message["Subject"] == "客诉系统测试邮件"


def test_test_email_fails_loudly_when_the_server_refuses_or_none_is_set(
    db_url, tmp_path, org, smtp_server
):
    smtp_server.mailbox.rcpt_reply = "550 5.1.1 No such user"
    refused = runner.invoke(
        app,
        ["notify", "test-email", "nobody@hx.example"],
        env=env(
            db_url, tmp_path, KESU_SMTP_HOST=smtp_server.host, KESU_SMTP_PORT=str(smtp_server.port)
        ),
    )
    assert refused.exit_code == 1 and "550" in refused.output
    unset = runner.invoke(app, ["notify", "test-email", "a@hx.example"], env=env(db_url, tmp_path))
    assert unset.exit_code == 1 and "KESU_SMTP_HOST" in unset.output


def test_a_test_email_that_failed_is_not_sent_again_by_the_worker(db_url, tmp_path, org, sessions):
    import socket

    with socket.socket() as closed:  # a port nothing listens on: a failure worth a retry
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    smtp = {"KESU_SMTP_HOST": "127.0.0.1", "KESU_SMTP_PORT": str(port)}
    result = runner.invoke(
        app, ["notify", "test-email", "it@hx.example"], env=env(db_url, tmp_path, **smtp)
    )
    assert result.exit_code == 1 and "not retried" in result.output
    with sessions() as session:
        (row,) = service.list_outbox(session, org_id=None, state=None, limit=10)
        assert (row.state, row.next_attempt_at) == ("dead", None)


def test_test_email_refuses_what_is_not_an_address_and_queues_nothing(
    db_url, tmp_path, org, sessions, smtp_server
):
    smtp = {"KESU_SMTP_HOST": smtp_server.host, "KESU_SMTP_PORT": str(smtp_server.port)}
    result = runner.invoke(
        app, ["notify", "test-email", "it at hx"], env=env(db_url, tmp_path, **smtp)
    )
    assert result.exit_code == 1 and result.output == "error: 'it at hx' is not an e-mail address\n"
    with sessions() as session:
        assert service.list_outbox(session, org_id=None, state=None, limit=10) == []


def test_list_shows_dead_rows_with_their_error_and_retry_makes_one_due_but_not_a_sent_one(
    db_url, tmp_path, sessions, clock, settings, org, webhook_server
):
    with transaction(sessions) as session:
        service.save_channel(
            session,
            now=clock.now(),
            channel=None,
            org_id=org["HX"],
            kind="wecom",
            name="群",
            target=webhook_server.url,
            secret=None,
            locale="zh_Hans",
            events=[],
            enabled=True,
        )
        from sqlalchemy import select

        from kesu.access.models import User

        uid = session.scalar(select(User.id).where(User.username == "supervisor"))
        service.notify_users(
            session,
            now=clock.now(),
            user_ids=[uid],
            template="test",
            params={},
            dedupe_key="k",
        )
    webhook_server.status = 400
    deliver.deliver_due(sessions, clock, settings)

    listed = runner.invoke(app, ["notify", "list", "--state", "dead"], env=env(db_url, tmp_path))
    assert listed.exit_code == 0, listed.output
    (line,) = listed.output.strip().splitlines()
    row_id, state, channel = line.split("\t")[:3]
    assert (state, channel) == ("dead", "webhook") and "HTTP 400" in line

    retried = runner.invoke(app, ["notify", "retry", row_id], env=env(db_url, tmp_path))
    assert retried.exit_code == 0 and "due again" in retried.output
    webhook_server.status = 200
    with transaction(sessions) as session:  # the command line runs on the wall clock
        clock.set(service.get_outbox(session, int(row_id), org_id=None).next_attempt_at)
    assert deliver.deliver_due(sessions, clock, settings) == 1
    again = runner.invoke(app, ["notify", "retry", row_id], env=env(db_url, tmp_path))
    assert again.exit_code == 1 and "only a failed or dead notification" in again.output


def test_set_email_gives_a_staff_member_an_address(db_url, tmp_path, org, sessions):
    result = runner.invoke(
        app, ["notify", "set-email", "supervisor", "zhang@hx.example"], env=env(db_url, tmp_path)
    )
    assert result.exit_code == 0, result.output
    from sqlalchemy import select

    from kesu.access.models import User

    with transaction(sessions) as session:
        email = session.scalar(select(User.email).where(User.username == "supervisor"))
    assert email == "zhang@hx.example"


def test_retrying_a_customers_message_shows_their_number_masked_as_the_list_does(
    db_url, tmp_path, sessions, clock, org
):
    from sqlalchemy import select, update

    from helpers import receive
    from kesu.notify.models import Outbox

    receive(sessions, clock, org)  # 林女士, 138 1234 5678: her acknowledgement is an SMS
    with transaction(sessions) as session:
        row_id = session.scalar(select(Outbox.id).where(Outbox.recipient_kind == "customer"))
        session.execute(update(Outbox).where(Outbox.id == row_id).values(state="dead"))

    listed = runner.invoke(app, ["notify", "list", "--state", "dead"], env=env(db_url, tmp_path))
    retried = runner.invoke(app, ["notify", "retry", str(row_id)], env=env(db_url, tmp_path))
    assert retried.exit_code == 0, retried.output
    assert "due again (sms-log to 138****5678)" in retried.output
    assert "138****5678" in listed.output
    assert "5678" in retried.output and "1234" not in retried.output


def test_retry_failed_makes_every_message_waiting_for_a_retry_due_but_not_dead_or_in_flight_ones(
    db_url, tmp_path, sessions, clock, org
):
    from datetime import UTC, datetime, timedelta

    from sqlalchemy import select, update

    from helpers import receive
    from kesu.notify.models import DeliveryAttempt, Outbox

    for _ in range(3):  # 林女士, 138 1234 5678: each acknowledgement is an SMS
        receive(sessions, clock, org)
    # backing off after a long mail outage (the command line runs on the wall clock)
    later = datetime.now(UTC) + timedelta(hours=12)
    with transaction(sessions) as session:
        waiting, sending, dead = session.scalars(
            select(Outbox.id).where(Outbox.recipient_kind == "customer").order_by(Outbox.id)
        ).all()[:3]
        session.execute(update(Outbox).values(state="sent", next_attempt_at=None))
        session.execute(
            update(Outbox)
            .where(Outbox.id.in_([waiting, sending]))
            .values(state="failed", next_attempt_at=later)
        )
        session.execute(update(Outbox).where(Outbox.id == dead).values(state="dead"))
        session.add(
            DeliveryAttempt(outbox_id=sending, number=1, started_at=clock.now(), result="started")
        )

    retried = runner.invoke(app, ["notify", "retry", "--failed"], env=env(db_url, tmp_path))
    assert retried.exit_code == 0, retried.output
    assert retried.output.splitlines() == [
        f"outbox {waiting} is due again (sms-log to 138****5678)",
        "1 failed message(s) due again",
    ]
    with sessions() as session:
        due = {r.id: r.next_attempt_at for r in session.scalars(select(Outbox))}
    naive = later.replace(tzinfo=None)  # SQLite gives back naive UTC
    assert due[waiting].replace(tzinfo=None) < naive
    assert due[sending].replace(tzinfo=None) == naive
    assert due[dead] is None
    neither = runner.invoke(app, ["notify", "retry"], env=env(db_url, tmp_path))
    both = runner.invoke(app, ["notify", "retry", str(dead), "--failed"], env=env(db_url, tmp_path))
    assert neither.exit_code == both.exit_code == 1 and "--failed" in neither.output
