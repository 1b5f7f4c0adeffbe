"""The admin's view over HTTP: the outbox with every attempt, retrying, channels, e-mails."""

from __future__ import annotations

from sqlalchemy import select

from helpers import complaint_body, login
from kesu.db.session import transaction
from kesu.notify import deliver, service
from kesu.notify.models import Outbox


def enqueue_test(sessions, clock, user_id, key="k1") -> None:
    with transaction(sessions) as session:
        service.notify_users(
            session,
            now=clock.now(),
            user_ids=[user_id],
            template="test",
            params={},
            dedupe_key=key,
        )


def test_only_an_admin_may_see_the_outbox_or_manage_channels(client):
    receiver = login(client, "receiver1")
    assert client.get("/api/v1/notify/outbox", headers=receiver).status_code == 403
    assert client.get("/api/v1/notify/channels", headers=receiver).status_code == 403
    r = client.post(
        "/api/v1/notify/channels",
        json={"kind": "webhook", "name": "x", "target": "http://127.0.0.1/h"},
        headers=receiver,
    )
    assert r.status_code == 403


def test_an_admin_sets_a_staff_email_and_sees_the_message_wait_for_a_mail_server(
    client, sessions, clock, org
):
    admin = login(client, "admin")
    users = {u["username"]: u["id"] for u in client.get("/api/v1/users", headers=admin).json()}
    bad = client.put(
        f"/api/v1/notify/users/{users['supervisor']}/email",
        json={"email": "not an address"},
        headers=admin,
    )
    assert bad.status_code == 422
    assert bad.json()["error"]["message"] == "电子邮件：不是有效的电子邮件地址"
    ok = client.put(
        f"/api/v1/notify/users/{users['supervisor']}/email",
        json={"email": "zhang@hx.example"},
        headers=admin,
    )
    assert ok.json() == {
        "id": users["supervisor"],
        "username": "supervisor",
        "email": "zhang@hx.example",
    }
    enqueue_test(sessions, clock, users["supervisor"])

    page = client.get("/api/v1/notify/outbox", headers=admin).json()

    (item,) = page["items"]
    assert (item["channel"], item["address"], item["state"]) == (
        "email",
        "zhang@hx.example",
        "pending",
    )
    assert page["warnings"] == ["尚未配置邮件服务器（KESU_SMTP_HOST）：1 封邮件等待发送"]
    english = client.get("/api/v1/notify/outbox", headers={**admin, "Accept-Language": "en"}).json()
    assert english["warnings"] == [
        "No mail server is configured (KESU_SMTP_HOST): e-mails waiting: 1"
    ]


def test_an_admin_configures_a_webhook_channel_and_sees_each_attempt_and_retries_a_dead_one(
    client, sessions, clock, org, settings, webhook_server
):
    admin = login(client, "admin")
    bad = client.post(
        "/api/v1/notify/channels",
        json={"kind": "webhook", "name": "集团系统", "target": "ftp://x"},
        headers=admin,
    )
    assert bad.status_code == 422
    assert bad.json()["error"]["message"] == "发送目标：webhook 渠道需要一个 http(s) 网址"
    created = client.post(
        "/api/v1/notify/channels",
        json={
            "kind": "webhook",
            "name": "集团系统",
            "target": webhook_server.url,
            "events": ["test"],
        },
        headers=admin,
    )
    assert created.status_code == 201, created.text
    channel = created.json()
    assert channel["org_id"] == org["HX"] and len(channel["secret"]) >= 32
    unknown_event = client.put(
        f"/api/v1/notify/channels/{channel['id']}",
        json={**channel, "events": ["nothing_like_it"]},
        headers=admin,
    )
    assert unknown_event.status_code == 422
    said = unknown_event.json()["error"]["message"]
    assert said.startswith("订阅事件：没有名为「nothing_like_it」的通知事件（可选：")
    assert "complaint_alert" in said and "sla_breach" in said  # the names to choose from
    silent = client.put(  # a customer's own messages never reach a channel
        f"/api/v1/notify/channels/{channel['id']}",
        json={**channel, "events": ["customer_update"]},
        headers=admin,
    )
    assert silent.status_code == 422 and "customer_update" in silent.json()["error"]["message"]

    with transaction(sessions) as session:
        from kesu.access.models import User

        uid = session.scalar(select(User.id).where(User.username == "supervisor"))
    enqueue_test(sessions, clock, uid)
    webhook_server.status = 401
    deliver.deliver_due(sessions, clock, settings)

    dead = client.get("/api/v1/notify/outbox?state=dead", headers=admin).json()["items"]
    assert [(i["channel"], i["attempts"]) for i in dead] == [("webhook", 1)]
    (attempt,) = dead[0]["history"]
    assert attempt["result"] == "failed" and attempt["error"].startswith("HTTP 401")

    webhook_server.status = 200
    retried = client.post(f"/api/v1/notify/outbox/{dead[0]['id']}/retry", headers=admin)
    assert retried.status_code == 200 and retried.json()["state"] == "failed"
    deliver.deliver_due(sessions, clock, settings)
    after = client.get(f"/api/v1/notify/outbox/{dead[0]['id']}", headers=admin).json()
    assert after["state"] == "sent"
    assert [a["result"] for a in after["history"]] == ["failed", "sent"]
    again = client.post(f"/api/v1/notify/outbox/{dead[0]['id']}/retry", headers=admin)
    assert again.status_code == 409
    assert "只有发送失败或已放弃的通知可以重试" in again.json()["error"]["message"]


def test_an_admin_disables_then_removes_a_channel(client, sessions, clock, org, webhook_server):
    admin = login(client, "admin")
    body = {
        "kind": "dingtalk",
        "name": "华东群",
        "target": webhook_server.url,
        "org_id": org["EAST"],
        "secret": "SEC123",
        "locale": "zh_Hant",
    }
    channel = client.post("/api/v1/notify/channels", json=body, headers=admin).json()
    assert (channel["org_id"], channel["secret"], channel["locale"]) == (
        org["EAST"],
        "SEC123",
        "zh_Hant",
    )

    off = client.put(
        f"/api/v1/notify/channels/{channel['id']}",
        json={**body, "enabled": False},
        headers=admin,
    )
    assert off.json()["enabled"] is False
    with transaction(sessions) as session:
        from kesu.access.models import User

        uid = session.scalar(select(User.id).where(User.username == "supervisor"))
    enqueue_test(sessions, clock, uid)
    with transaction(sessions) as session:
        assert session.scalars(select(Outbox)).all() == []  # a disabled channel gets nothing

    assert (
        client.delete(f"/api/v1/notify/channels/{channel['id']}", headers=admin).status_code == 204
    )
    assert client.get("/api/v1/notify/channels", headers=admin).json() == []
    gone = client.delete(f"/api/v1/notify/channels/{channel['id']}", headers=admin)
    assert gone.status_code == 404


def test_the_outbox_shows_a_complainants_phone_masked_even_to_an_admin(
    client, sessions, clock, org, settings, caplog
):
    """An admin's role reads personal data only as the pack allows (here: `assigned`): the
    acceptance SMS in the outbox, its attempt and the CLI list show 138****5678."""
    receiver = login(client, "receiver1")
    r = client.post(
        "/api/v1/complaints",
        json=complaint_body(org, description="请回电 13812345678"),
        headers=receiver,
    )
    assert r.status_code == 201, r.text
    with caplog.at_level("INFO", logger="kesu.notify"):
        deliver.deliver_due(sessions, clock, settings)
    assert "sms-log to 138****5678" in caplog.text and "12345678" not in caplog.text
    page = client.get("/api/v1/notify/outbox", headers=login(client, "admin"))
    sms = [i for i in page.json()["items"] if i["recipient_kind"] == "customer"]
    assert sms and {i["address"] for i in sms} == {"138****5678"}
    assert sms[0]["history"] and "12345678" not in page.text

    from typer.testing import CliRunner

    from kesu.cli import app as cli_app

    env = {"KESU_DATABASE_URL": settings.db_url, "KESU_DATA_DIR": str(settings.data_dir)}
    listed = CliRunner().invoke(cli_app, ["notify", "list"], env=env)
    assert "138****5678" in listed.output and "12345678" not in listed.output


def test_a_customers_tracking_link_stays_out_of_the_sms_log_and_the_outbox(
    client, sessions, clock, org, settings, caplog
):
    """With no SMS gateway the text is written to the worker's log and the attempt's record,
    which operators read: the signed link in it opened the customer's complaint to any of
    them. The link keeps its address; the customer's token is left out."""
    from kesu.complaint import tracking

    public = settings.model_copy(update={"public_url": "https://kesu.example.cn"})
    receiver = login(client, "receiver1")
    ids = [
        client.post(
            "/api/v1/complaints", json=complaint_body(org, **over), headers=receiver
        ).json()["id"]
        for over in ({}, {"locale": "en"})  # the second link passes the language switch
    ]
    with caplog.at_level("INFO", logger="kesu.notify"):
        deliver.deliver_due(sessions, clock, public)
    tokens = [tracking.path(public, cid).rsplit("/", 1)[1] for cid in ids]
    assert "https://kesu.example.cn/portal/t/…" in caplog.text
    assert "%2Fportal%2Ft%2F…" in caplog.text
    page = client.get("/api/v1/notify/outbox", headers=login(client, "admin")).text
    for token in tokens:
        assert token not in caplog.text and token not in page
