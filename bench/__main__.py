"""`python -m bench`: data, intake, reads and the side-by-side comparison, in one bounded run.

python -m bench                      # smoke run: 10k complaints, 5 s per load
python -m bench --rows 100000 --large 1000000 --seconds 20 --read-seconds 10
python -m bench data sqlite:////abs/path.db 10000   # only a dataset (a later --reuse run uses it)
python -m bench --rows 1000000 --pg-rows 1000000 --reuse --data-dir /srv/bench-data
"""

from __future__ import annotations

import argparse
import os
import sys


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    p.add_argument("--rows", type=int, default=10_000, help="complaints for intake and reads")
    p.add_argument("--large", type=int, default=0, help="also measure reads at this many (SQLite)")
    p.add_argument("--seconds", type=float, default=5, help="duration of each intake load")
    p.add_argument("--read-seconds", type=float, default=None, help="each read load")
    p.add_argument("--concurrency", type=int, nargs="+", default=[16, 64])
    p.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="server processes")
    p.add_argument(
        "--pg-url",
        default=os.environ.get("KESU_BENCH_POSTGRES_URL"),
        help="PostgreSQL server to create kesu_bench_<rows> in (KESU_BENCH_POSTGRES_URL)",
    )
    p.add_argument("--pg-rows", type=int, help="complaints on PostgreSQL (default: --rows)")
    p.add_argument("--no-peer", action="store_true", help="skip django-helpdesk")
    p.add_argument("--peer-tickets", type=int, default=1000, help="tickets preloaded in the peer")
    p.add_argument("--reuse", action="store_true", help="reuse datasets an earlier run made")
    p.add_argument(
        "--data-dir", help="where the SQLite datasets kesu-<rows>.db are (default bench/.data)"
    )
    p.add_argument(
        "--verify-max", type=int, default=20_000, help="run the audit walk up to this size"
    )
    p.add_argument("--due", type=int, default=10_000, help="timers made due for one sweep")
    p.add_argument("--out", help="results file (default bench/results/<date>-<rows>.json)")
    return p


def main(argv: list[str]) -> int:
    from bench import data

    os.environ.update(data.ENV)
    if argv[:1] == ["data"]:
        if len(argv) != 3:
            print("usage: python -m bench data URL ROWS", file=sys.stderr)
            return 2
        from bench import run

        run.dataset(argv[1], int(argv[2]), reuse=False)
        return 0
    args = parser().parse_args(argv)
    args.read_seconds = args.read_seconds or args.seconds
    from bench import run

    return run.main(args)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
