"""The load generator: wrk (Debian's `wrk`, written in C) driven by a generated Lua script.

Why wrk: on a 2-core machine the load generator shares the CPU with the server under test.
A Python client (httpx with threads or asyncio) spends as much CPU per request as a small
server does, so it caps and skews what it measures; wrk costs a few microseconds per
request. Every server here (Kesu, the peer, the ceiling) is driven by the same wrk with the
same number of connections, so the ratios are like for like.

Each run is bounded: `duration` seconds, then wrk stops by itself. Latencies are wrk's
(from request sent to response read, per connection, closed-loop).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

LUA_DONE = r"""
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests":%d,"duration_us":%d,"connect":%d,"read":%d,"write":%d,'
    .. '"status":%d,"timeout":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d,"mean_us":%.1f}\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
    latency.mean))
end
"""


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: str | None = None


@dataclass
class Result:
    connections: int
    seconds: float
    requests: int
    ok: int
    errors: int  # non-2xx/3xx responses plus socket errors and timeouts
    rps: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float

    def as_dict(self) -> dict:
        return asdict(self)


def _lua_string(s: str) -> str:
    level = "=" * 4
    assert f"]{level}]" not in s
    return f"[{level}[{s}]{level}]"


def script(requests: list[Request]) -> str:
    """A Lua script cycling through `requests` (each wrk thread from its own offset)."""
    items = []
    for r in requests:
        pairs = r.headers.items()
        headers = ", ".join(f"[ {_lua_string(k)} ] = {_lua_string(v)}" for k, v in pairs)
        body = _lua_string(r.body) if r.body is not None else "nil"
        items.append(f"  {{{_lua_string(r.method)}, {_lua_string(r.path)}, {{{headers}}}, {body}}}")
    return (
        "local reqs = {\n" + ",\n".join(items) + "\n}\n"
        "local n = #reqs\n"
        "local i = 0\n"
        "local counter = 0\n"
        "setup = function(thread) thread:set('offset', counter * 7919) counter = counter + 1 end\n"
        "init = function(args) i = tonumber(offset) or 0 end\n"
        "request = function()\n"
        "  i = i + 1\n"
        "  local r = reqs[(i % n) + 1]\n"
        "  return wrk.format(r[1], r[2], r[3], r[4])\n"
        "end\n" + LUA_DONE
    )


def available() -> bool:
    return shutil.which("wrk") is not None


def run(base_url: str, requests: list[Request], *, connections: int, seconds: float) -> Result:
    """Drive `base_url` with `connections` closed-loop connections for `seconds`."""
    if not available():
        raise SystemExit("bench: wrk is not installed (Debian: apt-get install wrk)")
    threads = max(1, min(2, connections))
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(script(requests))
        path = Path(f.name)
    try:
        proc = subprocess.run(
            [
                "wrk",
                f"-t{threads}",
                f"-c{connections}",
                f"-d{max(1, round(seconds))}s",
                "--timeout",
                "60s",
                "-s",
                str(path),
                base_url,
            ],
            capture_output=True,
            text=True,
            timeout=seconds + 120,
        )
    finally:
        path.unlink(missing_ok=True)
    line = next((ln for ln in proc.stdout.splitlines() if ln.startswith("BENCH_JSON ")), None)
    if line is None:
        raise RuntimeError(f"wrk gave no result: {proc.stdout[-2000:]} {proc.stderr[-2000:]}")
    d = json.loads(line.removeprefix("BENCH_JSON "))
    if d["requests"] == 0:
        raise RuntimeError(f"wrk completed no request: {proc.stdout[-2000:]} {proc.stderr[-500:]}")
    secs = d["duration_us"] / 1e6
    socket_errors = d["connect"] + d["read"] + d["write"] + d["timeout"]
    ok = d["requests"] - d["status"]
    return Result(
        connections=connections,
        seconds=round(secs, 2),
        requests=d["requests"],
        ok=ok,
        errors=d["status"] + socket_errors,
        rps=round(ok / secs, 1) if secs else 0.0,
        p50_ms=round(d["p50_us"] / 1000, 2),
        p90_ms=round(d["p90_us"] / 1000, 2),
        p99_ms=round(d["p99_us"] / 1000, 2),
        max_ms=round(d["max_us"] / 1000, 2),
    )
