"""Delivery against real servers on 127.0.0.1: SMTP (aiosmtpd) and an HTTP webhook receiver."""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import threading
import urllib.parse

import pytest
from sqlalchemy import select

from kesu import worker
from kesu.complaint import tracking
from kesu.db.session import transaction
from kesu.notify import deliver, rules, service
from kesu.notify.models import DeliveryAttempt, NotificationChannel, Outbox

PARAMS = {
    "number": "FS20261126001",
    "title": "沙发坐垫塌陷",
    "level": "L1",
    "complainant": "林女士",
    "phone": "138 1234 5678",
}


def enqueue_users(sessions, clock, user_ids, key="received:1", params=PARAMS, **kw) -> int:
    with transaction(sessions) as session:
        return service.notify_users(
            session,
            now=clock.now(),
            user_ids=user_ids,
            template=kw.pop("template", "complaint_received"),
            params=params,
            dedupe_key=key,
            **kw,
        )


def add_channel(sessions, clock, org_id, kind, target, secret=None, locale="zh_Hans"):
    with transaction(sessions) as session:
        ch = service.save_channel(
            session,
            now=clock.now(),
            channel=None,
            org_id=org_id,
            kind=kind,
            name=kind,
            target=target,
            secret=secret,
            locale=locale,
            events=[],
            enabled=True,
        )
        return ch.id, ch.secret


def outbox(sessions) -> list[Outbox]:
    with transaction(sessions) as session:
        return list(session.scalars(select(Outbox).order_by(Outbox.id)))


def history(sessions, outbox_id=None) -> list[DeliveryAttempt]:
    stmt = select(DeliveryAttempt).order_by(DeliveryAttempt.outbox_id, DeliveryAttempt.number)
    if outbox_id is not None:
        stmt = stmt.where(DeliveryAttempt.outbox_id == outbox_id)
    with transaction(sessions) as session:
        return list(session.scalars(stmt))


def test_each_staff_member_gets_one_email_in_their_own_language_with_the_phone_masked(
    sessions, clock, smtp_settings, smtp_server, give_email
):
    ids = [
        give_email("supervisor", "zhang@hx.example"),
        give_email("director", "zhao@hx.example", locale="en"),
        give_email("admincenter", "sun@hx.example", locale="zh_Hant"),
    ]
    enqueue_users(sessions, clock, ids)

    assert deliver.deliver_due(sessions, clock, smtp_settings) == 3
    assert deliver.deliver_due(sessions, clock, smtp_settings) == 0

    mail = smtp_server.mailbox
    assert len(mail.messages) == 3
    (zh,), (en,), (hant,) = (
        mail.to(a) for a in ("zhang@hx.example", "zhao@hx.example", "sun@hx.example")
    )
    assert zh["Subject"] == "新投诉 FS20261126001：沙发坐垫塌陷"
    assert en["Subject"] == "New complaint FS20261126001: 沙发坐垫塌陷"
    assert "投訴人：林女士" in hant.get_content()
    for message in (zh, en, hant):
        assert "*** **** 5678" in message.get_content()
        assert "1234" not in message.get_content()
    assert {r.state for r in outbox(sessions)} == {"sent"}
    assert [(a.number, a.result) for a in history(sessions)] == [(1, "sent")] * 3
    assert zh["Message-ID"] == f"<kesu.outbox.{outbox(sessions)[0].id}@localhost>"


def test_email_goes_through_starttls_and_login_when_configured(
    sessions, clock, settings, tls_smtp_server, give_email
):
    uid = give_email("supervisor", "zhang@hx.example")
    enqueue_users(sessions, clock, [uid], template="test", params={})
    tls = settings.model_copy(
        update={
            "smtp_host": tls_smtp_server.host,
            "smtp_port": tls_smtp_server.port,
            "smtp_starttls": True,
            "smtp_user": "kesu",
            "smtp_password": "wrong",
        }
    )
    deliver.deliver_due(sessions, clock, tls)
    (row,) = outbox(sessions)
    assert row.state == "failed" and "Authentication" in history(sessions)[0].error

    clock.advance(minutes=1)
    deliver.deliver_due(sessions, clock, tls.model_copy(update={"smtp_password": "s3cret"}))
    assert outbox(sessions)[0].state == "sent"
    *refused, accepted = tls_smtp_server.logins  # smtplib tries PLAIN, then LOGIN
    assert set(refused) == {"kesu:refused"} and accepted == "kesu:ok"
    (message,) = tls_smtp_server.mailbox.messages
    assert message["Subject"] == "客诉系统测试邮件"


def test_two_workers_running_at_once_deliver_every_message_exactly_once(
    sessions, clock, org, smtp_settings, smtp_server, webhook_server, give_email
):
    ids = [
        give_email(name, f"{name}@hx.example")
        for name in ("receiver1", "receiver2", "receiver3", "supervisor", "director")
    ]
    add_channel(sessions, clock, org["HX"], "webhook", webhook_server.url)
    for n in range(8):
        enqueue_users(sessions, clock, ids, key=f"k{n}")  # 8 × (5 e-mails + 1 webhook)

    start = threading.Barrier(2)
    errors: list[BaseException] = []

    def run_worker():
        try:
            start.wait()
            while deliver.deliver_due(sessions, clock, smtp_settings, limit=3):
                pass
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=run_worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert errors == []
    message_ids = [m["Message-ID"] for m in smtp_server.mailbox.messages]
    assert len(message_ids) == 40 and len(set(message_ids)) == 40
    deliveries = [h.headers["X-Kesu-Delivery"] for h in webhook_server.received]
    assert len(deliveries) == 8 and len(set(deliveries)) == 8
    rows = outbox(sessions)
    assert {r.state for r in rows} == {"sent"} and {r.attempts for r in rows} == {1}
    assert len(history(sessions)) == 48


def test_on_postgresql_a_row_claimed_by_one_worker_is_skipped_by_the_other(
    db_url, sessions, clock, give_email
):
    if not db_url.startswith("postgresql"):
        pytest.skip("SKIP LOCKED is PostgreSQL's; SQLite serialises claims (tested above)")
    uid = give_email("supervisor", "zhang@hx.example")
    for n in range(4):
        enqueue_users(sessions, clock, [uid], key=f"k{n}", template="test", params={})
    channels = ["email"]
    with sessions() as first, first.begin():
        mine = deliver.claim_due(first, clock.now(), channels=channels, limit=2)
        with sessions() as second, second.begin():  # while the first has not committed
            theirs = deliver.claim_due(second, clock.now(), channels=channels, limit=10)
    with sessions() as third, third.begin():
        late = deliver.claim_due(third, clock.now(), channels=channels, limit=10)
    assert len(mine) == 2 and len(theirs) == 2
    assert {c.outbox_id for c in mine}.isdisjoint({c.outbox_id for c in theirs})
    assert late == []


def test_a_failing_server_is_retried_with_growing_waits_then_the_message_is_dead(
    sessions, clock, smtp_settings, smtp_server, give_email
):
    uid = give_email("supervisor", "zhang@hx.example")
    enqueue_users(sessions, clock, [uid], template="test", params={})
    smtp_server.mailbox.data_reply = "451 4.3.0 Mail server temporarily rejected message"

    for attempt in range(1, rules.MAX_ATTEMPTS + 1):
        assert deliver.deliver_due(sessions, clock, smtp_settings) == 1
        assert deliver.deliver_due(sessions, clock, smtp_settings) == 0  # not due yet
        (row,) = outbox(sessions)
        assert row.attempts == attempt
        if attempt < rules.MAX_ATTEMPTS:
            assert row.state == "failed"
            assert row.next_attempt_at == clock.now() + rules.BACKOFF[attempt - 1]
            clock.set(row.next_attempt_at)

    assert row.state == "dead" and row.next_attempt_at is None
    attempts = history(sessions)
    assert [a.number for a in attempts] == list(range(1, rules.MAX_ATTEMPTS + 1))
    assert {a.result for a in attempts} == {"failed"}
    assert all("451" in a.error and a.finished_at for a in attempts)
    waits = [b.started_at - a.started_at for a, b in itertools.pairwise(attempts)]
    assert waits == list(rules.BACKOFF)
    assert smtp_server.mailbox.messages == []

    # the server is fixed; an admin retries the dead message and it goes out
    smtp_server.mailbox.data_reply = None
    with transaction(sessions) as session:
        service.retry(session, now=clock.now(), outbox_id=row.id, org_id=None)
    assert deliver.deliver_due(sessions, clock, smtp_settings) == 1
    assert outbox(sessions)[0].state == "sent" and len(smtp_server.mailbox.messages) == 1


def test_a_refused_recipient_or_a_rejected_webhook_is_dead_at_once_without_retries(
    sessions, clock, org, smtp_settings, smtp_server, webhook_server, give_email
):
    uid = give_email("supervisor", "nobody@hx.example")
    add_channel(sessions, clock, org["HX"], "webhook", webhook_server.url)
    enqueue_users(sessions, clock, [uid], template="test", params={})
    smtp_server.mailbox.rcpt_reply = "550 5.1.1 No such user"
    webhook_server.status = 404

    deliver.deliver_due(sessions, clock, smtp_settings)

    rows = outbox(sessions)
    assert [(r.channel, r.state, r.attempts) for r in rows] == [
        ("email", "dead", 1),
        ("webhook", "dead", 1),
    ]
    errors = [a.error for a in history(sessions)]
    assert "550" in errors[0] and "HTTP 404" in errors[1]


def test_a_webhook_server_that_fails_is_retried_and_its_reply_recorded(
    sessions, clock, org, settings, webhook_server, give_email
):
    uid = give_email("supervisor", "zhang@hx.example")
    add_channel(sessions, clock, org["HX"], "webhook", webhook_server.url)
    enqueue_users(sessions, clock, [uid], template="test", params={})
    webhook_server.status, webhook_server.reply = 503, b'{"error": "maintenance"}'

    deliver.deliver_due(sessions, clock, settings)
    clock.advance(minutes=1)
    webhook_server.status, webhook_server.reply = 200, b'{"received": true}'
    deliver.deliver_due(sessions, clock, settings)

    hook = next(r for r in outbox(sessions) if r.channel == "webhook")
    assert hook.state == "sent" and hook.attempts == 2
    attempts = history(sessions, hook.id)
    assert [a.result for a in attempts] == ["failed", "sent"]
    assert "503" in attempts[0].error and "maintenance" in attempts[0].error
    assert attempts[1].response == '200 {"received": true}'
    # the e-mail row waits: no mail server is configured here
    assert next(r for r in outbox(sessions) if r.channel == "email").state == "pending"


def test_the_webhook_signature_verifies_with_the_channel_secret_and_fails_on_a_changed_body(
    sessions, clock, org, settings, webhook_server, complaint
):
    cid, _ = complaint
    _, secret = add_channel(sessions, clock, org["HX"], "webhook", webhook_server.url, locale="en")
    assert secret and len(secret) >= 32
    enqueue_users(sessions, clock, [], complaint_id=cid)

    deliver.deliver_due(sessions, clock, settings)

    (hook,) = webhook_server.received
    stamp = hook.headers["X-Kesu-Timestamp"]
    expected = hmac.new(secret.encode(), f"{stamp}.".encode() + hook.body, hashlib.sha256)
    assert hook.headers["X-Kesu-Signature"] == "sha256=" + expected.hexdigest()
    tampered = hmac.new(secret.encode(), f"{stamp}.".encode() + hook.body + b" ", hashlib.sha256)
    assert hook.headers["X-Kesu-Signature"] != "sha256=" + tampered.hexdigest()
    assert int(stamp) == int(clock.now().timestamp())
    data = hook.json()
    assert hook.headers["X-Kesu-Event"] == data["event"] == "complaint_received"
    assert data["complaint_id"] == cid and data["subject"].startswith("New complaint")
    assert data["params"]["phone"] == "*** **** 5678"
    assert hook.headers["X-Kesu-Delivery"] == str(data["delivery_id"])


def test_group_robots_get_their_platform_message_format_and_signature(
    sessions, clock, org, settings, webhook_server
):
    base = webhook_server.url
    add_channel(sessions, clock, org["HX"], "wecom", f"{base}/wecom?key=abc")
    add_channel(sessions, clock, org["HX"], "dingtalk", f"{base}/ding?access_token=t", "SECd")
    add_channel(sessions, clock, org["HX"], "feishu", f"{base}/feishu", "fs-secret")
    webhook_server.reply = b'{"errcode": 0, "errmsg": "ok"}'
    with transaction(sessions) as session:
        from kesu.access.models import User

        uid = session.scalar(select(User.id).where(User.username == "supervisor"))
    enqueue_users(sessions, clock, [uid], template="test", params={})

    assert deliver.deliver_due(sessions, clock, settings) == 3

    by_path = {urllib.parse.urlsplit(h.path).path: h for h in webhook_server.received}
    text = (
        "客诉系统测试邮件\n这是一封来自客诉系统的测试邮件。收到即说明邮件发送配置正确，无需回复。"
    )
    assert by_path["/hook/wecom"].json() == {"msgtype": "text", "text": {"content": text}}
    ding = by_path["/hook/ding"]
    assert ding.json() == {"msgtype": "text", "text": {"content": text}}
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(ding.path).query)
    stamp = query["timestamp"][0]
    assert stamp == str(int(clock.now().timestamp() * 1000))
    digest = hmac.new(b"SECd", f"{stamp}\nSECd".encode(), hashlib.sha256).digest()
    assert query["sign"][0] == base64.b64encode(digest).decode()
    assert query["access_token"] == ["t"]
    feishu = by_path["/hook/feishu"].json()
    digest = hmac.new(f"{feishu['timestamp']}\nfs-secret".encode(), b"", hashlib.sha256)
    assert feishu["sign"] == base64.b64encode(digest.digest()).decode()
    assert feishu["timestamp"] == str(int(clock.now().timestamp()))
    assert feishu["msg_type"] == "text" and feishu["content"] == {"text": text}
    assert {r.state for r in outbox(sessions)} == {"sent"}


def test_a_robot_that_answers_200_with_an_error_code_counts_as_a_failure(
    sessions, clock, org, settings, webhook_server
):
    add_channel(sessions, clock, org["HX"], "wecom", webhook_server.url)
    webhook_server.reply = b'{"errcode": 93000, "errmsg": "invalid webhook url"}'
    with transaction(sessions) as session:
        from kesu.access.models import User

        uid = session.scalar(select(User.id).where(User.username == "supervisor"))
    enqueue_users(sessions, clock, [uid], template="test", params={})

    deliver.deliver_due(sessions, clock, settings)

    (row,) = outbox(sessions)
    assert row.state == "failed" and "93000" in history(sessions)[0].error


def _acknowledged(
    sessions, clock, settings, complaint, org: str = "华夏家居", locale: str | None = None
) -> tuple[Outbox, Outbox, str]:
    """The customer's acknowledgement of `complaint`, delivered with `settings`: its SMS and
    e-mail rows and the text the SMS log recorded."""
    cid, person = complaint
    with transaction(sessions) as session:
        service.notify_customer(
            session,
            now=clock.now(),
            complainant_id=person,
            template="customer_complaint_received",
            params={"org": org, "name": "林女士", "number": "FS20261126001"},
            dedupe_key=f"ack:{cid}",
            complaint_id=cid,
            locale=locale,
        )
    deliver.deliver_due(sessions, clock, settings)
    sms, mail = outbox(sessions)
    (attempt,) = history(sessions, sms.id)
    return sms, mail, attempt.response


def test_a_customer_sms_is_only_logged_with_its_text_in_the_customers_language(
    sessions, clock, settings, complaint
):
    sms, mail, response = _acknowledged(
        sessions, clock, settings, complaint, org="華夏家居", locale="zh_Hant"
    )
    assert (sms.channel, sms.state) == ("sms-log", "sent")
    assert response.startswith("【華夏家居】尊敬的林女士，您好！")
    assert "造成您的不便" in response
    assert (mail.channel, mail.state) == ("email", "pending")  # no mail server configured


def test_with_a_public_address_a_customer_message_ends_with_the_complaints_own_link(
    sessions, clock, smtp_settings, smtp_server, complaint
):
    public = smtp_settings.model_copy(update={"public_url": "https://kesu.example.cn/"})
    sms, _mail, response = _acknowledged(sessions, clock, public, complaint)
    text, _, logged = response.rpartition("查询进度：")
    assert "投诉编号 FS20261126001" in text
    assert logged == "https://kesu.example.cn/portal/t/…"  # the SMS log keeps no token
    (mail,) = smtp_server.mailbox.to("lin@example.cn")
    link = mail.get_content().rstrip().rpartition("查询进度：")[2]
    assert link.startswith("https://kesu.example.cn/portal/t/")
    assert tracking.complaint_id(public, link.rsplit("/", 1)[1]) == complaint[0]  # this one
    assert "link" not in sms.params  # made when sent, never stored with the message


def test_a_customer_who_reads_english_gets_a_link_that_opens_the_portal_in_english(
    sessions, clock, smtp_settings, smtp_server, complaint, client
):
    public = smtp_settings.model_copy(update={"public_url": "https://kesu.example.cn"})
    _acknowledged(sessions, clock, public, complaint, locale="en")
    (mail,) = smtp_server.mailbox.to("lin@example.cn")
    link = mail.get_content().rstrip().rsplit(" ", 1)[1]
    assert link.startswith("https://kesu.example.cn/lang/en?next=%2Fportal%2Ft%2F")
    opened = client.get(link.removeprefix("https://kesu.example.cn"))
    assert opened.status_code == 200 and opened.url.path.startswith("/portal/t/")
    assert '<html lang="en">' in opened.text and "What has happened" in opened.text
    assert client.cookies.get("kesu_lang") == "en"


def test_with_a_public_address_staff_alerts_link_to_the_complaint_in_the_console(
    sessions, clock, smtp_settings, smtp_server, give_email, org, webhook_server, complaint
):
    """A supervisor's e-mail and the group's webhook about a complaint carry its console page:
    one click from the alert to the case (before: "please follow up" and no way there)."""
    cid, _ = complaint
    public = smtp_settings.model_copy(update={"public_url": "https://kesu.example.cn/"})
    add_channel(sessions, clock, org["HX"], "webhook", webhook_server.url, locale="en")
    uid = give_email("supervisor", "zhang@hx.example")
    enqueue_users(sessions, clock, [uid], complaint_id=cid)

    deliver.deliver_due(sessions, clock, public)

    (mail,) = smtp_server.mailbox.to("zhang@hx.example")
    page = f"https://kesu.example.cn/complaints/{cid}"
    assert mail.get_content().rstrip().endswith(f"打开投诉：{page}")
    (hook,) = webhook_server.received
    assert hook.json()["url"] == page
    assert hook.json()["body"].endswith(f"Open the complaint: {page}")
    without = smtp_settings.model_copy(update={"public_url": None})
    enqueue_users(sessions, clock, [uid], key="received:2", complaint_id=cid)
    deliver.deliver_due(sessions, clock, without)
    assert "/complaints/" not in smtp_server.mailbox.to("zhang@hx.example")[-1].get_content()


def test_without_a_public_address_no_link_is_added(sessions, clock, settings, complaint):
    _sms, _mail, response = _acknowledged(sessions, clock, settings, complaint)
    assert "投诉编号 FS20261126001" in response
    assert "查询进度" not in response and "/portal/t/" not in response


def test_without_a_mail_server_emails_wait_and_the_admin_is_told_then_they_go_out(
    sessions, clock, settings, smtp_settings, smtp_server, give_email, caplog, monkeypatch
):
    monkeypatch.setattr(deliver, "_warned_waiting", 0)  # what earlier tests' workers last said
    uid = give_email("supervisor", "zhang@hx.example")
    enqueue_users(sessions, clock, [uid], template="test", params={})

    with caplog.at_level("WARNING", logger="kesu.notify"):
        assert deliver.deliver_due(sessions, clock, settings) == 0
    assert "No mail server is configured (KESU_SMTP_HOST): e-mails waiting: 1" in caplog.text
    caplog.clear()
    with caplog.at_level("WARNING", logger="kesu.notify"):
        deliver.deliver_due(sessions, clock, settings)
    assert caplog.text == ""  # said once, not on every pass
    (row,) = outbox(sessions)
    assert row.state == "pending" and row.attempts == 0

    clock.advance(hours=3)
    assert deliver.deliver_due(sessions, clock, smtp_settings) == 1
    assert outbox(sessions)[0].state == "sent" and len(smtp_server.mailbox.messages) == 1


def test_a_worker_that_dies_mid_send_leaves_the_message_to_be_sent_again_after_the_lease(
    sessions, clock, smtp_settings, smtp_server, give_email
):
    uid = give_email("supervisor", "zhang@hx.example")
    enqueue_users(sessions, clock, [uid], template="test", params={})
    with transaction(sessions) as session:  # a worker claims, then is killed before recording
        (claim,) = deliver.claim_due(session, clock.now(), channels=["email"], limit=10)

    assert deliver.deliver_due(sessions, clock, smtp_settings) == 0  # still leased
    clock.advance(seconds=rules.LEASE.total_seconds())
    assert deliver.deliver_due(sessions, clock, smtp_settings) == 1

    (row,) = outbox(sessions)
    assert row.state == "sent" and row.attempts == 2
    assert [(a.number, a.result) for a in history(sessions)] == [(1, "interrupted"), (2, "sent")]
    # the late worker waking up cannot overwrite the newer attempt's outcome
    with transaction(sessions) as session:
        deliver.record(session, clock.now(), claim, failure=deliver.senders.SendFailed("late"))
    assert outbox(sessions)[0].state == "sent"
    assert [a.result for a in history(sessions)] == ["interrupted", "sent"]


def test_messages_for_a_removed_channel_are_given_up_with_the_reason(
    sessions, clock, org, settings, webhook_server
):
    channel_id, _ = add_channel(sessions, clock, org["HX"], "webhook", webhook_server.url)
    with transaction(sessions) as session:
        from kesu.access.models import User

        uid = session.scalar(select(User.id).where(User.username == "supervisor"))
    enqueue_users(sessions, clock, [uid], template="test", params={})
    with transaction(sessions) as session:
        service.delete_channel(session, session.get(NotificationChannel, channel_id))

    deliver.deliver_due(sessions, clock, settings)

    (row,) = outbox(sessions)
    assert row.state == "dead" and webhook_server.received == []
    assert history(sessions)[0].error == "The notification channel was removed"


def test_the_worker_loop_runs_the_delivery_job_with_its_settings(
    sessions, clock, smtp_settings, smtp_server, give_email
):
    uid = give_email("supervisor", "zhang@hx.example")
    enqueue_users(sessions, clock, [uid], template="test", params={})

    worker.run(smtp_settings, once=True, clock=clock)

    assert outbox(sessions)[0].state == "sent"
    assert len(smtp_server.mailbox.messages) == 1


def test_a_claimed_message_is_not_sent_once_its_lease_is_nearly_over_but_retried_later(
    sessions, clock, org, settings, webhook_server
):
    add_channel(sessions, clock, org["HX"], "webhook", webhook_server.url)
    with transaction(sessions) as session:
        from kesu.access.models import User

        uid = session.scalar(select(User.id).where(User.username == "supervisor"))
    for n in range(3):
        enqueue_users(sessions, clock, [uid], key=f"k{n}", template="test", params={})
    webhook_server.on_request = lambda: clock.advance(minutes=3)  # a slow receiver

    assert deliver.deliver_due(sessions, clock, settings, limit=3) == 3

    rows = outbox(sessions)
    assert [r.state for r in rows] == ["sent", "sent", "failed"]
    assert len(webhook_server.received) == 2
    assert history(sessions, rows[2].id)[0].error == "lease ran out before sending; not sent"
    clock.set(rows[2].next_attempt_at)
    assert deliver.deliver_due(sessions, clock, settings) == 1
    assert outbox(sessions)[2].state == "sent" and len(webhook_server.received) == 3


def test_a_staff_alert_names_the_level_and_the_event_in_the_readers_language(
    sessions, clock, org, smtp_settings, smtp_server, give_email
):
    from helpers import receive

    give_email("supervisor", "zhang@hx.example", locale="en")
    receive(sessions, clock, org, level="L2")  # seed 002 5.1: an L2 form goes to T2 at once
    deliver.deliver_due(sessions, clock, smtp_settings)
    (mail,) = smtp_server.mailbox.to("zhang@hx.example")
    body = mail.get_content()
    assert '"沙发坐垫塌陷" (L2 (serious)): Receive.' in body
    assert "二级" not in body and "受理" not in body


def test_a_breach_alert_names_the_time_limit_in_the_readers_language(
    sessions, clock, org, smtp_settings, smtp_server, give_email
):
    """The sweep's breach message named the pack's time limit in Simplified Chinese for every
    reader; an English reader now reads its English name."""
    from helpers import receive
    from kesu.sla import sweep

    give_email("receiver1", "wang@hx.example", locale="en")
    receive(sessions, clock, org)  # the receiver keeps it: the first contact is theirs
    clock.advance(days=3)
    with transaction(sessions) as session:
        assert sweep.sweep(session, clock) >= 1
    deliver.deliver_due(sessions, clock, smtp_settings)
    breach = [m for m in smtp_server.mailbox.to("wang@hx.example") if "[Overdue]" in m["Subject"]]
    assert breach, [m["Subject"] for m in smtp_server.mailbox.to("wang@hx.example")]
    body = breach[0].get_content()
    assert '"Contact the complainant within 1 working day"' in body
    assert (
        "一个工作日内联系投诉人" not in body and "Contact the complainant" in breach[0]["Subject"]
    )
