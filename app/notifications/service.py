"""Notification channels in the store: the apprise URL sealed at rest, masked when read."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Row, delete, insert, select

from app.connections.crypto import SecretBox
from app.db.rows import workspace_row
from app.exceptions import Invalid
from app.incidents.lifecycle import AlertEvent
from app.notifications import sender
from app.notifications.models import Channel, ChannelIn, DeliveryResult
from app.notifications.tables import notification_channels, notification_deliveries


@dataclass(frozen=True)
class StoredChannel:
    """A channel with its URL opened: only ever held in memory, to send."""

    id: str
    workspace_id: str
    name: str
    url: str
    events: tuple[str, ...]


def _public(row: Row[Any]) -> Channel:
    return Channel(
        id=row.id,
        name=row.name,
        url=row.masked_url,
        events=[e for e in row.events.split(",") if e],
        created_at=row.created_at,
    )


def create_channel(
    connection: Connection, workspace_id: str, body: ChannelIn, box: SecretBox
) -> Channel:
    url = body.url.get_secret_value().strip()
    try:
        shown = sender.check(url)
    except sender.BadChannelUrl as exc:
        raise Invalid.one(["body", "url"], str(exc)) from exc
    values = {
        "id": uuid.uuid4().hex,
        "workspace_id": workspace_id,
        "name": body.name,
        "url": box.seal(url),
        "masked_url": shown,
        "events": ",".join(body.events),
        "created_at": datetime.now(UTC),
    }
    connection.execute(insert(notification_channels).values(**values))
    row = connection.execute(
        select(notification_channels).where(notification_channels.c.id == values["id"])
    ).one()
    return _public(row)


def list_channels(connection: Connection, workspace_id: str) -> list[Channel]:
    rows = connection.execute(
        select(notification_channels)
        .where(notification_channels.c.workspace_id == workspace_id)
        .order_by(notification_channels.c.created_at, notification_channels.c.id)
    )
    return [_public(row) for row in rows]


def _row(connection: Connection, workspace_id: str, channel_id: str) -> Row[Any]:
    missing = f"channel '{channel_id}' does not exist in workspace '{workspace_id}'"
    return workspace_row(connection, notification_channels.c.id, workspace_id, channel_id, missing)


def get_channel(connection: Connection, workspace_id: str, channel_id: str) -> Channel:
    return _public(_row(connection, workspace_id, channel_id))


def delete_channel(connection: Connection, workspace_id: str, channel_id: str) -> None:
    _row(connection, workspace_id, channel_id)
    connection.execute(
        delete(notification_channels).where(notification_channels.c.id == channel_id)
    )


def _opened(row: Row[Any], box: SecretBox) -> StoredChannel:
    url = box.open(row.url)
    assert isinstance(url, str)
    return StoredChannel(row.id, row.workspace_id, row.name, url, tuple(row.events.split(",")))


def channel_to_send(
    connection: Connection, workspace_id: str, channel_id: str, box: SecretBox
) -> StoredChannel:
    return _opened(_row(connection, workspace_id, channel_id), box)


def channels_for(
    connection: Connection, workspace_id: str, event: AlertEvent, box: SecretBox
) -> list[StoredChannel]:
    """The workspace's channels subscribed to ``event``."""
    rows = connection.execute(
        select(notification_channels).where(notification_channels.c.workspace_id == workspace_id)
    )
    found = [_opened(row, box) for row in rows]
    return [channel for channel in found if event in channel.events]


def record_delivery(
    connection: Connection, channel: StoredChannel, incident_id: int | None, result: DeliveryResult
) -> None:
    """Log how a message to ``channel`` about ``incident_id`` (None: a test) went."""
    connection.execute(
        insert(notification_deliveries).values(
            workspace_id=channel.workspace_id,
            incident_id=incident_id,
            channel_name=channel.name,
            **result.model_dump(),
        )
    )
