"""Sends alerts off the diagnosis path: a small thread pool, bounded retries, a delivery log.

The evaluator hands alerts over and returns at once; each (alert, channel) pair is one job
that tries up to ``notification_attempts`` times with exponential waits (tenacity), each
attempt bounded by ``notification_timeout_seconds``, and records its outcome (channel, time,
ok or the error) in ``notification_deliveries``. Nothing here raises into the caller.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Engine
from tenacity import (
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential,
)

from app.connections.crypto import SecretBox
from app.incidents.lifecycle import Alert
from app.notifications import sender
from app.notifications.messages import alert_message, workspace_language
from app.notifications.models import DeliveryResult
from app.notifications.service import StoredChannel, channels_for, record_delivery
from app.settings import Settings

log = logging.getLogger("arbiter.notifications")


@dataclass(frozen=True)
class Message:
    """One message to send: the incident and event it tells of (None and "test" for a test
    message), its words and its apprise notify type."""

    incident_id: int | None
    event: str
    title: str
    body: str
    kind: sender.NotifyKind


class Dispatcher:
    def __init__(
        self, engine: Engine, settings: Settings, box: SecretBox, *, workers: int = 4
    ) -> None:
        self._engine = engine
        self._settings = settings
        self.box = box
        """The runtime's own (``runtime.secrets``): the channels' secrets are sealed with it."""
        self._workers = workers
        self._executor: ThreadPoolExecutor | None = None
        self._pending: set[Future[DeliveryResult]] = set()
        self._lock = threading.Lock()

    def submit(self, workspace_id: str, alerts: Sequence[Alert]) -> int:
        """Queue every alert to every channel subscribed to its event; returns the jobs queued."""
        queued = 0
        for alert in alerts:
            try:
                with self._engine.connect() as connection:
                    channels = channels_for(connection, workspace_id, alert.event, self.box)
                    language = workspace_language(connection, workspace_id)
                title, body, kind = alert_message(alert, workspace_id, self._settings, language)
            except Exception:
                log.exception(
                    "could not prepare the %s alert of workspace %s", alert.event, workspace_id
                )
                continue
            message = Message(alert.incident.id, alert.event, title, body, kind)
            for channel in channels:
                self._queue(channel, message)
                queued += 1
        return queued

    def _queue(self, channel: StoredChannel, message: Message) -> Future[DeliveryResult]:
        with self._lock:
            if self._executor is None:
                self._executor = ThreadPoolExecutor(
                    self._workers, thread_name_prefix="arbiter-notify"
                )
            future = self._executor.submit(self.deliver, channel, message)
            self._pending.add(future)
        future.add_done_callback(self._done)
        return future

    def _done(self, future: Future[DeliveryResult]) -> None:
        with self._lock:
            self._pending.discard(future)

    def deliver(
        self, channel: StoredChannel, message: Message, attempts: int | None = None
    ) -> DeliveryResult:
        """Send with bounded retries and record the outcome; never raises."""
        settings = self._settings
        tries = 0
        error: str | None = None
        retrying = Retrying(
            stop=stop_after_attempt(attempts or settings.notifications.attempts),
            wait=wait_exponential(multiplier=settings.notifications.retry_wait_seconds, max=60),
            retry=retry_if_exception_type(sender.DeliveryFailed),
            reraise=True,
        )
        try:
            for attempt in retrying:
                with attempt:
                    tries += 1
                    sender.send(
                        channel.url,
                        title=message.title,
                        body=message.body,
                        kind=message.kind,
                        timeout=settings.notifications.timeout_seconds,
                    )
        except sender.NotificationError as exc:
            error = str(exc)
        except Exception as exc:  # a notification must never take the service down
            error = f"{type(exc).__name__}: unexpected error"
            log.exception("notification to channel %s failed unexpectedly", channel.id)
        result = DeliveryResult(
            channel_id=channel.id,
            event=message.event,
            time=datetime.now(UTC),
            ok=error is None,
            attempts=tries,
            error=error,
        )
        if error is not None:
            log.warning(
                "%s notification to channel %s (%s) failed after %d attempt(s): %s",
                message.event,
                channel.id,
                channel.name,
                tries,
                error,
            )
        try:
            with self._engine.begin() as connection:
                record_delivery(connection, channel, message.incident_id, result)
        except Exception:
            log.exception("could not record a delivery to channel %s", channel.id)
        return result

    def drain(self, timeout: float | None = None) -> bool:
        """Wait until every queued delivery is done; False when ``timeout`` ran out first."""
        with self._lock:
            pending = set(self._pending)
        if not pending:
            return True
        _done, not_done = wait(pending, timeout=timeout)
        return not not_done

    def close(self, *, wait_seconds: float = 5.0) -> None:
        """Finish what is queued (up to ``wait_seconds``), then stop the workers."""
        self.drain(wait_seconds)
        with self._lock:
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=False, cancel_futures=True)
