"""Alert channels go through the egress policy: no probing of the network through them."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from app import egress
from tests.app.incidents import fixtures
from tests.app.incidents.fixtures import (
    Arbiter,
    Receiver,
    alert_receiver,
    arbiter,
    arbiter_settings,
)

__all__ = [
    "alert_receiver",
    "arbiter",
    "arbiter_settings",
]  # fixtures (tests.app.incidents.fixtures)

PUBLIC = {**fixtures.QUIET, "egress": "public"}


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


@pytest.mark.parametrize("arbiter_settings", [PUBLIC], indirect=True)
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
