"""A worker process for the concurrency tests: runs the SLA sweep job, one transaction per
pass as `kesu.worker.run_pass` does, until it finds nothing to do three passes in a row.

usage: python sweeper.py DATABASE_URL ISO_INSTANT
"""

from __future__ import annotations

import sys
from datetime import datetime

from kesu.clock import FrozenClock
from kesu.db.session import make_engine, make_sessionmaker, transaction
from kesu.sla import sweep


def main(url: str, at: str) -> None:
    engine = make_engine(url)
    sessions = make_sessionmaker(engine)
    clock = FrozenClock(datetime.fromisoformat(at))
    idle = 0
    while idle < 3:
        with transaction(sessions) as session:
            done = sweep.sweep(session, clock)
        print(done, flush=True)
        idle = idle + 1 if done == 0 else 0
    engine.dispose()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
