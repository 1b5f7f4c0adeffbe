"""A deployment whose background worker stopped, fails or falls behind says so: on
GET /api/v1/health/worker (503) and `kesu health` (exit 1), with the real worker loop."""

from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from helpers import receive
from kesu import worker
from kesu.db.session import reading, transaction
from kesu.health import service as health_service
from kesu.health.models import WorkerBeat
from kesu.sla.models import Timer

T0 = datetime.fromisoformat("2026-11-26T02:00:00+00:00")
LATE = timedelta(minutes=2)


def _beat(name="host:1", last=T0, failing=(), stopped=None):
    started = T0 - timedelta(hours=1)
    return WorkerBeat(
        name=name,
        started_at=started,
        last_pass_at=last,
        last_pass_ms=40,
        failing=list(failing),
        stopped_at=stopped,
    )


@pytest.mark.parametrize(
    ("beats", "oldest_due", "now", "status"),
    [
        ([], None, T0, "no_worker"),
        ([_beat()], None, T0 + timedelta(seconds=30), "ok"),
        ([_beat()], None, T0 + LATE + timedelta(seconds=1), "stopped"),
        ([_beat(stopped=T0)], None, T0 + timedelta(seconds=1), "stopped"),
        # one worker stopped long ago, another running: ok
        ([_beat("a:1", T0 - timedelta(days=1)), _beat("b:2")], None, T0, "ok"),
        ([_beat(failing=["sla.sweep"])], None, T0, "failing"),
        # an older pass failed, the newest did not: ok again
        ([_beat("a:1", T0 - timedelta(seconds=5), ["sla.sweep"]), _beat("b:2")], None, T0, "ok"),
        ([_beat()], T0 - LATE - timedelta(seconds=1), T0, "behind"),
        ([_beat()], T0 - timedelta(seconds=30), T0, "ok"),  # due moments ago: the next pass
    ],
)
def test_the_workers_are_judged_by_their_newest_pass_and_the_oldest_unswept_timer(
    beats, oldest_due, now, status
):
    assert health_service.judge(beats, oldest_due, now, LATE)["status"] == status


def test_late_means_ten_passes_and_never_under_two_minutes():
    assert health_service.late_after(5) == timedelta(minutes=2)
    assert health_service.late_after(60) == timedelta(minutes=10)


def _wait_for_beat(sessions, deadline: float = 30) -> WorkerBeat:
    started = time.monotonic()
    while time.monotonic() - started < deadline:
        with reading(sessions) as session:
            row = session.scalar(select(WorkerBeat))
            if row is not None:
                return row
        time.sleep(0.05)
    raise AssertionError("the worker recorded no pass")


def test_a_running_worker_is_ok_and_one_that_stopped_is_reported(client, settings, sessions, clock):
    assert client.get("/api/v1/health/worker").status_code == 503
    assert client.get("/api/v1/health/worker").json()["status"] == "no_worker"

    stop = threading.Event()
    loop = threading.Thread(
        target=worker.run, args=(settings,), kwargs={"clock": clock, "stop": stop}
    )
    loop.start()
    try:
        beat = _wait_for_beat(sessions)
        answer = client.get("/api/v1/health/worker")
        assert answer.status_code == 200, answer.json()
        found = answer.json()
        assert found["status"] == "ok"
        assert found["failing"] == []
        assert found["workers_running"] == 1
        assert beat.last_pass_at == clock.now()
    finally:
        stop.set()
        loop.join(30)
    answer = client.get("/api/v1/health/worker")
    assert answer.status_code == 503
    assert answer.json()["status"] == "stopped"
    assert answer.json()["workers_running"] == 0
    with reading(sessions) as session:
        row = session.scalar(select(WorkerBeat))
        assert (row.name, row.stopped_at) == (health_service.worker_name(), clock.now())


def test_a_job_that_keeps_failing_is_named(client, settings, sessions, clock, monkeypatch):
    def broken(session, clock):
        raise RuntimeError("mail server misconfigured")

    monkeypatch.setattr(worker, "JOBS", [*worker.JOBS, ("notify.broken", broken)])
    stop = threading.Event()
    stop.set()  # one pass, then the loop ends (as when `kesu serve` stops)
    worker.run(settings, clock=clock, stop=stop)
    with transaction(sessions) as session:
        # the worker stopped; as if it were still running, to see the failing pass
        session.scalar(select(WorkerBeat)).stopped_at = None
    found = client.get("/api/v1/health/worker").json()
    assert found["status"] == "failing"
    assert found["failing"] == ["notify.broken"]


def test_timers_left_due_while_workers_beat_show_the_sweep_behind(
    client, settings, sessions, clock, org
):
    receive(sessions, clock, org)
    with reading(sessions) as session:
        first_due = session.scalar(
            select(Timer.due_at).where(Timer.state == "running").order_by(Timer.due_at)
        )
    clock.set(first_due + timedelta(minutes=5))
    with transaction(sessions) as session:  # a worker whose passes skip the sweep
        health_service.beat(
            session, "host:9", started_at=clock.now(), now=clock.now(), took_ms=5, failing=[]
        )
    found = client.get("/api/v1/health/worker").json()
    assert found["status"] == "behind"
    assert found["oldest_unswept_due_at"] == first_due.isoformat()

    worker.run_pass(sessions, clock)  # the real sweep breaches it
    with transaction(sessions) as session:
        health_service.beat(
            session, "host:9", started_at=clock.now(), now=clock.now(), took_ms=5, failing=[]
        )
    assert client.get("/api/v1/health/worker").json()["status"] == "ok"


def test_kesu_health_exits_1_until_a_worker_has_run(settings, sessions, monkeypatch):
    from kesu.cli import app

    monkeypatch.setenv("KESU_DATABASE_URL", settings.db_url)
    monkeypatch.setenv("KESU_DATA_DIR", str(settings.data_dir))
    runner = CliRunner()
    before = runner.invoke(app, ["health"])
    assert before.exit_code == 1
    assert "workers: no_worker" in before.output

    with transaction(sessions) as session:
        now = datetime.now(T0.tzinfo)
        health_service.beat(session, "host:3", started_at=now, now=now, took_ms=12, failing=[])
    after = runner.invoke(app, ["health"])
    assert after.exit_code == 0, after.output
    assert "workers: ok" in after.output
    assert "host:3: running" in after.output


def test_an_administrator_sees_on_every_console_page_that_no_worker_runs(client, sessions, clock):
    from web.console_helpers import sign_in

    sign_in(client, "admin")
    page = client.get("/")
    assert 'id="worker-alert"' in page.text
    assert "后台任务从未运行" in page.text
    client.get("/lang/en?next=/")
    assert "The background worker has never run" in client.get("/").text

    with transaction(sessions) as session:  # a worker ran a while ago and stopped
        health_service.beat(
            session, "host:4", started_at=clock.now(), now=clock.now(), took_ms=8, failing=[]
        )
    clock.advance(minutes=30)
    assert "has not finished a pass for 30 min:" in client.get("/").text

    with transaction(sessions) as session:  # it runs again
        health_service.beat(
            session, "host:4", started_at=clock.now(), now=clock.now(), took_ms=8, failing=[]
        )
    assert 'id="worker-alert"' not in client.get("/").text


def test_a_receiver_is_not_shown_the_workers_state(client):
    from web.console_helpers import sign_in

    sign_in(client, "receiver1")
    assert 'id="worker-alert"' not in client.get("/").text


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_messages_the_mail_server_keeps_refusing_are_reported_until_they_go_out(
    client, settings, sessions, clock, org, monkeypatch
):
    """The mail server is down: the delivery job succeeds (it records a failed attempt), so
    only the outbox shows that nothing leaves; a monitor and the administrator are told."""
    from aiosmtpd.controller import Controller
    from sqlalchemy import update

    from kesu.access.models import User
    from kesu.cli import app
    from kesu.notify import service as notify_service
    from kesu.notify.models import Outbox
    from web.console_helpers import sign_in

    port = _free_port()  # nothing listens here yet
    mail = settings.model_copy(update={"smtp_host": "127.0.0.1", "smtp_port": port})
    with transaction(sessions) as session:
        uid = session.execute(
            update(User)
            .where(User.username == "supervisor")
            .values(email="zhang@hx.example")
            .returning(User.id)
        ).scalar_one()
        notify_service.notify_users(
            session, now=clock.now(), user_ids=[uid], template="test", params={}, dedupe_key="t:1"
        )
    stop = threading.Event()
    stop.set()  # one pass with the real loop: the attempt fails, the row waits for a retry
    worker.run(mail, clock=clock, stop=stop)
    with reading(sessions) as session:
        assert session.scalar(select(Outbox.state)) == "failed"

    clock.advance(minutes=3)
    with transaction(sessions) as session:  # the worker runs on, its passes all succeed
        health_service.beat(
            session, "host:5", started_at=clock.now(), now=clock.now(), took_ms=9, failing=[]
        )
    answer = client.get("/api/v1/health/worker")
    assert answer.status_code == 503
    found = answer.json()
    assert (found["status"], found["undelivered"]) == ("undelivered", 1)
    assert found["undelivered_since"] == (clock.now() - timedelta(minutes=3)).isoformat()
    sign_in(client, "admin")
    assert "通知发不出去：1 条已 3 分钟未能发送" in client.get("/").text

    monkeypatch.setenv("KESU_DATABASE_URL", settings.db_url)
    monkeypatch.setenv("KESU_DATA_DIR", str(settings.data_dir))
    with transaction(sessions) as session:  # `kesu health` judges by the real time
        now = datetime.now(T0.tzinfo)
        health_service.beat(session, "host:5", started_at=now, now=now, took_ms=9, failing=[])
    said = CliRunner().invoke(app, ["health"])
    assert said.exit_code == 1
    assert "workers: undelivered" in said.output
    assert "Messages are not going out: 1 could not be sent for" in said.output

    # the mail server is back: the retry goes out and all is well again
    controller = Controller(_Accept(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        clock.advance(minutes=1)
        worker.run(mail, clock=clock, stop=stop)
    finally:
        controller.stop()
    with reading(sessions) as session:
        assert session.scalar(select(Outbox.state)) == "sent"
    with transaction(sessions) as session:
        health_service.beat(
            session, "host:5", started_at=clock.now(), now=clock.now(), took_ms=9, failing=[]
        )
        session.execute(update(WorkerBeat).values(stopped_at=None))
    assert client.get("/api/v1/health/worker").json()["status"] == "ok"


class _Accept:
    async def handle_DATA(self, server, session, envelope):
        return "250 OK"
