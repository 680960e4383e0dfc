from __future__ import annotations

from fastapi import APIRouter, Response
from fastapi.concurrency import run_in_threadpool

from app.deps import RuntimeDep, WorkspaceDep
from app.incidents.evaluator import incident_state
from app.notifications import service
from app.notifications.models import Channel, ChannelIn, DeliveryResult
from app.runtime import Runtime
from app.workspaces.service import require_workspace

router = APIRouter(prefix="/api/v1/workspaces/{ws}/channels", tags=["notifications"])


@router.post("", response_model=Channel, status_code=201)
def create(ws: WorkspaceDep, body: ChannelIn, runtime: RuntimeDep) -> Channel:
    """Add a channel that alerts go to (its URL is validated by apprise, then stored sealed)."""
    box = incident_state(runtime).dispatcher.box
    with runtime.engine.begin() as connection:
        require_workspace(connection, ws)
        return service.create_channel(connection, ws, body, box)


@router.get("", response_model=list[Channel])
def list_(ws: WorkspaceDep, runtime: RuntimeDep) -> list[Channel]:
    """The workspace's channels, URLs masked."""
    with runtime.engine.connect() as connection:
        require_workspace(connection, ws)
        return service.list_channels(connection, ws)


@router.get("/{channel_id}", response_model=Channel)
def get(ws: WorkspaceDep, channel_id: str, runtime: RuntimeDep) -> Channel:
    with runtime.engine.connect() as connection:
        require_workspace(connection, ws)
        return service.get_channel(connection, ws, channel_id)


@router.delete("/{channel_id}", status_code=204)
def delete(ws: WorkspaceDep, channel_id: str, runtime: RuntimeDep) -> Response:
    with runtime.engine.begin() as connection:
        require_workspace(connection, ws)
        service.delete_channel(connection, ws, channel_id)
    return Response(status_code=204)


def _send_test(runtime: Runtime, ws: str, channel_id: str) -> DeliveryResult:
    dispatcher = incident_state(runtime).dispatcher
    with runtime.engine.connect() as connection:
        require_workspace(connection, ws)
        channel = service.channel_to_send(connection, ws, channel_id, dispatcher.box)
    return dispatcher.deliver(
        channel,
        None,
        "test",
        f"[Arbiter {ws}] Test message",
        f"This channel ({channel.name}) will receive Arbiter's incident alerts for "
        f"workspace {ws}: {', '.join(channel.events)}.",
        "info",
        1,
    )


@router.post("/{channel_id}/test", response_model=DeliveryResult)
async def test(ws: WorkspaceDep, channel_id: str, runtime: RuntimeDep) -> DeliveryResult:
    """Send a test message now (one attempt) and answer how it went; it is logged too."""
    return await run_in_threadpool(_send_test, runtime, ws, channel_id)
