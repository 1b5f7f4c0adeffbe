"""What the figures were measured on: the machine, the software versions and the date."""

from __future__ import annotations

import os
import platform
import subprocess
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path


def _cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def _ram_gb() -> float:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return round(int(line.split()[1]) / 1024 / 1024, 1)
    return 0.0


def _load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def _tool(argv: list[str]) -> str:
    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=10)
    except OSError:
        return "missing"
    return (out.stdout or out.stderr).strip().splitlines()[0] if (out.stdout or out.stderr) else ""


def tree() -> dict[str, str]:
    """Which Kesu source was measured: its path and the commit it was taken from."""
    import kesu

    src = Path(kesu.__file__).resolve().parent
    commit = os.environ.get("BENCH_KESU_COMMIT") or _tool(
        ["git", "-C", str(src), "rev-parse", "--short", "HEAD"]
    )
    return {"path": str(src), "commit": commit}


def describe(pg_version: str | None) -> dict:
    import sqlite3

    from kesu import __version__

    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "cores": os.cpu_count(),
            "ram_gb": _ram_gb(),
            "cpu": _cpu_model(),
            "kernel": platform.release(),
            "load_at_start": _load(),
        },
        "versions": {
            "kesu": __version__,
            "python": platform.python_version(),
            "sqlite": sqlite3.sqlite_version,
            "postgresql": pg_version,
            "fastapi": version("fastapi"),
            "starlette": version("starlette"),
            "uvicorn": version("uvicorn"),
            "sqlalchemy": version("sqlalchemy"),
            "wrk": _tool(["wrk", "--version"]),
        },
    }
