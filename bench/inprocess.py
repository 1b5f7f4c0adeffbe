"""Figures measured in-process against a stored dataset (no HTTP): audit walk, timers,
reports and search, each through the service function the product itself calls."""

from __future__ import annotations

import importlib.util
import time
from typing import Any

from kesu.audit.service import verify_all
from kesu.db.session import make_engine, make_sessionmaker, reading


def _has(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:
        return False


def verify(url: str) -> str:
    """What `kesu audit verify` answers for the database."""
    engine = make_engine(url)
    try:
        with reading(make_sessionmaker(engine)) as s:
            checked, breaks = verify_all(s)
    finally:
        engine.dispose()
    return f"ok: {checked} complaints" if not breaks else f"{len(breaks)} breaks of {checked}"


def timed(fn, repeat: int = 5) -> dict[str, float]:
    """Best and median wall time of `fn()` in milliseconds."""
    runs = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        runs.append((time.perf_counter() - t) * 1000)
    runs.sort()
    return {"best_ms": round(runs[0], 2), "median_ms": round(runs[len(runs) // 2], 2)}


def measure(url: str) -> dict[str, Any]:
    """Whatever of timers, reports and search exists in this tree; the rest says so."""
    out: dict[str, Any] = {}
    if not _has("kesu.sla"):
        out["timers"] = "not measured: kesu.sla does not exist in this tree yet"
    if not _has("kesu.report.service"):
        out["reports"] = "not measured: kesu.report does not exist in this tree yet"
    return out
