"""Start, watch and stop the servers under test (loopback only, each in its own process group)."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _children(pid: int) -> list[int]:
    out = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        with contextlib.suppress(OSError):
            out += [int(c) for c in (task / "children").read_text().split()]
    return out


def tree(pid: int) -> list[int]:
    """The process and all its descendants."""
    seen, todo = [], [pid]
    while todo:
        p = todo.pop()
        seen.append(p)
        todo += _children(p)
    return seen


def rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


@dataclass
class Server:
    name: str
    proc: subprocess.Popen
    port: int
    log: Path
    peak_rss: dict[int, float] = field(default_factory=dict)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def sample(self) -> None:
        for pid in tree(self.proc.pid):
            self.peak_rss[pid] = max(self.peak_rss.get(pid, 0.0), rss_mb(pid))

    def memory(self) -> dict[str, float]:
        """Peak RSS: the largest worker process, and all processes together (MB)."""
        workers = [v for pid, v in self.peak_rss.items() if pid != self.proc.pid] or [0.0]
        return {
            "worker_max_mb": round(max(workers), 1),
            "total_mb": round(sum(self.peak_rss.values()), 1),
        }

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)


def start(
    name: str,
    argv: list[str],
    *,
    port: int,
    env: dict[str, str],
    cwd: Path,
    log_dir: Path,
    ready_path: str,
    ready_timeout: float = 90,
) -> Server:
    """Start a server in its own process group and wait until `ready_path` answers."""
    log_dir.mkdir(parents=True, exist_ok=True)
    log = log_dir / f"{name}.log"
    out = log.open("w")
    proc = subprocess.Popen(
        argv,
        cwd=cwd,
        env={**os.environ, **env},
        stdout=out,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    server = Server(name, proc, port, log)
    deadline = time.monotonic() + ready_timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{name} exited early; see {log}:\n{log.read_text()[-3000:]}")
        try:
            if httpx.get(server.base + ready_path, timeout=2).status_code < 500:
                # wait until every worker process has come up
                time.sleep(1.5)
                return server
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    server.stop()
    raise RuntimeError(f"{name} did not answer {ready_path} in {ready_timeout}s; see {log}")


class Sampler:
    """Samples a server's process tree RSS every half second while a load runs."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.server.sample()
            self._stop.wait(0.5)

    def __enter__(self) -> Sampler:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
