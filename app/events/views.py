from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, status
from fastapi.concurrency import run_in_threadpool

from app.deps import ConnectionDep, ExistingWorkspaceDep, RuntimeDep, WorkspaceDep
from app.events.models import Accepted, EventBatch, EventPageOut, Moment
from app.events.service import MAX_PAGE, Rows, event_rows, prepare_body, read_events, storing
from app.exceptions import Invalid

router = APIRouter(prefix="/api/v1/workspaces/{ws}/events", tags=["events"])

_batch_schema = EventBatch.model_json_schema(ref_template="#/components/schemas/{model}")


@router.post(
    "",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=Accepted,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": {"$ref": "#/components/schemas/EventBatch"}},
                "application/x-ndjson": {
                    "schema": {"type": "string", "description": "One Event JSON object a line."}
                },
            },
        }
    },
    responses={
        409: {"description": "The workspace has no topology yet"},
        413: {"description": "Over 10,000 events or over the body size limit"},
        422: {
            "description": "Invalid batch: the index and reason of each bad event; nothing stored"
        },
    },
)
async def post(ws: WorkspaceDep, request: Request, runtime: RuntimeDep) -> Accepted:
    """Store a batch durably and idempotently: 202 only once every event is committed."""
    body, content_type = await request.body(), request.headers.get("content-type", "")

    def validated() -> Rows:
        events = prepare_body(runtime.engine, ws, body, content_type)
        return event_rows(runtime.engine.dialect, ws, events)  # off the writer's thread

    # Parsing and validating 10,000 events takes tens of milliseconds: not on the event loop.
    batch = await run_in_threadpool(validated)
    result = await runtime.writer.run_async(storing(ws, batch))
    runtime.events_stored(ws, result.stored)
    return Accepted(accepted=result.accepted, duplicates=result.duplicates)


@router.get("", response_model=EventPageOut)
def list_(
    ws: ExistingWorkspaceDep,
    connection: ConnectionDep,
    ref: Annotated[
        str | None, Query(description="`namespace:value`, e.g. `shop:100045` or `sku:ABC-1`.")
    ] = None,
    flow: Annotated[str | None, Query(max_length=64)] = None,
    since: Annotated[Moment | None, Query(description="Events at or after (RFC 3339).")] = None,
    until: Annotated[Moment | None, Query(description="Events before (RFC 3339).")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
) -> EventPageOut:
    """Events in time order, to check what arrived; follow `next_cursor` for more."""
    parsed_ref: tuple[str, str] | None = None
    if ref is not None:
        namespace, sep, value = ref.partition(":")
        if not sep or not namespace or not value:
            raise Invalid.one(["query", "ref"], "expected namespace:value, e.g. shop:100045")
        parsed_ref = (namespace, value)
    page = read_events(
        connection,
        ws,
        ref=parsed_ref,
        flow=flow,
        since=since,
        until=until,
        limit=limit,
        cursor=cursor,
    )
    return EventPageOut(events=page.events, next_cursor=page.next_cursor)
