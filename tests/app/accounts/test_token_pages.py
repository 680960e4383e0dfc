"""The API tokens page: a person lists, makes (shown once) and revokes their workspace's tokens,
within their role; viewers and token sessions make none."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from tests.app.accounts.conftest import person
from tests.app.dashboard.conftest import WORKSPACE, admin_api, sign_in, submit, workspace_token

PAGE = f"/w/{WORKSPACE}/tokens"
API = f"/api/v1/workspaces/{WORKSPACE}"


def _workspace(client: TestClient) -> TestClient:
    api = admin_api(client)
    assert api.put(API, json={"name": "ACME Store"}).status_code in (200, 201)
    return api


def _make(client: TestClient, **form: str) -> tuple[int, str]:
    page = client.get(PAGE)
    answer = submit(client, page, PAGE, **form)
    return answer.status_code, answer.text


def test_an_operator_makes_a_token_of_their_own_and_it_works_once_shown(
    quiet_client: TestClient,
) -> None:
    api = _workspace(quiet_client)
    operator = person(quiet_client.app, "ops@agency.example", "operator")
    page = operator.get(PAGE)
    assert page.status_code == 200
    roles = re.findall(r'<option value="(\w+)"', page.text.split('id="token-role"')[1])
    assert roles[:2] == ["viewer", "operator"]
    assert "owner" not in roles  # only an owner makes owner tokens

    status, text = _make(operator, name="ERP bridge", role="operator", owner="me", expires="30")
    assert status == 200, text
    secret = re.search(r'id="new-token">.*?<code>(arb_[^<]+)</code>', text, re.S)
    assert secret, text
    bearer = TestClient(quiet_client.app, headers={"Authorization": f"Bearer {secret.group(1)}"})
    assert bearer.get(f"{API}/incidents").status_code == 200
    listed = operator.get(PAGE).text
    assert secret.group(1) not in listed  # shown once
    row = listed.split('data-token="')[1]
    assert "ops@agency.example" in row
    assert "operator" in row
    assert "(expired)" not in row
    made = api.get(f"{API}/tokens").json()[0]
    assert made["person"] == "ops@agency.example"
    assert made["expires_at"] is not None
    assert made["last_used_at"] is not None  # the listing shows last use

    refused, why = _make(operator, role="owner", owner="me")
    assert refused == 422
    assert "role: a role no higher than your own" in why
    nameless, why = _make(operator, role="viewer", owner="integration", integration="  ")
    assert nameless == 422
    assert "integration" in why
    trail = api.get(f"{API}/audit", params={"q": "token_created"}).json()
    assert [e["actor"] for e in trail] == ["ops@agency.example"]


def test_only_an_owner_revokes_an_owner_token(quiet_client: TestClient) -> None:
    api = _workspace(quiet_client)
    owner = person(quiet_client.app, "own@shop.example", "owner")
    status, text = _make(owner, name="nightly", role="owner", owner="integration", integration="CI")
    assert status == 200, text
    token_id = api.get(f"{API}/tokens").json()[0]["id"]
    action = f"{PAGE}/{token_id}/revoke"

    operator = person(quiet_client.app, "ops@agency.example", "operator")
    page = operator.get(PAGE)
    assert action not in page.text
    refused = submit(operator, page, action)
    assert refused.status_code == 422
    assert "owner token" in refused.text
    assert len(api.get(f"{API}/tokens").json()) == 1

    page = owner.get(PAGE)
    assert action in page.text
    assert owner.post(action, data={"csrf": "forged"}).status_code == 403
    assert submit(owner, page, action).status_code == 303
    assert api.get(f"{API}/tokens").json() == []
    trail = api.get(f"{API}/audit", params={"q": "token_revoked"}).json()
    assert [(e["actor"], e["target"]) for e in trail] == [("own@shop.example", token_id)]


def test_viewers_and_token_sessions_make_no_tokens(quiet_client: TestClient) -> None:
    api = _workspace(quiet_client)
    viewer = person(quiet_client.app, "eve@shop.example", "viewer")
    page = viewer.get(PAGE)
    assert page.status_code == 200
    assert "Make a token" not in page.text
    refused = submit(viewer, page, PAGE, role="viewer")
    assert refused.status_code == 403

    _id, secret = workspace_token(quiet_client)
    by_token = TestClient(quiet_client.app, follow_redirects=False)
    assert sign_in(by_token, secret).status_code == 303
    page = by_token.get(PAGE)
    assert "Make a token" not in page.text
    status, text = _make(by_token, role="viewer", owner="integration", integration="x")
    assert status == 422
    assert "tokens do not make tokens" in text
    assert len(api.get(f"{API}/tokens").json()) == 1

    assert TestClient(quiet_client.app, follow_redirects=False).get(PAGE).status_code == 303
