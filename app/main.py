"""The app factory: builds the FastAPI application and wires its router, limits and handlers.

`app` at module level is what `uvicorn app.main:app` serves, built from the environment (and
`.env`). Everything else builds its own with `create_app(settings)`, and that app uses exactly
those settings: its lifespan and its engine never read the environment again. Building it opens
no connection.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio.to_thread
from fastapi import FastAPI
from fastapi_offline import FastAPIOffline

from app import items
from app.database import LazyEngine, database_of
from app.errors import register_error_handlers
from app.settings import Settings, get_settings


def configure_worker_threads(settings: Settings) -> None:
    """Give the route threads `settings.route_threads` slots: never more than the pool's capacity.

    Each handler holds at most one connection, so with no more threads than connections no thread
    ever waits on the pool while holding a slot that the thread returning a connection would
    need: surplus requests queue for a thread instead, in order, and nothing deadlocks at any
    number of clients. (The pool timeout still turns a stuck pool into a 503.)
    """
    limiter = anyio.to_thread.current_default_thread_limiter()
    limiter.total_tokens = settings.route_threads


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Size the worker threads from the app's settings at start; close its pool at shutdown."""
    database = database_of(app)
    configure_worker_threads(database.settings)
    yield
    database.dispose()


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the application from `settings` (default: the environment and `.env`).

    `FastAPIOffline` is FastAPI with `/docs` and `/redoc` serving Swagger UI's and ReDoc's
    JavaScript and CSS from the installed `fastapi-offline` package (FastAPI's "self-hosting
    JavaScript and CSS for docs" recipe), not from cdn.jsdelivr.net: the docs render on a machine
    without internet access or behind a strict proxy (`tests/api/test_docs_offline.py`).
    """
    settings = settings or get_settings()
    app = FastAPIOffline(
        title="Items service",
        version="0.1.0",
        summary="CRUD for items on PostgreSQL, with migrations gated by a verification suite.",
        lifespan=lifespan,
        max_body_size=settings.max_body_bytes,
    )
    app.state.database = LazyEngine(settings)
    app.include_router(items.router)
    register_error_handlers(app)
    return app


app = create_app()
