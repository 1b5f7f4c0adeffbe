"""The ceiling: a bare Starlette endpoint that stores one complaint row in SQLite per request.

It does what any intake must (parse the JSON body, insert one row in its own committed
transaction, answer 201 with the new id) with the same SQLite settings as Kesu (WAL,
synchronous=NORMAL, busy timeout, BEGIN IMMEDIATE) and nothing else: no validation,
no authentication, no numbering, no event. Served like Kesu:
`uvicorn bench.ceiling:create_app --factory --workers N`, database from BENCH_CEILING_DB.
"""

from __future__ import annotations

import json
import os
import sqlite3

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.routing import Route

SCHEMA = """
CREATE TABLE IF NOT EXISTS complaint (
  id INTEGER PRIMARY KEY,
  site_id INTEGER NOT NULL,
  title TEXT NOT NULL,
  description TEXT NOT NULL,
  body TEXT NOT NULL,
  received_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP
)
"""


def create_app() -> Starlette:
    path = os.environ["BENCH_CEILING_DB"]
    db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute("PRAGMA busy_timeout=30000")
    db.execute(SCHEMA)

    async def create(request: Request) -> JSONResponse:
        data = json.loads(await request.body())
        db.execute("BEGIN IMMEDIATE")
        try:
            cur = db.execute(
                "INSERT INTO complaint (site_id, title, description, body) VALUES (?, ?, ?, ?)",
                (data["site_id"], data["title"], data["description"], json.dumps(data)),
            )
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        return JSONResponse({"id": cur.lastrowid}, status_code=201)

    async def health(request: Request) -> PlainTextResponse:
        return PlainTextResponse("ok")

    return Starlette(
        routes=[
            Route("/complaints", create, methods=["POST"]),
            Route("/health", health),
        ]
    )
