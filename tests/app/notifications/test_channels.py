"""Channels through apprise to a local HTTP receiver: CRUD, masking, alerts, retries, the log;
and the egress policy they go through (no probing of the network through them)."""

from __future__ import annotations

import logging
import time
from typing import Any

import pytest
import requests
from sqlalchemy import select

from app import egress
from app.notifications.tables import notification_channels
from tests.app.incidents.fixtures import (
    Arbiter,
    Receiver,
    alert_receiver,
    arbiter,
    arbiter_settings,
    with_settings,
)
from tests.app.incidents.test_lifecycle import erp_outage

__all__ = [
    "alert_receiver",
    "arbiter",
    "arbiter_settings",
]  # fixtures (tests.app.incidents.fixtures)


def add_channel(arbiter: Arbiter, url: str, **extra: Any) -> dict[str, Any]:
    response = arbiter.client.post(
        f"{arbiter.base}/channels", json={"name": extra.pop("name", "ops"), "url": url, **extra}
    )
    assert response.status_code == 201, response.text
    channel: dict[str, Any] = response.json()
    return channel


def test_channel_crud_keeps_the_url_secret(arbiter: Arbiter, alert_receiver: Receiver) -> None:
    secret_url = alert_receiver.apprise_url("hooks/S3CR3T-T0KEN").replace(
        "json://", "json://bot:pa55w0rd@"
    )
    channel = add_channel(arbiter, secret_url, events=["open", "resolve", "open"])
    assert channel["events"] == ["open", "resolve"]
    for shown in (
        channel,
        arbiter.client.get(f"{arbiter.base}/channels/{channel['id']}").json(),
        arbiter.client.get(f"{arbiter.base}/channels").json()[0],
    ):
        assert shown["url"].startswith("json://bot:")
        assert "pa55w0rd" not in shown["url"]
        assert "S3CR3T" not in shown["url"]
    with arbiter.runtime.engine.connect() as connection:
        stored = connection.execute(select(notification_channels.c.url)).scalar_one()
    assert "pa55w0rd" not in stored  # sealed at rest

    url = f"{arbiter.base}/channels/{channel['id']}"
    assert arbiter.client.delete(url).status_code == 204
    assert arbiter.client.get(url).status_code == 404
    assert arbiter.client.delete(url).status_code == 404
    assert arbiter.client.post(f"{url}/test").status_code == 404


@pytest.mark.parametrize(
    "body",
    [
        {"name": "x", "url": "this is not a url"},
        {"name": "x", "url": "nosuchservice://host/path"},
        {"name": "", "url": "json://localhost/x"},
        {"name": "x", "url": "json://localhost/x", "events": ["explode"]},
        {"name": "x", "url": "json://localhost/x", "events": []},
    ],
)
def test_bad_channels_are_rejected(arbiter: Arbiter, body: dict[str, Any]) -> None:
    response = arbiter.client.post(f"{arbiter.base}/channels", json=body)
    assert response.status_code == 422, response.text
    assert body["url"] not in response.text or body["url"] == "json://localhost/x"


def test_a_test_message_is_sent_and_logged(arbiter: Arbiter, alert_receiver: Receiver) -> None:
    channel = add_channel(arbiter, alert_receiver.apprise_url())
    response = arbiter.client.post(f"{arbiter.base}/channels/{channel['id']}/test")
    assert response.status_code == 200, response.text
    assert response.json()["ok"] is True
    [message] = alert_receiver.messages
    assert "Test message" in message["title"]
    assert message["path"] == "/hook"

    alert_receiver.always_fail = True
    failed = arbiter.client.post(f"{arbiter.base}/channels/{channel['id']}/test").json()
    assert failed["ok"] is False
    assert failed["attempts"] == 1
    assert failed["error"]


def test_alerts_on_open_escalate_and_resolve(arbiter: Arbiter, alert_receiver: Receiver) -> None:
    add_channel(arbiter, alert_receiver.apprise_url("all"), name="everything")
    add_channel(
        arbiter, alert_receiver.apprise_url("pager"), name="pager", events=["open", "resolve"]
    )
    arbiter.world.busy(150, start=0, every=60)
    erp_outage(arbiter.world, start=1800, orders=40)
    for moment in (3300, 3400, 4300, 4400, 5000, 6000, 7000):
        arbiter.evaluate(moment)
    arbiter.drain()

    sent = sorted((m["path"], m["title"].split(":")[0]) for m in alert_receiver.messages)
    [incident] = arbiter.incidents()
    n = incident["id"]
    assert sent == sorted(
        [
            ("/all", f"[Arbiter acme] Incident #{n} opened"),
            (
                "/all",
                f"[Arbiter acme] Incident #{n} escalated to {incident['peak_affected']} affected",
            ),
            ("/all", f"[Arbiter acme] Incident #{n} resolved"),
            ("/pager", f"[Arbiter acme] Incident #{n} opened"),
            ("/pager", f"[Arbiter acme] Incident #{n} resolved"),
        ]
    )
    opened = next(m for m in alert_receiver.messages if "opened" in m["title"])
    assert "order oms → erp" in opened["title"]
    assert "unavailable" in opened["title"]
    assert "ERP partner" in opened["title"]
    assert "Responsible: ERP partner" in opened["message"]
    assert f"https://arbiter.example/w/acme/incidents/{n}" in opened["message"]
    assert opened["type"] == "failure"

    log = arbiter.incident(n)["deliveries"]
    assert len(log) == 5
    assert all(d["ok"] and d["attempts"] == 1 for d in log)
    assert {d["channel_name"] for d in log} == {"everything", "pager"}


@with_settings(notification_attempts=3, notification_retry_wait_seconds=0.4)
def test_a_failing_channel_is_retried_and_logged_without_blocking_diagnosis(
    arbiter: Arbiter, alert_receiver: Receiver, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    add_channel(arbiter, alert_receiver.apprise_url("good"), name="good")
    broken = add_channel(arbiter, "json://bot:hunter2@127.0.0.1:9/down", name="broken")
    arbiter.world.busy(60, start=0, every=60)
    erp_outage(arbiter.world, start=1800, orders=10)
    arbiter.post()

    started = time.perf_counter()
    result = arbiter.evaluate(3300)
    assert time.perf_counter() - started < 0.6  # the broken channel's retries take longer
    assert result.notifications_queued == 2
    assert len(result.opened) == 1
    assert arbiter.evaluate(3400).ok  # diagnosis goes on while the retries run

    arbiter.drain()
    log = {d["channel_name"]: d for d in arbiter.incident(result.opened[0])["deliveries"]}
    assert log["good"]["ok"] is True
    assert (log["broken"]["ok"], log["broken"]["attempts"]) == (False, 3)
    assert log["broken"]["channel_id"] == broken["id"]
    assert log["broken"]["error"]
    assert "hunter2" not in log["broken"]["error"]
    assert "hunter2" not in caplog.text


def test_a_flaky_channel_succeeds_on_retry(arbiter: Arbiter, alert_receiver: Receiver) -> None:
    alert_receiver.fail_first = 1
    add_channel(arbiter, alert_receiver.apprise_url())
    arbiter.world.busy(60, start=0, every=60)
    erp_outage(arbiter.world, start=1800, orders=10)
    [incident_id] = arbiter.evaluate(3300).opened
    arbiter.drain()
    [delivery] = arbiter.incident(incident_id)["deliveries"]
    assert (delivery["ok"], delivery["attempts"]) == (True, 2)
    assert len(alert_receiver.messages) == 1


def test_a_malformed_channel_url_never_reaches_the_logs() -> None:
    from app.notifications.sender import BadChannelUrl, check

    class Keep(logging.Handler):
        def __init__(self) -> None:
            super().__init__(logging.DEBUG)
            self.lines: list[str] = []

        def emit(self, record: logging.LogRecord) -> None:
            self.lines.append(record.getMessage())

    kept = Keep()
    root = logging.getLogger()
    level = root.level
    root.addHandler(kept)
    root.setLevel(logging.DEBUG)
    try:
        with pytest.raises(BadChannelUrl):
            check("s3cr3t://unknown-scheme-s3cr3t-t0ken")
    finally:
        root.removeHandler(kept)
        root.setLevel(level)
    assert not any("s3cr3t" in line for line in kept.lines), kept.lines


# --- the egress policy ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "json://169.254.169.254/latest/meta-data",
        "form://169.254.169.254:80/x",
        "gotify://169.254.169.254/token",
        "json://[fe80::1]/x",
    ],
)
def test_link_local_channels_are_refused(arbiter: Arbiter, url: str) -> None:
    response = arbiter.client.post(f"{arbiter.base}/channels", json={"name": "x", "url": url})
    assert response.status_code == 422, response.text
    assert "egress" in response.text


@with_settings(egress="public")
def test_public_policy_refuses_loopback_channels(
    arbiter: Arbiter, alert_receiver: Receiver
) -> None:
    response = arbiter.client.post(
        f"{arbiter.base}/channels", json={"name": "x", "url": alert_receiver.apprise_url()}
    )
    assert response.status_code == 422, response.text
    assert alert_receiver.requests == 0


def test_a_stored_channel_is_checked_when_it_sends(
    arbiter: Arbiter, alert_receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    created = arbiter.client.post(
        f"{arbiter.base}/channels", json={"name": "x", "url": alert_receiver.apprise_url()}
    )
    assert created.status_code == 201, created.text
    # The policy turns public after the channel was stored (or its name now resolves to a
    # loopback address): the test route sends nothing and says why.
    monkeypatch.setattr(egress, "_mode", "public")
    tested: dict[str, Any] = arbiter.client.post(
        f"{arbiter.base}/channels/{created.json()['id']}/test"
    ).json()
    assert tested["ok"] is False
    assert "egress" in tested["error"]
    assert alert_receiver.requests == 0


def test_urllib3_connections_obey_the_policy(
    alert_receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    # What apprise's HTTP plugins and the OTLP exporter use, whatever host name they resolve.
    egress.configure("private")
    assert requests.post(alert_receiver.url + "/hook", json={}, timeout=5).status_code == 200
    monkeypatch.setattr(egress, "_mode", "public")
    with pytest.raises(requests.ConnectionError):
        requests.post(
            alert_receiver.url.replace("127.0.0.1", "localhost") + "/hook", json={}, timeout=5
        )
    assert alert_receiver.requests == 1
