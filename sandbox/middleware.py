"""What every integration of the sandbox does besides moving data: call a system over HTTP,
time the call, turn the vendor's answer into a status, honour ``Retry-After``, and report the
call to Arbiter as integration middleware would.

An Odoo JSON-RPC error travels in an HTTP 200 body; the middleware reports the status the
error stands for (ValidationError 422, AccessDenied 401, ...) with the error's name and text.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx

from sandbox.reporter import call_event
from sandbox.woo_auth import SignedQuery
from sandbox.world import World

log = logging.getLogger("sandbox.integrations")

ODOO_ERROR_STATUS = {
    "odoo.exceptions.AccessDenied": 401,
    "odoo.exceptions.AccessError": 403,
    "odoo.exceptions.MissingError": 404,
    "odoo.exceptions.ValidationError": 422,
    "odoo.exceptions.UserError": 422,
    "builtins.ValueError": 422,
    "builtins.TypeError": 422,
}


@dataclass
class Outcome:
    status: int | None
    duration_ms: float
    error: str | None = None
    body: Any = None
    retry_after: float | None = None
    total_pages: int | None = None

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300 and self.error is None

    @property
    def permanent(self) -> bool:
        """A refusal that resending the same data cannot change."""
        return (
            self.status is not None
            and 400 <= self.status < 500
            and self.status not in {401, 403, 408, 429}
        )


class Middleware:
    """The OMS's integration runtime: one HTTP client, one reporter, per-target backoff."""

    def __init__(self, world: World, client: httpx.AsyncClient) -> None:
        self.world = world
        self.client = client
        self._not_before: dict[str, float] = {}

    async def loop(self, name: str, step: Callable[[], Awaitable[None]]) -> None:
        """Run ``step`` every interval; whatever it raises is recorded, never fatal."""
        interval = self.world.config.integration_interval_seconds
        while True:
            run = self.world.integration(name)
            run.runs += 1
            run.last_run = self.world.clock()
            try:
                await step()
                run.last_ok = self.world.clock()
                run.last_error = None
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the integration lives on, as real ones do
                run.last_error = f"{type(exc).__name__}: {exc}"
                log.exception("integration %s failed", name)
            await asyncio.sleep(interval)

    def _oms_running(self) -> bool:
        # an OMS that is down runs no integrations and reports nothing
        return not self.world.is_down("oms")

    def _waiting(self, target: str) -> bool:
        return time.monotonic() < self._not_before.get(target, 0.0)

    def _honour(self, target: str, outcome: Outcome) -> None:
        if outcome.status == 429:
            self._not_before[target] = time.monotonic() + (outcome.retry_after or 30.0)

    def _report(
        self,
        event_id: str,
        *,
        flow: str,
        target: str,
        outcome: Outcome,
        started: Any,
        refs: dict[str, str] | None = None,
        data: dict[str, Any] | None = None,
        heed: bool = False,
    ) -> None:
        """Report a call the OMS made to Arbiter; ``heed``: and wait before calling ``target``
        again when it answered 429 (:meth:`_honour`)."""
        if heed:
            self._honour(target, outcome)
        self.world.reporter.emit(
            call_event(
                self.world.event_id(event_id.replace("/", "-")),
                moment=started,
                flow=flow,
                system="oms",
                target=target,
                status=outcome.status,
                duration_ms=outcome.duration_ms,
                error=outcome.error,
                refs=refs,
                data=data,
            )
        )

    # --- HTTP ---------------------------------------------------------------------------------

    async def _http(self, method: str, url: str, **kwargs: Any) -> Outcome:
        began = time.perf_counter()
        try:
            response = await self.client.request(method, url, **kwargs)
        except httpx.TimeoutException as exc:
            return Outcome(None, _ms(began), f"timeout: {type(exc).__name__}")
        except httpx.HTTPError as exc:
            return Outcome(None, _ms(began), f"{type(exc).__name__}: {exc}")
        duration = _ms(began)
        try:
            body = response.json()
        except ValueError:
            body = None
        retry = response.headers.get("retry-after")
        pages = response.headers.get("x-wp-totalpages")
        outcome = Outcome(
            response.status_code,
            duration,
            body=body,
            retry_after=float(retry) if retry and retry.isdigit() else None,
            total_pages=int(pages) if pages and pages.isdigit() else None,
        )
        if not 200 <= response.status_code < 300:
            outcome.error = _error_text(body, response.text)
        return outcome

    async def _odoo(
        self, model: str, method: str, args: list[Any], kwargs: dict[str, Any] | None = None
    ) -> Outcome:
        creds = self.world.config.odoo
        payload = {
            "jsonrpc": "2.0",
            "method": "call",
            "id": int(time.time() * 1000) % 1_000_000_000,
            "params": {
                "service": "object",
                "method": "execute_kw",
                "args": [creds.db, creds.uid, creds.password, model, method, args, kwargs or {}],
            },
        }
        outcome = await self._http("POST", self.world.url("erp") + "/jsonrpc", json=payload)
        if outcome.status == 200 and isinstance(outcome.body, dict):
            error = outcome.body.get("error")
            if isinstance(error, dict):
                data = error.get("data") or {}
                name = str(data.get("name", "odoo"))
                outcome.status = ODOO_ERROR_STATUS.get(name, 500)
                outcome.error = f"{name}: {data.get('message', error.get('message', ''))}"
            else:
                outcome.body = outcome.body.get("result")
        elif outcome.status == 200:
            outcome.status, outcome.error = 502, "invalid JSON-RPC answer"
        return outcome

    def _woo_auth(self) -> httpx.Auth:
        # The shop is served over plain http: WooCommerce accepts only OAuth 1.0a there.
        woo = self.world.config.woo
        return SignedQuery(woo.consumer_key, woo.consumer_secret)


def _ms(began: float) -> float:
    return (time.perf_counter() - began) * 1000.0


def _error_text(body: Any, text: str) -> str:
    if isinstance(body, dict):
        if "code" in body and "message" in body:
            return f"{body['code']}: {body['message']}"
        if "message" in body:
            return str(body["message"])
        if "error_message" in body:
            return f"{body.get('error_code')}: {body['error_message']}"
    return text.strip()[:300] or "no body"
