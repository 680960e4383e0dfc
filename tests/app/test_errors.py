"""The domain's refusals become the same HTTP answers everywhere: status, body and headers."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from app import errors
from app.exceptions import (
    ArbiterError,
    Conflict,
    Forbidden,
    Invalid,
    NotFound,
    NoTopology,
    Throttled,
    TooLarge,
    Unauthenticated,
    WorkspaceNotFound,
)
from app.webhooks.views import Refused


class Quiet(Unauthenticated):
    challenge = None


CASES: list[tuple[ArbiterError, int, Any, dict[str, str]]] = [
    (NotFound("no check 'x'"), 404, "no check 'x'", {}),
    (WorkspaceNotFound("acme"), 404, "workspace 'acme' does not exist", {}),
    (Conflict("busy"), 409, "busy", {}),
    (
        NoTopology("acme"),
        409,
        "workspace 'acme' has no topology yet: PUT one first",
        {},
    ),
    (
        NoTopology("acme", before="events"),
        409,
        "workspace 'acme' has no topology yet: PUT its topology before events",
        {},
    ),
    (
        Invalid.one(["query", "cursor"], "not a cursor"),
        422,
        [{"loc": ["query", "cursor"], "msg": "not a cursor", "type": "value_error"}],
        {},
    ),
    (TooLarge("at most 10000"), 413, "at most 10000", {}),
    (Forbidden("viewer"), 403, "viewer", {}),
    (
        Unauthenticated(),
        401,
        "missing or invalid bearer token",
        {"www-authenticate": "Bearer"},
    ),
    (Quiet("no"), 401, "no", {}),
    (
        Refused(),
        401,
        "webhook refused: no receiver here, or its signature does not verify",
        {},
    ),
    (Throttled("slow down", retry_after=42), 429, "slow down", {"retry-after": "42"}),
    (ArbiterError("refused"), 400, "refused", {}),
]


@pytest.fixture(scope="module")
def raising() -> TestClient:
    app = FastAPI()
    errors.install(app)

    @app.get("/{index}")
    def fail(index: int) -> None:
        raise CASES[index][0]

    return TestClient(app)


@pytest.mark.parametrize(
    ("index", "status", "detail", "headers"),
    [(i, status, detail, headers) for i, (_exc, status, detail, headers) in enumerate(CASES)],
    ids=[type(case[0]).__name__ for case in CASES],
)
def test_each_refusal_is_answered_in_one_shape(
    raising: TestClient, index: int, status: int, detail: Any, headers: dict[str, str]
) -> None:
    answer = raising.get(f"/{index}")
    assert answer.status_code == status
    assert answer.json() == {"detail": detail}
    for name, value in headers.items():
        assert answer.headers[name] == value
    if status == 401 and not headers:
        assert "www-authenticate" not in answer.headers


def test_a_refusal_reads_as_its_reasons() -> None:
    """Pages and OTLP answers show ``str(exc)``: every reason of an Invalid, in order."""
    both = Invalid(
        [
            {"loc": ["body", "a"], "msg": "first", "type": "value_error"},
            {"loc": ["body", "b"], "msg": "second", "type": "missing"},
        ]
    )
    assert str(both) == "first; second"
    assert errors.answer(both).status == 422
