"""Enqueueing: one row per recipient and channel, once per dedupe key, in the caller's
transaction, with only what the recipient may see."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select, text

from helpers import receive
from kesu.db.session import transaction
from kesu.errors import IllegalTransition, InvalidInput
from kesu.i18n import catalogue
from kesu.notify import rules, service
from kesu.notify.models import NotificationChannel, Outbox
from kesu.org.models import Organisation

PARAMS = {
    "number": "FS20261126001",
    "title": "沙发坐垫塌陷",
    "level": "L1",
    "complainant": "林女士",
    "phone": "138 1234 5678",
}


def rows(sessions) -> list[Outbox]:
    with transaction(sessions) as session:
        return list(session.scalars(select(Outbox).order_by(Outbox.id)))


def add_channel(sessions, clock, org_id, kind="webhook", target="http://127.0.0.1:9/h", **kw):
    with transaction(sessions) as session:
        return service.save_channel(
            session,
            now=clock.now(),
            channel=None,
            org_id=org_id,
            kind=kind,
            name=kw.pop("name", kind),
            target=target,
            secret=kw.pop("secret", None),
            locale=kw.pop("locale", "zh_Hans"),
            events=kw.pop("events", []),
            enabled=kw.pop("enabled", True),
        ).id


def test_the_same_dedupe_key_enqueued_twice_yields_one_row_per_recipient(
    sessions, clock, give_email
):
    a = give_email("supervisor", "zhang.wei@hx.example")
    b = give_email("director", "zhao@hx.example")
    with transaction(sessions) as session:
        first = service.notify_users(
            session,
            now=clock.now(),
            user_ids=[a, b],
            template="complaint_received",
            params=PARAMS,
            dedupe_key="received:1",
        )
    with transaction(sessions) as session:
        again = service.notify_users(
            session,
            now=clock.now(),
            user_ids=[a, b],
            template="complaint_received",
            params=PARAMS,
            dedupe_key="received:1",
        )
        other_key = service.notify_users(
            session,
            now=clock.now(),
            user_ids=[a],
            template="complaint_received",
            params=PARAMS,
            dedupe_key="received:2",
        )
    assert (first, again, other_key) == (2, 0, 1)
    assert [(r.address, r.dedupe_key) for r in rows(sessions)] == [
        ("zhang.wei@hx.example", "received:1"),
        ("zhao@hx.example", "received:1"),
        ("zhang.wei@hx.example", "received:2"),
    ]


def test_rows_are_part_of_the_callers_transaction_and_vanish_with_its_rollback(
    sessions, clock, give_email
):
    uid = give_email("supervisor", "zhang.wei@hx.example")
    with sessions() as session, session.begin():
        added = service.notify_users(
            session,
            now=clock.now(),
            user_ids=[uid],
            template="test",
            params={},
            dedupe_key="k",
        )
        assert added == 1
        session.rollback()
    assert rows(sessions) == []


def test_staff_without_an_email_or_inactive_get_no_email_row(sessions, clock, org, give_email):
    with_mail = give_email("supervisor", "zhang.wei@hx.example")
    gone = give_email("director", "zhao@hx.example")
    with transaction(sessions) as session:
        from kesu.access.models import User

        session.get(User, gone).active = False
        no_mail = session.scalar(select(User.id).where(User.username == "receiver2"))
        added = service.notify_users(
            session,
            now=clock.now(),
            user_ids=[with_mail, gone, no_mail],
            template="test",
            params={},
            dedupe_key="k",
        )
    assert added == 1
    assert [r.recipient_id for r in rows(sessions)] == [with_mail]


def test_org_channels_subscribed_to_the_event_get_one_row_each_not_one_per_user(
    sessions, clock, org, give_email, complaint
):
    cid, _ = complaint
    a = give_email("supervisor", "zhang.wei@hx.example")
    b = give_email("director", "zhao@hx.example")
    group_hook = add_channel(sessions, clock, org["HX"], events=["complaint_received"])
    store_bot = add_channel(sessions, clock, org["SH-NJ"], kind="wecom", locale="en")
    add_channel(sessions, clock, org["HZ-XH"], kind="dingtalk")  # another store: not its case
    add_channel(sessions, clock, org["HX"], events=["test"])  # not subscribed
    add_channel(sessions, clock, org["HX"], enabled=False)  # switched off
    mailbox = add_channel(sessions, clock, org["EAST"], kind="email", target="east@hx.example")
    with transaction(sessions) as session:
        added = service.notify_users(
            session,
            now=clock.now(),
            user_ids=[a, b],
            template="complaint_received",
            params=PARAMS,
            dedupe_key="received:1",
            complaint_id=cid,
        )
    assert added == 5
    channel_rows = [
        (r.recipient_id, r.channel, r.locale)
        for r in rows(sessions)
        if r.recipient_kind == "channel"
    ]
    assert channel_rows == [
        (group_hook, "webhook", "zh_Hans"),
        (store_bot, "webhook", "en"),
        (mailbox, "email", "zh_Hans"),
    ]
    assert {r.org_id for r in rows(sessions)} == {org["HX"]}
    assert {r.complaint_id for r in rows(sessions)} == {cid}


def test_staff_rows_hold_a_masked_phone_unless_revealed_and_channels_always_masked(
    sessions, clock, org, give_email
):
    uid = give_email("supervisor", "zhang.wei@hx.example")
    add_channel(sessions, clock, org["HX"])
    with transaction(sessions) as session:
        service.notify_users(
            session,
            now=clock.now(),
            user_ids=[uid],
            template="complaint_received",
            params=PARAMS,
            dedupe_key="masked",
        )
        service.notify_users(
            session,
            now=clock.now(),
            user_ids=[uid],
            template="complaint_received",
            params={**PARAMS, "reveal_phone": True},
            dedupe_key="revealed",
        )
    phones = {(r.dedupe_key, r.recipient_kind): r.params["phone"] for r in rows(sessions)}
    assert phones == {
        ("masked", "user"): "*** **** 5678",
        ("masked", "channel"): "*** **** 5678",
        ("revealed", "user"): "138 1234 5678",
        ("revealed", "channel"): "*** **** 5678",
    }


def test_a_customer_gets_a_logged_sms_and_an_email_from_their_other_contact(
    sessions, clock, org, complaint
):
    cid, person = complaint
    params = {"org": "华夏家居", "name": "林女士", "number": "FS20261126001"}
    with transaction(sessions) as session:
        added = service.notify_customer(
            session,
            now=clock.now(),
            complainant_id=person,
            template="customer_complaint_received",
            params=params,
            dedupe_key=f"ack:{cid}",
            complaint_id=cid,
            locale="zh-HK",
        )
        again = service.notify_customer(
            session,
            now=clock.now(),
            complainant_id=person,
            template="customer_complaint_received",
            params=params,
            dedupe_key=f"ack:{cid}",
            complaint_id=cid,
        )
    assert (added, again) == (2, 0)
    assert [(r.channel, r.address, r.locale) for r in rows(sessions)] == [
        ("sms-log", "13812345678", "zh_Hant"),
        ("email", "lin@example.cn", "zh_Hant"),
    ]


def test_an_unknown_template_or_a_missing_param_fails_at_once_naming_the_field(
    sessions, clock, give_email
):
    uid = give_email("supervisor", "zhang.wei@hx.example")
    with transaction(sessions) as session:
        with pytest.raises(InvalidInput) as unknown:
            service.notify_users(
                session,
                now=clock.now(),
                user_ids=[uid],
                template="no_such",
                params={},
                dedupe_key="k",
            )
        with pytest.raises(InvalidInput) as missing:
            service.notify_users(
                session,
                now=clock.now(),
                user_ids=[uid],
                template="complaint_received",
                params={"number": "1"},
                dedupe_key="k",
            )
    assert unknown.value.field == "template" and unknown.value.params["template"] == "no_such"
    assert missing.value.field == "params" and "title" in missing.value.params["names"]
    with transaction(sessions) as session:
        assert session.scalar(select(func.count()).select_from(Outbox)) == 0
        assert session.scalar(select(func.count()).select_from(NotificationChannel)) == 0


def test_a_customers_phone_and_email_are_sealed_at_rest_in_the_outbox(sessions, clock, complaint):
    cid, person = complaint
    with transaction(sessions) as session:
        service.notify_customer(
            session,
            now=clock.now(),
            complainant_id=person,
            template="customer_complaint_received",
            params={"org": "华夏家居", "name": "林女士", "number": "FS1"},
            dedupe_key="ack",
            complaint_id=cid,
        )
        raw = session.execute(text("SELECT address FROM outbox ORDER BY id")).scalars().all()
    assert len(raw) == 2 and all(value.startswith("v1.") for value in raw)
    assert not any("13812345678" in value or "lin@example.cn" in value for value in raw)
    assert [r.address for r in rows(sessions)] == ["13812345678", "lin@example.cn"]


def test_anonymising_a_complainant_leaves_no_contact_or_name_in_the_outbox(
    sessions, clock, complaint, give_email
):
    cid, person = complaint
    uid = give_email("supervisor", "zhang@hx.example")
    with transaction(sessions) as session:
        service.notify_customer(
            session,
            now=clock.now(),
            complainant_id=person,
            template="customer_complaint_received",
            params={"org": "华夏家居", "name": "林女士", "number": "FS1"},
            dedupe_key="ack",
            complaint_id=cid,
        )
        service.notify_users(
            session,
            now=clock.now(),
            user_ids=[uid],
            template="complaint_received",
            params=PARAMS,
            dedupe_key="received",
            complaint_id=cid,
        )
        service.notify_users(
            session,
            now=clock.now(),
            user_ids=[uid],
            template="test",
            params={},
            dedupe_key="unrelated",
        )

    with transaction(sessions) as session:
        touched = service.forget_complainant(session, complainant_id=person, complaint_ids=[cid])

    assert touched == 3
    after = {(r.recipient_kind, r.channel, r.dedupe_key): r for r in rows(sessions)}
    sms = after[("customer", "sms-log", "ack")]
    staff = after[("user", "email", "received")]
    assert (sms.address, sms.params, sms.state, sms.next_attempt_at) == ("-", {}, "dead", None)
    assert after[("customer", "email", "ack")].address == "-"
    assert (staff.address, staff.params, staff.state) == ("zhang@hx.example", {}, "pending")
    assert after[("user", "email", "unrelated")].address == "zhang@hx.example"
    with transaction(sessions) as session, pytest.raises(IllegalTransition):
        service.retry(session, now=clock.now(), outbox_id=sms.id, org_id=None)


def test_a_batch_enqueues_exactly_what_the_same_calls_one_at_a_time_do(
    sessions, clock, org, give_email, complaint
):
    """The worker's sweep adds thousands of messages to one batch: same rows, same dedupe."""
    cid, person = complaint
    a = give_email("supervisor", "zhang.wei@hx.example")
    b = give_email("director", "zhao@hx.example")
    add_channel(sessions, clock, org["HX"], events=["complaint_received"])
    add_channel(sessions, clock, org["SH-NJ"], kind="wecom", locale="en")
    add_channel(sessions, clock, org["HZ-XH"], kind="dingtalk")  # another store: not its case
    customer = {"org": "华夏家居", "name": "林女士", "number": "FS20261126001"}

    def enqueue(session, users, customer_calls, prefix):
        for key, ids, complaint_id in [
            ("1", [a, b], cid),
            ("2", [b], cid),
            ("2", [b, a], cid),  # the same key again: nothing new
            ("3", [a], None),
        ]:
            users(
                user_ids=ids,
                template="complaint_received",
                params=PARAMS,
                dedupe_key=f"{prefix}{key}",
                complaint_id=complaint_id,
            )
        customer_calls(
            complainant_id=person,
            template="customer_complaint_received",
            params=customer,
            dedupe_key=f"{prefix}c",
            complaint_id=cid,
        )

    with transaction(sessions) as session:
        now = clock.now()
        added = []
        enqueue(
            session,
            lambda **kw: added.append(service.notify_users(session, now=now, **kw)),
            lambda **kw: added.append(service.notify_customer(session, now=now, **kw)),
            "single:",
        )
        batch = service.Batch(session, now)
        enqueue(session, batch.users, batch.customer, "batch:")
        assert batch.flush() == sum(added) > 0

    def seen(prefix):
        return sorted(
            (
                r.dedupe_key.removeprefix(prefix),
                r.recipient_kind,
                r.recipient_id,
                r.channel,
                r.address,
                r.locale,
                r.org_id,
                r.complaint_id,
                sorted(r.params.items()),
            )
            for r in rows(sessions)
            if r.dedupe_key.startswith(prefix)
        )

    assert seen("batch:") == seen("single:")


def test_a_complaint_taken_by_phone_tells_the_customer_it_is_accepted_and_its_number(
    sessions, clock, org
):
    c = receive(
        sessions,
        clock,
        org,
        complainant={"name": "林女士", "phone": "138 1234 5678", "other_contact": "lin@example.cn"},
    )
    told = [r for r in rows(sessions) if r.recipient_kind == "customer"]
    assert [(r.channel, r.address, r.template) for r in told] == [
        ("sms-log", "13812345678", "customer_complaint_received"),
        ("email", "lin@example.cn", "customer_complaint_received"),
    ]
    with transaction(sessions) as session:
        group = session.get(Organisation, c.org_id).name
    assert {k: told[0].params[k] for k in ("number", "name", "org")} == {
        "number": c.number,
        "name": "林女士",
        "org": group,
    }
    message = rules.render(catalogue("zh_Hans"), told[0].template, told[0].params)
    assert c.number in message.subject and "林女士" in message.body and "已受理" in message.body


def test_a_caller_who_complains_again_with_a_new_e_mail_is_written_to_at_the_new_one(
    sessions, clock, org
):
    """The same name and phone found the earlier record, and its old address was used."""
    person = {"name": "林女士", "phone": "138 1234 5678", "other_contact": "lin@old.example.cn"}
    first = receive(sessions, clock, org, complainant=person)
    again = {**person, "other_contact": "lin@new.example.cn"}
    second = receive(sessions, clock, org, complainant=again, title="第二次投诉")
    mailed = {
        r.complaint_id: r.address
        for r in rows(sessions)
        if r.recipient_kind == "customer" and r.channel == "email"
    }
    assert mailed == {first.id: "lin@old.example.cn", second.id: "lin@new.example.cn"}
    assert first.complainant_id == second.complainant_id  # still one caller: a repeat


def test_a_customer_who_left_no_phone_or_address_is_sent_nothing(sessions, clock, org):
    receive(sessions, clock, org, complainant={"name": "匿名顾客", "phone": None})
    assert [r for r in rows(sessions) if r.recipient_kind == "customer"] == []


def test_a_customer_is_written_to_in_the_language_their_complaint_was_taken_in(
    sessions, clock, org, give_email
):
    give_email("supervisor", "zhang.wei@hx.example")  # an L2 complaint is assigned to them
    c = receive(
        sessions,
        clock,
        org,
        complainant={"name": "Ms Lam", "phone": "138 1234 5678"},
        locale="en",
        level="L2",
    )
    told = [r for r in rows(sessions) if r.recipient_kind == "customer"]
    assert [(r.template, r.locale) for r in told] == [("customer_complaint_received", "en")]
    message = rules.render(catalogue(told[0].locale), told[0].template, told[0].params)
    assert c.number in message.subject and "Ms Lam" in message.body
    assert "已受理" not in message.body
    staff = {r.locale for r in rows(sessions) if r.recipient_kind == "user"}
    assert staff == {"zh_Hans"}  # staff keep their own language
