"""Every page of the console (and the portal's), rendered on the server against a stored
dataset: the time from the request entering the application to the last byte of its response,
in-process (no network, no load generator), so it is the server's own render time.

    python -m bench.pages sqlite:////abs/kesu-100000.db [--repeat 15]

Every GET route of the application that is not the API, the static files or the API docs is
visited, with its path parameters filled from the dataset (a complaint of the biggest group, its
pack's printable forms, a corrective action, a signed tracking link …) and with the query
strings people use (each queue, a search, each report kind). A route the dataset cannot fill is
listed as such, never silently left out. Each page is asked `repeat` times after one warming
request; the figures are the median and the worst.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from typing import Any
from urllib.parse import quote

from sqlalchemy import func, select

SKIP_PREFIXES = ("/api/", "/static", "/docs")
"""The API has its own scenarios (bench/scenarios.py); static files and the API docs are not
pages of the console."""


SLOW_S = 5
"""A page whose first request takes longer is asked only once more (its figure is plain)."""


def console_routes(app) -> list[str]:
    """Path templates of every GET route outside the API (included routers too)."""
    found: set[str] = set()
    for route in app.router.routes:
        contexts = (
            route.effective_route_contexts()
            if hasattr(route, "effective_route_contexts")
            else [route]
        )
        for r in contexts:
            if "GET" in (getattr(r, "methods", None) or ()) and not r.path.startswith(
                SKIP_PREFIXES
            ):
                found.add(r.path)
    return sorted(found)


def _samples(engine, settings) -> dict[str, Any]:
    """Values for path parameters and people to ask as, from the biggest group."""
    from bench import data, scenarios
    from kesu.complaint.models import Complaint
    from kesu.complaint.tracking import path as track_path
    from kesu.db.session import make_sessionmaker, reading
    from kesu.improvement.models import CorrectiveAction, Inspection

    groups = scenarios.load_groups(engine)
    sizes = {}
    with reading(make_sessionmaker(engine)) as s:
        for g in groups:
            sizes[g.id] = s.scalar(select(func.count()).where(Complaint.org_id == g.id))
        g = max(groups, key=lambda g: sizes[g.id])
        handler_id = s.execute(
            select(Complaint.assignee_id)
            .where(Complaint.org_id == g.id, Complaint.state != "closed")
            .where(Complaint.assignee_id.is_not(None))
            .group_by(Complaint.assignee_id)
            .order_by(func.count().desc())
            .limit(1)
        ).scalar()
        # the complaint with the longest timeline among the last thousand of the group
        recent = select(Complaint.id).where(Complaint.org_id == g.id)
        recent = recent.order_by(Complaint.id.desc()).limit(1000).subquery()
        complaint_id = s.scalar(
            select(Complaint.id)
            .where(Complaint.id.in_(select(recent.c.id)))
            .order_by(Complaint.version.desc())
            .limit(1)
        )
        action_id = s.scalar(select(func.min(CorrectiveAction.id)))
        inspection_id = s.scalar(select(func.min(Inspection.id)))
    ranked = sorted(
        (p for p in g.pack.roles if not p.admin and g.staff.get(p.key)),
        key=lambda r: g.pack.tier_rank(r.tier),
    )
    top = g.staff[ranked[-1].key][0]
    supervisor = data._lowest(g, "assign", None)[0]
    return {
        "group": g,
        "complaints": sizes[g.id],
        "handler": handler_id,
        "supervisor": supervisor.id,
        "top": top.id,
        "top_role": top.role,
        "params": {
            "complaint_id": complaint_id,
            "key": [f.key for f in g.pack.forms][:1] or None,
            "action_id": action_id,
            "inspection_id": inspection_id,
            "fmt": "xlsx",
            "code": "zh-CN",
            "token": track_path(settings, complaint_id).rsplit("/", 1)[-1],
        },
        "forms": [f.key for f in g.pack.forms],
    }


def _variants(template: str, sample: dict[str, Any]) -> list[tuple[str, str]] | str:
    """(label, concrete path) for one route template, or why it cannot be visited."""
    params = sample["params"]
    if "{key}" in template:  # every printable form of the pack
        if not sample["forms"]:
            return "the pack has no printable forms"
        paths = []
        for key in sample["forms"]:
            p = template.replace("{key}", key)
            paths.append((p.replace("{complaint_id}", str(params["complaint_id"])), key))
        return [(f"{template} [{key}]", p) for p, key in paths]
    path = template
    for name, value in params.items():
        if "{" + name + "}" in path:
            if value is None:
                return f"no {name} in the dataset"
            path = path.replace("{" + name + "}", str(value))
    if "{" in path:
        return "a path parameter the bench does not know"
    extra = {
        "/": [f"?queue={q}" for q in ("mine", "team", "unassigned", "overdue", "review")]
        + ["?queue=team&q=" + quote("床垫")],
        "/reports": [f"?kind={k}" for k in ("weekly", "monthly", "annual")],
        "/cases": ["", "?q=" + quote("床垫"), "?q=" + quote("记忆棉床垫")],
        "/improvement/complaints": ["?cause=category&period=2026-10"],
        "/intake/lookup": ["?phone=13800000000"],
    }
    suffixes = extra.get(template, [""])
    return [(template + (q and f" {q}"), path + q) for q in suffixes]


def measure(url: str, repeat: int = 15, verbose: bool = False) -> dict[str, Any]:
    from fastapi.testclient import TestClient

    from bench import data, scenarios
    from kesu.settings import Settings
    from kesu.web.app import create_app

    os.environ.update(data.ENV)
    os.environ["KESU_DATABASE_URL"] = url
    settings = Settings()
    app = create_app(settings)
    engine = app.state.engine
    sample = _samples(engine, settings)
    as_user = {
        "handler": sample["handler"],
        "supervisor": sample["supervisor"],
        "top": sample["top"],
    }
    cookies = {k: scenarios.console(engine, uid) for k, uid in as_user.items() if uid}
    pages: dict[str, Any] = {}
    with TestClient(app, follow_redirects=False) as client:
        for template in console_routes(app):
            variants = _variants(template, sample)
            if isinstance(variants, str):
                pages[template] = {"skipped": variants}
                continue
            who = "handler" if template == "/" else "top"
            for label, path in variants:
                headers = cookies[who] if not path.startswith("/portal") else {}
                wall = time.perf_counter()
                client.get(path, headers=headers)  # warm: templates compiled, packs parsed
                first = time.perf_counter() - wall
                walls, cpus = [], []
                for _ in range(repeat if first < SLOW_S else 1):
                    cpu, wall = time.process_time(), time.perf_counter()
                    resp = client.get(path, headers=headers)
                    walls.append((time.perf_counter() - wall) * 1000)
                    cpus.append((time.process_time() - cpu) * 1000)
                pages[label] = {
                    "as": who,
                    "status": resp.status_code,
                    "bytes": len(resp.content),
                    "median_ms": round(statistics.median(walls), 1),
                    "worst_ms": round(max(walls), 1),
                    "cpu_ms": round(statistics.median(cpus), 1),
                }
                if verbose:
                    print(f"  {label}: {pages[label]}", file=sys.stderr, flush=True)
    engine.dispose()
    measured = {k: v for k, v in pages.items() if "median_ms" in v}
    slowest = max(measured, key=lambda k: measured[k]["median_ms"]) if measured else None
    return {
        "complaints_in_group": sample["complaints"],
        "as": {"handler": "handler with most open", "top": sample["top_role"]},
        "repeat": repeat,
        "pages": pages,
        "slowest": slowest,
    }


def table(result: dict[str, Any], label: str) -> list[str]:
    lines = [
        f"Console pages [{label}], {result['complaints_in_group']} complaints in the group, "
        f"{result['repeat']} requests each, in-process:",
        "",
        "| page | as | status | median ms | worst ms | CPU ms |",
        "|---|---|---|---|---|---|",
    ]
    for name, p in result["pages"].items():
        if "skipped" in p:
            lines.append(f"| `{name}` | – | not visited: {p['skipped']} | | | |")
        else:
            lines.append(
                f"| `{name}` | {p['as']} | {p['status']} | {p['median_ms']} | "
                f"{p['worst_ms']} | {p['cpu_ms']} |"
            )
    return lines


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.pages", description=__doc__.split("\n")[0])
    p.add_argument("url")
    p.add_argument("--repeat", type=int, default=15)
    args = p.parse_args(argv)
    result = measure(args.url, args.repeat, verbose=True)
    print("\n".join(table(result, args.url.rsplit("/", 1)[-1])))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
