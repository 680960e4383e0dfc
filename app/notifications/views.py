from __future__ import annotations

from fastapi import APIRouter, Response

from app.deps import ConnectionDep, ExistingWorkspaceDep, RuntimeDep, WorkspaceDep
from app.incidents.evaluator import incident_state
from app.notifications import service
from app.notifications.dispatcher import Message
from app.notifications.models import Channel, ChannelIn, DeliveryResult
from app.workspaces.service import require_workspace

router = APIRouter(prefix="/api/v1/workspaces/{ws}/channels", tags=["notifications"])


@router.post("", response_model=Channel, status_code=201)
def create(
    ws: ExistingWorkspaceDep, body: ChannelIn, connection: ConnectionDep, runtime: RuntimeDep
) -> Channel:
    """Add a channel that alerts go to (its URL is validated by apprise, then stored sealed)."""
    box = incident_state(runtime).dispatcher.box
    return service.create_channel(connection, ws, body, box)


@router.get("", response_model=list[Channel])
def list_(ws: ExistingWorkspaceDep, connection: ConnectionDep) -> list[Channel]:
    """The workspace's channels, URLs masked."""
    return service.list_channels(connection, ws)


@router.get("/{channel_id}", response_model=Channel)
def get(ws: ExistingWorkspaceDep, channel_id: str, connection: ConnectionDep) -> Channel:
    return service.get_channel(connection, ws, channel_id)


@router.delete("/{channel_id}", status_code=204)
def delete(ws: ExistingWorkspaceDep, channel_id: str, connection: ConnectionDep) -> Response:
    service.delete_channel(connection, ws, channel_id)
    return Response(status_code=204)


@router.post("/{channel_id}/test", response_model=DeliveryResult)
def test(ws: WorkspaceDep, channel_id: str, runtime: RuntimeDep) -> DeliveryResult:
    """Send a test message now (one attempt) and answer how it went; it is logged too."""
    dispatcher = incident_state(runtime).dispatcher
    with runtime.engine.connect() as connection:
        require_workspace(connection, ws)
        channel = service.channel_to_send(connection, ws, channel_id, dispatcher.box)
    message = Message(
        None,
        "test",
        f"[Arbiter {ws}] Test message",
        f"This channel ({channel.name}) will receive Arbiter's incident alerts for "
        f"workspace {ws}: {', '.join(channel.events)}.",
        "info",
    )
    return dispatcher.deliver(channel, message, attempts=1)
