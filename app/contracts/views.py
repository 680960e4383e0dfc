"""Contracts per vendor and running costs per workspace, as resources a script can PUT."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response

from app.contracts import service
from app.contracts.models import Contract, ContractIn, Costs, CostsIn
from app.deps import ConnectionDep, ExistingWorkspaceDep, PutAnswer, PutAnswerDep

router = APIRouter(prefix="/api/v1/workspaces/{ws}", tags=["contracts"])

VendorPath = Annotated[
    str,
    Path(
        min_length=1,
        max_length=200,
        description="The vendor as the topology names it (a system's vendor or a link's "
        "owner), URL-encoded.",
        examples=["ERP partner"],
    ),
]


@router.get("/contracts", response_model=list[Contract])
def list_contracts(ws: ExistingWorkspaceDep, connection: ConnectionDep) -> list[Contract]:
    """Every vendor contract of the workspace, by vendor name."""
    return service.list_contracts(connection, ws)


@router.put("/contracts/{vendor}", response_model=Contract, responses=PutAnswer.responses(Contract))
def put_contract(
    ws: ExistingWorkspaceDep,
    vendor: VendorPath,
    body: ContractIn,
    connection: ConnectionDep,
    answer: PutAnswerDep,
) -> Contract:
    """Create (201) or replace (200) the vendor's contract: the response and resolution times
    and the monthly availability it promises, its monthly fee, and the penalty per breach with
    its cap. The SLA report applies it to the incidents the vendor answers for."""
    return answer(service.put_contract(connection, ws, vendor, body))


@router.get("/contracts/{vendor}", response_model=Contract)
def get_contract(
    ws: ExistingWorkspaceDep, vendor: VendorPath, connection: ConnectionDep
) -> Contract:
    """The vendor's contract (404 when none is on file)."""
    return service.get_contract(connection, ws, vendor)


@router.delete("/contracts/{vendor}", status_code=204)
def delete_contract(
    ws: ExistingWorkspaceDep, vendor: VendorPath, connection: ConnectionDep
) -> Response:
    """Remove the vendor's contract: the SLA report no longer computes its penalties."""
    service.delete_contract(connection, ws, vendor)
    return Response(status_code=204)


@router.put("/costs", response_model=Costs, responses=PutAnswer.responses(Costs))
def put_costs(
    ws: ExistingWorkspaceDep, body: CostsIn, connection: ConnectionDep, answer: PutAnswerDep
) -> Costs:
    """Create (201) or replace (200) the hourly running costs: advertising (per hour, or a daily
    budget) and any other hourly cost, in one currency. Incidents on the order flow and the SLA
    report show what they cost while the order flow was down."""
    return answer(service.put_costs(connection, ws, body))


@router.get("/costs", response_model=Costs)
def get_costs(ws: ExistingWorkspaceDep, connection: ConnectionDep) -> Costs:
    """The running costs, with everything per hour summed (404 when none are on file)."""
    return service.get_costs(connection, ws)


@router.delete("/costs", status_code=204)
def delete_costs(ws: ExistingWorkspaceDep, connection: ConnectionDep) -> Response:
    """Remove the running costs: incidents and reports no longer show what was spent."""
    service.delete_costs(connection, ws)
    return Response(status_code=204)
