"""Fixtures of the accounts tests: a quiet service with one incident, people in it, and a mail
catcher on loopback (the account mail URL is a JSON hook there: nothing leaves the machine)."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from app.settings import Settings
from tests.app.accounts.oidc_provider import fake_provider, provider  # noqa: F401 - fixtures
from tests.app.dashboard.conftest import (
    WORKSPACE,
    admin_api,
    database_url,  # noqa: F401 - SQLite, as the dashboard
    submit,
)
from tests.app.dashboard.incident_fixtures import Opened, opened  # noqa: F401 - fixtures

PASSWORD = "correct horse battery"


class Mailbox:
    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []

    def link(self, path: str) -> str:
        """The last link to ``path`` mailed (its path and query only)."""
        for message in reversed(self.messages):
            found = re.search(
                r"https?://[^/\s]+(" + re.escape(path) + r"[^\s]*)", message["message"]
            )
            if found:
                return found.group(1)
        raise AssertionError(f"no mail with a link to {path}: {self.messages}")


@pytest.fixture
def mailbox() -> Iterator[tuple[Mailbox, str]]:
    box = Mailbox()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("content-length", "0"))
            box.messages.append(json.loads(self.rfile.read(length)))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield box, f"json://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def quiet_client(
    settings_factory: Callable[..., Settings], mailbox: tuple[Mailbox, str]
) -> Iterator[TestClient]:
    """As the dashboard's quiet client, with account mail going to the loopback mailbox."""
    settings = settings_factory(
        demo=False,
        incident_interval_seconds=0,
        public_url="https://arbiter.example",
        account_mail_url=mailbox[1],
    )
    with TestClient(create_app(settings), follow_redirects=False) as client:
        yield client


def invite(client: TestClient, email: str, role: str, ws: str = WORKSPACE) -> str:
    """Invite through the API (admin token); the link's path."""
    answer = admin_api(client).post(
        f"/api/v1/workspaces/{ws}/invitations", json={"email": email, "role": role}
    )
    assert answer.status_code == 201, answer.text
    link: str = answer.json()["link"]
    return link[link.index("/signin/") :]


def accept(client: TestClient, path: str, password: str = PASSWORD) -> Any:
    form = client.get(path)
    assert form.status_code == 200, form.text
    return submit(client, form, path, password=password)


def person(app: Any, email: str, role: str, ws: str = WORKSPACE) -> TestClient:
    """A browser-like client of ``app`` signed in as a new person with ``role`` in ``ws``."""
    client = TestClient(app, follow_redirects=False)
    answer = accept(client, invite(client, email, role, ws))
    assert answer.status_code == 303, answer.text
    return client


def sign_in(client: TestClient, email: str, password: str = PASSWORD) -> Any:
    form = client.get("/signin")
    return submit(client, form, "/signin/account", email=email, password=password)
