"""create_app(): the ASGI application. Nothing is built at import time."""

from __future__ import annotations

import ctypes
import functools
import gc
import os

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from kesu import __version__
from kesu.clock import Clock, SystemClock
from kesu.db.session import make_engine, make_sessionmaker
from kesu.privacy import crypto
from kesu.settings import Settings
from kesu.web import errors, pages
from kesu.web.api.improvement import router as improvement_router
from kesu.web.api.notify import router as notify_router
from kesu.web.api.reports import router as reports_router
from kesu.web.api.routes import router as api_router
from kesu.web.api.sla import router as sla_router
from kesu.web.console.improvement import router as improvement_console_router
from kesu.web.console.reports import router as reports_console_router
from kesu.web.console.routes import router as console_router
from kesu.web.portal.routes import router as portal_router
from kesu.web.security import BodyLimit, SecurityHeaders


def create_app(settings: Settings | None = None, clock: Clock | None = None) -> FastAPI:
    settings = settings or Settings()
    app = FastAPI(
        title="Kesu 客诉 API",
        version=__version__,
        openapi_url="/api/v1/openapi.json",
        docs_url=None,  # kesu.web.api.routes.api_docs: Swagger UI from /static, not a CDN
        redoc_url=None,
        responses=errors.ERROR_RESPONSES,
    )
    app.state.settings = settings
    app.state.clock = clock or SystemClock()
    app.state.engine = make_engine(settings.db_url)
    app.state.sessions = make_sessionmaker(app.state.engine)
    crypto.configure(settings)
    errors.install(app)
    app.include_router(api_router, prefix="/api/v1")
    app.include_router(notify_router, prefix="/api/v1")
    app.include_router(improvement_router, prefix="/api/v1")
    app.include_router(sla_router, prefix="/api/v1")
    app.include_router(reports_router, prefix="/api/v1")
    pages.install(app)
    app.mount("/static", StaticFiles(directory=pages.STATIC_DIR), name="static")
    app.include_router(portal_router)
    app.include_router(console_router)
    app.include_router(improvement_console_router)
    app.include_router(reports_console_router)

    app.add_middleware(BodyLimit, upload_bytes=settings.max_upload_bytes + 1024 * 1024)
    app.add_middleware(SecurityHeaders, production=settings.environment == "production")
    _tune_process()
    return app


@functools.cache
def _tune_process() -> None:
    """Once per process, when the first application is built (docs/performance.md, "Memory"):
    - what exists by then (modules, routes, schemas, the application) is moved out of the
      garbage collector's sight, so a full collection walks only what requests create; without
      it one request in a few paid a 150–250 ms collection;
    - glibc's malloc keeps at most two arenas. By default each of the (up to 40) request
      threads may get an arena of its own and keeps what its busiest request took: a worker's
      peak over the benchmark's reads and intake was 186 MB at 100k complaints, 160 MB with two.
      An operator's own `MALLOC_ARENA_MAX` wins; other C libraries are left alone."""
    gc.freeze()
    if "MALLOC_ARENA_MAX" not in os.environ:
        _malloc_arenas(2)


def _malloc_arenas(most: int) -> None:
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):  # not glibc
        return
    mallopt(ctypes.c_int(-8), ctypes.c_int(most))  # M_ARENA_MAX
