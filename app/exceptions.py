"""What the domain refuses, in its own words: services raise these, never an HTTP answer.

    ArbiterError                  the request cannot be done as asked (not a fault of the service)
     ├── NotFound                 the thing named does not exist
     │    └── WorkspaceNotFound   the workspace does not exist (or was deleted meanwhile)
     ├── Conflict                 the current state does not allow it (yet)
     │    └── NoTopology          the workspace has no topology yet: nothing can be judged
     ├── Invalid                  the input breaks a rule: one Problem per bad field
     ├── TooLarge                 more than one request may carry
     ├── Forbidden                the caller is known but may not do this
     ├── Unauthenticated          the caller is not known (no credentials, or wrong ones)
     └── Throttled                too many failed authentications lately: retry later

``app.errors`` translates them to HTTP answers in one place (404, 409, 422, 413, 403, 401,
429); background jobs catch the one they mean (a workspace deleted under them is
``WorkspaceNotFound``, one without a topology ``NoTopology``: see ``NOTHING_TO_JUDGE``).

>>> exc = Invalid.one(["body", "url"], "not a URL")
>>> str(exc), exc.problems
('not a URL', [{'loc': ['body', 'url'], 'msg': 'not a URL', 'type': 'value_error'}])
>>> isinstance(WorkspaceNotFound("acme"), NotFound), str(WorkspaceNotFound("acme"))
(True, "workspace 'acme' does not exist")
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypedDict


class ArbiterError(Exception):
    """The base of every refusal; ``str(exc)`` is the message a person reads."""


class NotFound(ArbiterError):
    pass


class WorkspaceNotFound(NotFound):
    def __init__(self, workspace_id: str) -> None:
        super().__init__(f"workspace '{workspace_id}' does not exist")
        self.workspace_id = workspace_id


class Conflict(ArbiterError):
    pass


class NoTopology(Conflict):
    """``before``: what the topology is needed for, named in the message."""

    def __init__(self, workspace_id: str, before: str | None = None) -> None:
        what = f"PUT its topology before {before}" if before else "PUT one first"
        super().__init__(f"workspace '{workspace_id}' has no topology yet: {what}")
        self.workspace_id = workspace_id


NOTHING_TO_JUDGE = (WorkspaceNotFound, NoTopology)
"""What a background job meets when its workspace went away or has no topology yet."""


class Problem(TypedDict):
    """One rule an input broke, in pydantic's own shape: where (``loc``), why, what kind."""

    loc: list[str | int]
    msg: str
    type: str


class Invalid(ArbiterError):
    """The input breaks one rule or more; ``problems`` names each place and reason."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = list(problems)
        super().__init__("; ".join(problem["msg"] for problem in self.problems))

    @classmethod
    def one(cls, loc: Sequence[str | int], msg: str, type_: str = "value_error") -> Invalid:
        return cls([{"loc": list(loc), "msg": msg, "type": type_}])


def pydantic_problems(errors: Sequence[Any], prefix: Sequence[str | int] = ()) -> list[Problem]:
    """pydantic's errors as Problems (no echo of the input, which may be huge)."""
    return [
        {"loc": [*prefix, *err["loc"]], "msg": err["msg"], "type": err["type"]} for err in errors
    ]


class TooLarge(ArbiterError):
    pass


class Forbidden(ArbiterError):
    pass


class Unauthenticated(ArbiterError):
    """``challenge`` names the credentials that would be accepted (None: say nothing)."""

    challenge: str | None = "Bearer"

    def __init__(self, message: str = "missing or invalid bearer token") -> None:
        super().__init__(message)


class Throttled(ArbiterError):
    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after
