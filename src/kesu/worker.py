"""The background loop. Each pass runs every job in its own transaction; SIGTERM stops it
cleanly between passes. Jobs arrive with the timers/notifications work (SLA sweep, outbox)."""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable

from sqlalchemy.orm import Session

from kesu.audit import service as audit_service
from kesu.clock import Clock, SystemClock
from kesu.db.session import make_engine, make_sessionmaker, transaction
from kesu.health import service as health_service
from kesu.improvement import sweep as improvement_sweep
from kesu.notify import deliver as notify_deliver
from kesu.privacy import crypto
from kesu.privacy import service as privacy_service
from kesu.report import service as report_service
from kesu.report import snapshots as report_snapshots
from kesu.settings import Settings
from kesu.sla import sweep as sla_sweep

log = logging.getLogger("kesu.worker")

Job = Callable[[Session, Clock], int]
JOBS: list[tuple[str, Job]] = []
"""(name, job) pairs run in order on every pass; a job returns how many items it handled."""
JOBS.append(("sla.sweep", sla_sweep.sweep))  # before delivery: its messages go out this pass
JOBS.append(("improvement.actions", improvement_sweep.actions))  # deadlines, checks of effect
JOBS.append(("improvement.inspections", improvement_sweep.inspections))
JOBS.append(("improvement.repeat_causes", improvement_sweep.repeat_causes))
JOBS.append(("report.scheduled", report_service.send_scheduled))  # before delivery
JOBS.append(("report.snapshots", report_snapshots.refresh))  # what the report page shows
JOBS.append(("notify.deliver", notify_deliver.job))
JOBS.append(("privacy.retention", privacy_service.anonymise_due))  # once a day
JOBS.append(("audit.anchor", audit_service.make_anchor))  # last: signs this pass's events


def run_pass(sessions, clock: Clock) -> dict[str, int]:
    done: dict[str, int] = {}
    for name, job in JOBS:
        try:
            with transaction(sessions) as session:
                done[name] = job(session, clock)
        except Exception:  # one failing job must not stop the others
            log.exception("worker job %s failed", name)
            done[name] = -1
    return done


def _record(sessions, what, *args, **kwargs) -> None:
    """Tell `kesu.health` about this worker; a database that refuses must not stop the loop
    (the next pass tries again, and meanwhile the health check sees the worker as late)."""
    try:
        with transaction(sessions) as session:
            what(session, *args, **kwargs)
    except Exception:
        log.exception("worker heartbeat not recorded")


def run(
    settings: Settings,
    *,
    once: bool = False,
    clock: Clock | None = None,
    stop: threading.Event | None = None,
) -> None:
    """Loop until `stop` is set (or SIGTERM/SIGINT when run as the main thread)."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    clock = clock or SystemClock()
    crypto.configure(settings)
    engine = make_engine(settings.db_url)
    sessions = make_sessionmaker(engine)
    sessions.configure(info={"settings": settings})  # jobs that need settings read them here
    stop = stop or threading.Event()
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        signal.signal(signal.SIGINT, lambda *_: stop.set())
    name, started_at = health_service.worker_name(), clock.now()
    log.info("worker %s started (%d jobs)", name, len(JOBS))
    while True:
        began = time.perf_counter()
        done = run_pass(sessions, clock)
        took_ms = round((time.perf_counter() - began) * 1000)
        failing = [job for job, n in done.items() if n < 0]
        _record(
            sessions,
            health_service.beat,
            name,
            started_at=started_at,
            now=clock.now(),
            took_ms=took_ms,
            failing=failing,
        )
        if once or stop.wait(settings.worker_interval_seconds):
            break
    _record(sessions, health_service.stopped, name, clock.now())
    engine.dispose()
    log.info("worker stopped")
