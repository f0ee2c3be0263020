"""Outbound webhooks: the PMO's subscriptions, their delivery log, redelivery."""

from __future__ import annotations

import fnmatch
from uuid import UUID

from litestar import Controller, Request, delete, get, post
from litestar.params import Parameter

from api.answers import (
    Delivery,
    DeliveryPage,
    Webhook,
    WebhookCreated,
    WebhookPage,
    paged,
    typed,
)
from api.auth import Principal
from api.outbound import check_url, new_secret
from api.reads import Cursor, Limit, parse_cursor
from api.schemas import CreateWebhook
from api.webhook_deliveries import deliveries, delivery, redeliver
from api.webhook_store import create, find, listed
from api.webhook_store import delete as delete_hook
from api.webhooks import DEFAULT_TYPES, wake
from domain.errors import InvalidValue
from domain.stored_names import EVENTS
from eventstore.database import Store
from workflows.errors import UnknownAggregate


def _event_types(given: list[str] | None) -> list[str]:
    """The patterns, each matching at least one event type (else 422 naming it)."""
    types = list(dict.fromkeys(given or DEFAULT_TYPES))
    for pattern in types:
        if not any(fnmatch.fnmatchcase(name, pattern) for name in EVENTS):
            raise InvalidValue(
                f"event_types: {pattern!r} matches no event type (canonical names such as "
                "'Project.GateDecided'; '*' matches any text)"
            )
    return types


async def _portfolio(store: Store, portfolio_id: UUID | None) -> UUID | None:
    if portfolio_id is None:
        return None
    first = await store.events.select_events(portfolio_id, lte=1, limit=1)
    if not first or not store.mapper.names.canonical(first[0].topic).startswith("Portfolio."):
        raise InvalidValue(f"portfolio_id: no portfolio {portfolio_id} exists")
    return portfolio_id


async def _found(store: Store, webhook_id: UUID) -> dict[str, object]:
    hook = await find(store.pool, store.names, webhook_id)
    if hook is None:
        raise UnknownAggregate(f"webhook {webhook_id} not found")
    return hook


class WebhookController(Controller):
    path = "/webhooks"
    tags = ["webhooks"]

    @post("/", operation_id="createWebhook", summary="Subscribe a URL to events")
    async def subscribe(
        self, data: CreateWebhook, principal: Principal, store: Store, request: Request
    ) -> WebhookCreated:
        """Events appended from now on that match ``event_types`` (default: escalations
        and gate and change request decisions), and ``portfolio_id`` if given, are posted
        to ``url``, signed with the secret this answer shows (and no other will)."""
        settings = request.app.state.settings
        url = check_url(data.url, private_allowed=settings.webhook_private_targets)
        types = _event_types(data.event_types)
        portfolio_id = await _portfolio(store, data.portfolio_id)
        secret = new_secret()
        hook = await create(
            store.pool,
            store.names,
            url=url,
            event_types=types,
            portfolio_id=portfolio_id,
            description=data.description,
            secret=secret,
            by=principal.sub,
            position=await store.events.max_notification_id() or 0,
        )
        await wake(store)
        return typed({**hook, "secret": secret}, WebhookCreated)

    @get("/", operation_id="listWebhooks", summary="The webhook subscriptions")
    async def subscriptions(
        self, store: Store, after: str = Cursor, limit: int = Limit
    ) -> WebhookPage:
        items = await listed(store.pool, store.names, parse_cursor(after), limit + 1)
        more = len(items) > limit
        items = items[:limit]
        return paged(WebhookPage, items, items[-1]["seq"] if more else None)

    @get("/{webhook_id:uuid}", operation_id="getWebhook", summary="One webhook subscription")
    async def subscription(self, webhook_id: UUID, store: Store) -> Webhook:
        return typed(await _found(store, webhook_id), Webhook)

    @delete(
        "/{webhook_id:uuid}",
        operation_id="deleteWebhook",
        summary="Stop a webhook subscription",
        status_code=200,
    )
    async def unsubscribe(self, webhook_id: UUID, principal: Principal, store: Store) -> Webhook:
        """Nothing more is sent; the subscription and its delivery log are kept."""
        hook = await _found(store, webhook_id)
        if not await delete_hook(store.pool, store.names, webhook_id, principal.sub):
            raise UnknownAggregate(f"webhook {webhook_id} not found")
        return typed(hook, Webhook)

    @get(
        "/{webhook_id:uuid}/deliveries",
        operation_id="listWebhookDeliveries",
        summary="A subscription's deliveries and their attempts",
    )
    async def deliveries(
        self,
        webhook_id: UUID,
        store: Store,
        after: str = Cursor,
        limit: int = Parameter(default=50, ge=1, le=200, description="at most this many"),
    ) -> DeliveryPage:
        """In log order, each with its latest attempts (status code, error, duration)."""
        await _found(store, webhook_id)
        items = await deliveries(
            store.pool, store.names, webhook_id, parse_cursor(after), limit + 1
        )
        more = len(items) > limit
        items = items[:limit]
        return paged(DeliveryPage, items, items[-1]["position"] if more else None)

    @post(
        "/{webhook_id:uuid}/deliveries/{delivery_id:uuid}/redeliver",
        operation_id="redeliverWebhookDelivery",
        summary="Send a delivery again",
        status_code=200,
    )
    async def redeliver(self, webhook_id: UUID, delivery_id: UUID, store: Store) -> Delivery:
        """The same body and ``webhook-id``, as soon as the dispatcher can (before the
        subscription's later events, if any are still pending)."""
        await _found(store, webhook_id)
        if not await redeliver(store.pool, store.names, webhook_id, delivery_id):
            raise UnknownAggregate(f"delivery {delivery_id} of webhook {webhook_id} not found")
        await wake(store)
        found = await delivery(store.pool, store.names, webhook_id, delivery_id)
        return typed(found, Delivery)
