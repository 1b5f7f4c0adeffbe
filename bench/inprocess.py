"""Figures measured in-process against a stored dataset (no HTTP): the audit walk, the SLA
sweep and the reports, each through the function the product itself runs (the worker's
sweep job, `kesu report`'s builder)."""

from __future__ import annotations

import importlib.util
import multiprocessing
import time
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, text

from kesu.audit.service import verify_all
from kesu.clock import FrozenClock
from kesu.db.session import make_engine, make_sessionmaker, reading, transaction


def _has(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:
        return False


def verify(url: str) -> str:
    """What `kesu audit verify` answers for the database (hash chains)."""
    engine = make_engine(url)
    try:
        with reading(make_sessionmaker(engine)) as s:
            checked, breaks = verify_all(s)
    finally:
        engine.dispose()
    return f"ok: {checked} complaints" if not breaks else f"{len(breaks)} breaks of {checked}"


def timed(fn, repeat: int = 5) -> dict[str, Any]:
    """Best, median and worst wall time of `fn()` in milliseconds, and each in the order run
    (whether the worst was the first, cold one)."""
    each = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        each.append((time.perf_counter() - t) * 1000)
    runs = sorted(each)
    return {
        "best_ms": round(runs[0], 2),
        "median_ms": round(runs[len(runs) // 2], 2),
        "worst_ms": round(runs[-1], 2),
        "runs": repeat,
        "each_ms": [round(ms, 2) for ms in each],
    }


def _running(s) -> int:
    from kesu.sla.models import Timer

    return s.scalar(
        select(func.count()).where(Timer.state == "running", Timer.breached_at.is_(None))
    )


def sweep_idle(url: str, until: datetime) -> dict[str, Any] | str:
    """One worker sweep pass when nothing is due (at the end of the data), 20 times."""
    if not _has("kesu.sla.sweep"):
        return "not measured: kesu.sla does not exist in this tree"
    from kesu.sla.sweep import sweep

    engine = make_engine(url)
    sessions = make_sessionmaker(engine)
    clock = FrozenClock(until)
    acted = []

    def one() -> None:
        with transaction(sessions) as s:
            acted.append(sweep(s, clock))

    try:
        with reading(sessions) as s:
            running = _running(s)
        out: dict[str, Any] = timed(one, repeat=20)
    finally:
        engine.dispose()
    out["running_timers"] = running
    out["acted_on"] = sum(acted)
    return out


def sweep_due(
    url: str, until: datetime, due: int = 10_000, max_seconds: float = 120, workers: int = 1
) -> dict[str, Any] | str:
    """Move the clock until `due` running timers have fallen due, then run worker passes
    (each its own transaction, as the worker does) until one finds nothing, or for at most
    `max_seconds` (then `finished` is false and the rate tells the rest). `workers` > 1: that
    many processes sweep at once, as `kesu worker` started several times does (on PostgreSQL
    they skip each other's rows). Changes the database: run it last."""
    if not _has("kesu.sla.sweep"):
        return "not measured: kesu.sla does not exist in this tree"
    from kesu.sla.models import Timer

    engine = make_engine(url)
    sessions = make_sessionmaker(engine)
    try:
        with reading(sessions) as s:
            running = _running(s)
            n = min(due, running)
            if n == 0:
                return "not measured: no running timer"
            at = s.scalar(
                select(Timer.due_at)
                .where(Timer.state == "running", Timer.breached_at.is_(None))
                .order_by(Timer.due_at)
                .offset(n - 1)
                .limit(1)
            )
    finally:
        engine.dispose()
    clock = FrozenClock(max(at, until) + timedelta(seconds=1))
    started = time.perf_counter()
    if workers == 1:
        each = [_passes(url, clock, max_seconds)]
    else:
        ctx = multiprocessing.get_context("fork")
        queue = ctx.Queue()
        children = [
            ctx.Process(target=_passes_into, args=(queue, url, clock, max_seconds), daemon=True)
            for _ in range(workers)
        ]
        for child in children:
            child.start()
        each = [queue.get(timeout=max_seconds + 60) for _ in children]
        for child in children:
            child.join(10)
        failed = [e for e in each if isinstance(e, str)]
        if failed:
            return "not measured: a worker failed: " + failed[0]
    seconds = time.perf_counter() - started
    acted = sum(a for _, a, _ in each)
    engine = make_engine(url)
    try:
        with reading(make_sessionmaker(engine)) as s:
            breached = s.scalar(select(func.count()).where(Timer.breached_at == clock.now()))
    finally:
        engine.dispose()
    return {
        "running_timers_before": running,
        "due": n,
        "breached": breached,
        "acted_on": acted,  # breaches and warnings
        "workers": workers,
        "passes": sum(p for p, _, _ in each),
        "finished": all(f for _, _, f in each),
        "seconds": round(seconds, 2),
        "per_action_ms": round(seconds * 1000 / max(1, acted), 2),
    }


def _passes_into(queue, url: str, clock: FrozenClock, max_seconds: float) -> None:
    """`_passes` in a child process: its figures, or what went wrong, on the queue."""
    try:
        queue.put(_passes(url, clock, max_seconds))
    except Exception as exc:
        queue.put(f"{type(exc).__name__}: {exc}"[:2000])


def _passes(url: str, clock: FrozenClock, max_seconds: float) -> tuple[int, int, bool]:
    """One worker's passes until one finds nothing: (passes, timers acted on, finished)."""
    from kesu.sla.sweep import sweep

    engine = make_engine(url)
    sessions = make_sessionmaker(engine)
    passes, acted, finished = 0, 0, False
    started = time.perf_counter()
    try:
        while time.perf_counter() - started < max_seconds:
            with transaction(sessions) as s:
                done = sweep(s, clock)
            passes += 1
            acted += done
            if done == 0:
                finished = True
                break
    finally:
        engine.dispose()
    return passes, acted, finished


def bounded(fn, limit: float, repeat: int = 3) -> dict[str, Any]:
    """`timed(fn)` in a forked process stopped after `limit` seconds (then the figure is only
    "more than the limit"): one slow report must not hold the whole run."""
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    child = ctx.Process(target=lambda: queue.put(timed(fn, repeat=repeat)), daemon=True)
    child.start()
    child.join(limit)
    if child.is_alive():
        child.terminate()
        child.join(10)
        return {"timeout_s": limit, "runs": 0}
    return queue.get(timeout=10)


def reports(url: str, until: datetime, group_id: int, limit: float = 180) -> dict[str, Any] | str:
    """`kesu report weekly` (last complete week) and annual (this year so far) for the
    biggest group, built as the CLI builds them (figures only, no file rendering); each
    stopped after `limit` seconds."""
    if not _has("kesu.report.service"):
        return "not measured: kesu.report does not exist in this tree"
    from kesu.report import rules as report_rules
    from kesu.report import service as report_service

    engine = make_engine(url)
    sessions = make_sessionmaker(engine)
    out: dict[str, Any] = {}
    try:
        with reading(sessions) as s:
            complaints = s.scalar(
                text("SELECT count(*) FROM complaint WHERE org_id = :g"), {"g": group_id}
            )
            pack = report_service.target(s, group_id).pack
        today = report_service.today_of(pack, until)
        periods = {
            "weekly": report_rules.last_complete("weekly", today),
            "annual": report_rules.year(today.year),
        }
        for name, period in periods.items():

            def build(period=period) -> None:
                with reading(sessions) as s:
                    report_service.build(
                        s, org_id=group_id, period=period, locale="zh_Hans", now=until
                    )

            engine.dispose()  # the forked child opens its own connections
            out[name] = {"period": period.label, **bounded(build, limit)}
    finally:
        engine.dispose()
    out["group_complaints"] = complaints
    return out


def case_search(url: str, group_id: int, words: dict[str, str]) -> dict[str, Any] | str:
    """The case library's search (`kesu cases search`) over the biggest group's closed cases."""
    if not _has("kesu.caselib.queries"):
        return "not measured: kesu.caselib does not exist in this tree"
    from kesu.caselib import queries as caselib
    from kesu.caselib import rules as caselib_rules

    engine = make_engine(url)
    sessions = make_sessionmaker(engine)
    out: dict[str, Any] = {}
    try:
        for name, text_ in words.items():
            found = []

            def search(text_=text_, found=found) -> None:
                with reading(sessions) as s:
                    rows, _ = caselib.search(
                        s,
                        caselib.of_group(group_id),
                        caselib_rules.terms(text_),
                        caselib.Filters(),
                        limit=20,
                    )
                    found.append(len(rows))

            out[name] = {"q": text_, **timed(search, repeat=5), "page": found[-1]}
    finally:
        engine.dispose()
    return out


def request_costs(url: str, scenarios: dict[str, list], n: int = 60) -> dict[str, Any]:
    """CPU time and SQL statements per request, one request at a time in this process
    (the app called in-process, no network): figures a noisy machine barely moves."""
    import os

    from fastapi.testclient import TestClient
    from sqlalchemy import event

    from kesu.web.app import create_app

    os.environ["KESU_DATABASE_URL"] = url
    app = create_app()
    statements = [0]

    @event.listens_for(app.state.engine, "before_cursor_execute")
    def _count(*_args) -> None:
        statements[0] += 1

    out: dict[str, Any] = {}
    with TestClient(app) as client:
        for name, reqs in scenarios.items():
            for r in reqs[:5]:  # warm: packs parsed, statements compiled
                client.request(r.method, r.path, headers=r.headers, content=r.body)
            statements[0] = 0
            cpu = time.process_time()
            wall = time.perf_counter()
            for i in range(n):
                r = reqs[i % len(reqs)]
                resp = client.request(r.method, r.path, headers=r.headers, content=r.body)
                if resp.status_code >= 400:
                    raise RuntimeError(f"{name}: {resp.status_code} {resp.text[:300]}")
            out[name] = {
                "cpu_ms": round((time.process_time() - cpu) * 1000 / n, 2),
                "wall_ms": round((time.perf_counter() - wall) * 1000 / n, 2),
                "sql": round(statements[0] / n, 1),
            }
    app.state.engine.dispose()
    return out
