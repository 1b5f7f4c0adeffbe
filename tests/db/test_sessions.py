"""Sessions made anywhere (a server worker, the worker, a command, a benchmark) can write
rows whose foreign keys reach another domain's table."""

import subprocess
import sys


def test_a_process_that_imports_only_the_sweep_can_still_flush_a_complaint(tmp_path):
    # a fresh interpreter: the test process has imported every model long ago
    code = """
import sys
from kesu.db.base import Base
from kesu.db.session import make_engine, make_sessionmaker
from kesu.sla import sweep  # noqa: F401  (reaches the complaint model, not the ledger's)
assert "ledger_batch" not in Base.metadata.tables, "the test no longer tests anything"
make_sessionmaker(make_engine(sys.argv[1]))
Base.metadata.tables["complaint"].c.import_batch_id.foreign_keys.pop().column
print("ok")
"""
    url = f"sqlite:///{tmp_path / 'k.db'}"
    done = subprocess.run([sys.executable, "-c", code, url], capture_output=True, text=True)
    assert done.stdout.strip() == "ok", done.stderr[-2000:]
