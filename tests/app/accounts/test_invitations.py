"""Pending invitations: listed, withdrawn (dashboard and API), and their links refused after."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from app.accounts.tables import invitations
from app.runtime import Runtime
from tests.app.accounts.conftest import PASSWORD, Mailbox, invite, person
from tests.app.dashboard.conftest import WORKSPACE, admin_api, submit

API = f"/api/v1/workspaces/{WORKSPACE}"


def _workspace(client: TestClient) -> TestClient:
    api = admin_api(client)
    assert api.put(API, json={"name": "ACME Store"}).status_code in (200, 201)
    return api


def _actions(api: TestClient) -> list[tuple[str, str]]:
    return [(e["action"], e["target"]) for e in api.get(f"{API}/audit").json()]


def test_pending_invitations_are_listed_and_withdrawn_by_api(quiet_client: TestClient) -> None:
    api = _workspace(quiet_client)
    link = invite(quiet_client, "ann@shop.example", "viewer")
    invite(quiet_client, "bob@shop.example", "operator")
    pending = api.get(f"{API}/invitations")
    assert pending.status_code == 200
    listed = {i["email"]: i for i in pending.json()}
    assert set(listed) == {"ann@shop.example", "bob@shop.example"}
    ann = listed["ann@shop.example"]
    assert ann["role"] == "viewer"
    assert ann["invited_by"] == "admin"
    # The id names the invitation; nothing in the listing opens it.
    assert ann["id"] not in link
    assert all(link.rsplit("/", 1)[1] not in str(i) for i in pending.json())

    assert api.delete(f"{API}/invitations/{ann['id']}").status_code == 204
    assert api.delete(f"{API}/invitations/{ann['id']}").status_code == 404
    assert api.delete(f"{API}/invitations/not-an-id").status_code == 404
    assert [i["email"] for i in api.get(f"{API}/invitations").json()] == ["bob@shop.example"]
    # The withdrawn link is refused, shown and posted alike.
    assert quiet_client.get(link).status_code == 404
    answer = quiet_client.post(link, data={"password": PASSWORD, "csrf": "x"})
    assert answer.status_code in (303, 404)
    assert ("invitation_withdrawn", "ann@shop.example") in _actions(api)


def test_only_the_admin_token_manages_invitations_by_api(quiet_client: TestClient) -> None:
    api = _workspace(quiet_client)
    token = api.post(f"{API}/tokens", json={"role": "owner"}).json()["token"]
    other = TestClient(quiet_client.app, headers={"Authorization": f"Bearer {token}"})
    assert other.get(f"{API}/invitations").status_code == 403
    assert api.get("/api/v1/workspaces/nope/invitations").status_code == 404


def test_an_owner_withdraws_an_invitation_on_the_people_page(quiet_client: TestClient) -> None:
    api = _workspace(quiet_client)
    owner = person(quiet_client.app, "own@shop.example", "owner")
    link = invite(quiet_client, "late@shop.example", "operator")
    page = owner.get(f"/w/{WORKSPACE}/people")
    assert 'data-invitation="late@shop.example"' in page.text
    invitation_id = api.get(f"{API}/invitations").json()[0]["id"]
    action = f"/w/{WORKSPACE}/people/invitations/{invitation_id}/withdraw"
    assert action in page.text

    forged = owner.post(action, data={"csrf": "not this session's"})
    assert forged.status_code == 403
    done = submit(owner, page, action)
    assert done.status_code == 303
    after = owner.get(f"/w/{WORKSPACE}/people")
    assert 'data-invitation="late@shop.example"' not in after.text
    assert "No invitation is waiting" in after.text
    again = submit(owner, page, action)
    assert again.status_code == 422
    assert "pending invitation" in again.text
    assert quiet_client.get(link).status_code == 404
    assert ("invitation_withdrawn", "late@shop.example") in _actions(api)

    operator = person(quiet_client.app, "ops@agency.example", "operator")
    assert submit(operator, page, action).status_code == 403


def test_expired_invitations_are_not_pending(quiet_client: TestClient) -> None:
    api = _workspace(quiet_client)
    invite(quiet_client, "old@shop.example", "viewer")
    runtime: Runtime = quiet_client.app.state.runtime  # type: ignore[attr-defined]
    with runtime.engine.begin() as connection:
        connection.execute(
            update(invitations).values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )
    assert api.get(f"{API}/invitations").json() == []
    ident = "0" * 16
    assert api.delete(f"{API}/invitations/{ident}").status_code == 404


@pytest.mark.parametrize("form", ["/signin/reset", "/signin/reset/{token}", "{invitation}"])
def test_a_visitor_form_not_posted_from_this_browser_goes_back_to_its_page(
    quiet_client: TestClient, mailbox: tuple[Mailbox, str], form: str
) -> None:
    _workspace(quiet_client)
    invitation = invite(quiet_client, "dan@example.com", "viewer")
    mailbox[0].messages.clear()
    path = form.format(token="a-guessed-token", invitation=invitation)
    fields = {"email": "dan@example.com", "password": PASSWORD, "csrf": "not this browser's"}
    answer = quiet_client.post(path, data=fields)
    assert answer.status_code == 303
    assert answer.headers["location"] == path
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert mailbox[0].messages == []  # no reset mail went out
    assert quiet_client.get(invitation).status_code == 200  # the invitation is still open
