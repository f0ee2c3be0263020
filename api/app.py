"""The HTTP application: ``create_app(settings)`` wires routes, errors, the docs and, in
its lifespan, the store and background jobs built by the composition root
(``api.bootstrap``)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from litestar import Litestar, Request, Router
from litestar.config.cors import CORSConfig
from litestar.datastructures import State
from litestar.di import Provide
from litestar.openapi.config import OpenAPIConfig
from litestar.openapi.spec import Components, SecurityScheme

from api.access import Viewer, authorise, provide_viewer
from api.auth import Principal, provide_principal
from api.bootstrap import opened_store, read_models
from api.commands import provide_command
from api.controllers.administration import PortfolioAdministration, ProjectAdministration
from api.controllers.audit import AuditController
from api.controllers.change_requests import ChangeRequestController, ProjectChangeRequests
from api.controllers.delegations import DelegationController
from api.controllers.events import EventStream
from api.controllers.gates import GateController
from api.controllers.health import health
from api.controllers.ledger import LedgerController
from api.controllers.operations import liveness, metrics, readiness
from api.controllers.portfolios import PortfolioController
from api.controllers.projects import ProjectController
from api.controllers.reads import InboxReads, PortfolioReads, ProjectReads
from api.controllers.signoffs import ProjectSignOffs, SignOffController
from api.controllers.templates import PortfolioTemplate, ProjectTemplate, TemplateController
from api.controllers.webhooks import WebhookController
from api.docs import DOCS_PATH, docs_asset, render_plugins
from api.errors import EXCEPTION_HANDLERS
from api.feed import EventFeed
from api.limits import prepare as prepare_limits
from api.metrics import write_snapshot
from api.observability import observe
from api.pages import pages_router, template_config
from api.pages.sessions import prepare as prepare_sessions
from api.reads import utc_now
from api.responses import DocumentedResponses
from api.scheduler import run_scheduler
from api.settings import Settings
from api.webhook_store import prepare as prepare_webhooks
from api.webhooks import Dispatcher
from eventstore.checkpoints import CheckpointKey, load_or_create_key
from eventstore.database import Store
from projections.engine.projector import Projector
from workflows.checkpoints import keep_checkpoints

log = logging.getLogger(__name__)

API_PREFIX = "/api/v1"


async def provide_store(state: State) -> Store:
    store: Store = state.store
    return store


# Litestar resolves the dependencies of one depth together, a task each in an anyio task
# group (3.5% of a command's CPU in the server, for two values it reads off the
# request). Chained store -> principal -> viewer, each depth holds one and they resolve
# in turn, without tasks.
async def _principal(request: Request, store: Store) -> Principal:
    return await provide_principal(request)


async def _viewer(request: Request, principal: Principal) -> Viewer:
    return await provide_viewer(request)


def create_app(settings: Settings) -> Litestar:
    """Build the HTTP application for these settings."""
    feed = EventFeed(settings)  # live updates: one poller for every stream of the process

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        key = load_or_create_key(settings.checkpoint_key_path)
        app.state.checkpoint_key = key
        async with opened_store(settings, serving=True) as store:
            app.state.store = store
            await prepare_limits(store)  # the rate limits' table, shared by every process
            await prepare_webhooks(store)  # webhook subscriptions and their deliveries
            await prepare_sessions(store)  # the pages' sessions and spent sign-in links
            feed.open()
            try:
                async with _background_jobs(settings, store, key, feed):
                    yield
            finally:
                feed.close()

    api = Router(
        path=API_PREFIX,
        route_handlers=[
            health,
            liveness,
            readiness,
            metrics,
            PortfolioController,
            PortfolioReads,
            ProjectController,
            ProjectReads,
            GateController,
            InboxReads,
            AuditController,
            LedgerController,
            ProjectChangeRequests,
            ChangeRequestController,
            ProjectSignOffs,
            SignOffController,
            DelegationController,
            PortfolioAdministration,
            TemplateController,
            PortfolioTemplate,
            ProjectTemplate,
            ProjectAdministration,
            EventStream,
            WebhookController,
        ],
    )
    app = Litestar(
        route_handlers=[api, docs_asset, pages_router()],  # pages: api/pages
        lifespan=[lifespan],
        state=State({"settings": settings, "feed": feed}),
        dependencies={
            "store": Provide(provide_store),
            "principal": Provide(_principal),
            "command": Provide(provide_command),
            "viewer": Provide(_viewer),
        },
        guards=[authorise],  # the one authorisation point (api/access.py)
        logging_config=None,  # gateledger serve configures logging (api.observability)
        exception_handlers=EXCEPTION_HANDLERS,
        request_max_body_size=settings.max_body_bytes,
        cors_config=CORSConfig(allow_origins=[]),
        template_config=template_config(),  # the pages' Jinja templates
        plugins=[DocumentedResponses()],  # every error documented as problem+json
        openapi_config=OpenAPIConfig(
            title="Gateledger",
            version="0.1.0",
            description="Event-sourced governance: stage gates, change requests, audit.",
            path=DOCS_PATH,
            render_plugins=render_plugins(),  # Swagger UI served by the app itself
            components=Components(
                security_schemes={
                    "bearer": SecurityScheme(type="http", scheme="bearer", bearer_format="JWT")
                }
            ),
            security=[{"bearer": []}],
        ),
    )
    # request ids in and out, every log line's context, every answer counted and timed
    # (around litestar's own handler, as its OpenTelemetry plugin wraps it)
    app.asgi_handler = observe(app.asgi_handler)
    return app


@asynccontextmanager
async def _background_jobs(
    settings: Settings, store: Store, key: CheckpointKey, feed: EventFeed
) -> AsyncIterator[None]:
    """The projector, the escalation job, the checkpointer and the webhook dispatcher
    these settings ask for (and the demo into an empty store), and the live updates'
    poller, stopped on leaving."""
    stop = asyncio.Event()
    tasks = [asyncio.create_task(feed.run(store, stop), name="event-feed")]
    if settings.run_projector:
        projector = Projector(store, read_models())
        tasks.append(asyncio.create_task(projector.run(stop), name="projector"))
    if settings.run_scheduler:
        job = run_scheduler(store, stop, utc_now, settings.escalation_interval_s)
        tasks.append(asyncio.create_task(job, name="escalation"))
    if settings.run_webhooks:
        dispatcher = Dispatcher(store, settings)
        tasks.append(asyncio.create_task(dispatcher.run(stop), name="webhooks"))
    if settings.run_checkpointer:
        job = keep_checkpoints(
            store,
            key,
            stop,
            every_events=settings.checkpoint_every_events,
            interval_s=settings.checkpoint_interval_s,
        )
        tasks.append(asyncio.create_task(job, name="checkpoints"))
    if settings.metrics_dir is not None:  # several processes: each writes its metrics
        tasks.append(asyncio.create_task(_keep_metrics(settings, stop), name="metrics"))
    try:
        if settings.demo_if_empty and await store.events.max_notification_id() is None:
            from api.demo import load_demo

            log.info("empty store: loading the demo portfolio")
            await load_demo(store)
        yield
    finally:
        stop.set()
        for task in tasks:
            try:
                await asyncio.wait_for(task, 10)
            except (asyncio.CancelledError, Exception):
                log.exception("background task %s ended badly", task.get_name())


async def _keep_metrics(settings: Settings, stop: asyncio.Event, every_s: float = 5.0) -> None:
    """This process's counters to GATELEDGER_METRICS_DIR every few seconds and on leaving,
    for whichever process a scrape reaches (api/metrics.py)."""
    assert settings.metrics_dir is not None
    while not stop.is_set():
        try:
            write_snapshot(settings.metrics_dir)
        except OSError as exc:
            log.warning("cannot write metrics to %s: %s", settings.metrics_dir, exc)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), every_s)
    with contextlib.suppress(OSError):
        write_snapshot(settings.metrics_dir)
