"""People: invitations, e-mail sign-in, lock-out, password reset, sessions, roles, the overview."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select, update

from app.accounts.tables import accounts, invitations
from app.runtime import Runtime
from tests.app.accounts.conftest import PASSWORD, Mailbox, accept, invite, person, sign_in
from tests.app.dashboard.conftest import WORKSPACE, admin_api, submit
from tests.app.dashboard.incident_fixtures import Opened


def _runtime(client: TestClient) -> Runtime:
    runtime: Runtime = client.app.state.runtime  # type: ignore[attr-defined]
    return runtime


def test_an_invited_colleague_chooses_a_password_and_signs_in_with_it(opened: Opened) -> None:
    client = opened.client
    path = invite(client, "Ann@Example.com", "viewer")
    page = client.get(path)
    assert "ann@example.com" in page.text
    assert "viewer" in page.text
    short = submit(client, page, path, password="short")
    assert short.status_code == 422
    assert "at least 10 characters" in short.text
    joined = accept(client, path)
    assert joined.status_code == 303
    assert joined.headers["location"] == f"/w/{WORKSPACE}"
    assert client.get(f"/w/{WORKSPACE}").status_code == 200
    # The link works once.
    assert client.get(path).status_code == 404
    # The password is stored as an argon2 hash, never as given.
    with _runtime(client).engine.connect() as connection:
        stored = connection.execute(select(accounts.c.password_hash)).scalar_one()
    assert stored.startswith("$argon2id$")
    assert PASSWORD not in stored

    fresh = TestClient(client.app, follow_redirects=False)
    assert sign_in(fresh, "ann@example.com", "wrong password!").status_code == 401
    signed = sign_in(fresh, " ANN@example.com ")
    assert signed.status_code == 303
    assert fresh.get(f"/w/{WORKSPACE}").status_code == 200


def test_an_expired_invitation_is_refused(opened: Opened) -> None:
    client = opened.client
    path = invite(client, "late@example.com", "operator")
    with _runtime(client).engine.begin() as connection:
        connection.execute(
            update(invitations).values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )
    assert client.get(path).status_code == 404
    answer = client.post(path, data={"password": PASSWORD, "csrf": "x"})
    assert answer.status_code in (303, 404)
    assert (
        sign_in(TestClient(client.app, follow_redirects=False), "late@example.com").status_code
        == 401
    )


def test_an_invitation_to_an_existing_account_needs_its_password(opened: Opened) -> None:
    client = opened.client
    admin_api(client).put("/api/v1/workspaces/second", json={"name": "Second Shop"})
    person(client.app, "agency@example.com", "operator")
    path = invite(client, "agency@example.com", "viewer", "second")
    stranger = TestClient(client.app, follow_redirects=False)
    refused = accept(stranger, path, "someone else's guess")
    assert refused.status_code == 422
    with _runtime(client).engine.connect() as connection:
        failures = connection.execute(
            select(accounts.c.failed_signins).where(accounts.c.email == "agency@example.com")
        ).scalar_one()
    assert failures == 1  # a guess through the link counts towards the lock-out
    assert accept(stranger, path).status_code == 303


def test_repeated_failures_lock_the_account_even_against_the_right_password(
    opened: Opened,
) -> None:
    client = opened.client
    person(client.app, "bob@example.com", "operator")
    browser = TestClient(client.app, follow_redirects=False)
    for _ in range(4):
        assert sign_in(browser, "bob@example.com", "not the password").status_code == 401
    locked = sign_in(browser, "bob@example.com", "not the password")
    assert locked.status_code == 423
    assert sign_in(browser, "bob@example.com").status_code == 423
    with _runtime(client).engine.begin() as connection:
        connection.execute(
            update(accounts).values(locked_until=datetime.now(UTC) - timedelta(seconds=1))
        )
    assert sign_in(browser, "bob@example.com").status_code == 303


def test_account_sign_ins_share_the_address_throttle(opened: Opened) -> None:
    client = opened.client
    browser = TestClient(client.app, follow_redirects=False)
    limit = _runtime(client).settings.auth_failures_per_minute
    for _ in range(limit):
        assert sign_in(browser, f"nobody{_}@example.com", "whatever else").status_code == 401
    throttled = sign_in(browser, "nobody@example.com", "whatever else")
    assert throttled.status_code == 429
    assert int(throttled.headers["retry-after"]) > 0


def test_password_reset_by_mailed_link_ends_the_old_sessions(
    opened: Opened, mailbox: tuple[Mailbox, str]
) -> None:
    client = opened.client
    box = mailbox[0]
    old = person(client.app, "cat@example.com", "operator")
    assert old.get(f"/w/{WORKSPACE}").status_code == 200
    box.messages.clear()

    browser = TestClient(client.app, follow_redirects=False)
    form = browser.get("/signin/reset")
    unknown = submit(browser, form, "/signin/reset", email="nobody@example.com")
    form = browser.get("/signin/reset")
    known = submit(browser, form, "/signin/reset", email="cat@example.com")
    assert unknown.status_code == known.status_code == 200
    assert "If this address has an account" in unknown.text
    assert len(box.messages) == 1  # only the real account got mail
    link = box.link("/signin/reset/")
    assert "https://arbiter.example/signin/reset/" in box.messages[0]["message"]

    page = browser.get(link)
    changed = submit(browser, page, link, password="a new long password")
    assert changed.status_code == 303
    assert old.get(f"/w/{WORKSPACE}").status_code == 303  # the old session ended
    assert sign_in(browser, "cat@example.com").status_code == 401
    assert sign_in(browser, "cat@example.com", "a new long password").status_code == 303
    page = browser.get(link)
    again = submit(browser, page, link, password="another password!")
    assert again.status_code == 404  # a reset link works once


def test_sessions_are_listed_and_revocable(opened: Opened) -> None:
    client = opened.client
    first = person(client.app, "dan@example.com", "viewer")
    second = TestClient(client.app, follow_redirects=False, headers={"user-agent": "laptop"})
    assert sign_in(second, "dan@example.com").status_code == 303
    listing = first.get("/account")
    assert listing.status_code == 200
    assert listing.text.count("data-session=") == 2
    assert "laptop" in listing.text
    rows = re.findall(r'<tr data-session="([^"]+)">(.*?)</tr>', listing.text, re.S)
    other = next(session_id for session_id, row in rows if "laptop" in row)
    revoked = submit(first, listing, f"/account/sessions/{other}/revoke")
    assert revoked.status_code == 303
    assert second.get(f"/w/{WORKSPACE}").status_code == 303
    assert first.get(f"/w/{WORKSPACE}").status_code == 200
    # A forged form (no CSRF) revokes nothing.
    assert first.post(f"/account/sessions/{other}/revoke", data={}).status_code == 403


def test_a_viewer_reads_but_cannot_acknowledge_or_write_notes(opened: Opened) -> None:
    viewer = person(opened.client.app, "eve@example.com", "viewer")
    page = viewer.get(opened.page)
    assert page.status_code == 200
    assert "/acknowledge" not in page.text
    assert 'data-viewer="true"' in page.text
    assert "/notes" not in page.text
    refused = submit(viewer, page, f"{opened.page}/acknowledge")
    assert refused.status_code == 403
    note = submit(viewer, page, f"{opened.page}/notes", text="hi")
    assert note.status_code == 403
    assert opened.api_incident()["acknowledged_at"] is None
    assert viewer.get(f"/w/{WORKSPACE}/people").status_code == 403
    assert viewer.get(f"/w/{WORKSPACE}/audit").status_code == 403
    # Every other form of the workspace refuses a viewer too (status page, maintenance).
    for form in ("status-page/updates", "maintenance"):
        answer = submit(viewer, page, f"/w/{WORKSPACE}/{form}")
        assert answer.status_code == 403
        assert "viewer" in answer.text


def test_an_operator_acknowledges_and_the_timeline_names_them(opened: Opened) -> None:
    operator = person(opened.client.app, "ops@agency.example", "operator")
    page = operator.get(opened.page)
    assert "/acknowledge" in page.text
    assert 'id="ack-by"' not in page.text
    done = submit(operator, page, f"{opened.page}/acknowledge", by="Someone Else")
    assert done.status_code == 303
    incident = opened.api_incident()
    assert incident["acknowledged_by"] == "ops@agency.example"
    assert any("Acknowledged by ops@agency.example" in t["message"] for t in incident["timeline"])
    assert operator.get(f"/w/{WORKSPACE}/people").status_code == 403


def test_an_owner_invites_changes_roles_and_cannot_remove_the_last_owner(opened: Opened) -> None:
    owner = person(opened.client.app, "own@shop.example", "owner")
    page = owner.get(f"/w/{WORKSPACE}/people")
    assert page.status_code == 200
    invited = submit(
        owner, page, f"/w/{WORKSPACE}/people/invite", email="new@shop.example", role="operator"
    )
    assert invited.status_code == 200
    assert "https://arbiter.example/signin/invitation/" in invited.text
    bad = submit(
        owner, page, f"/w/{WORKSPACE}/people/invite", email="not an address", role="operator"
    )
    assert bad.status_code == 422
    assert "email" in bad.text
    members = admin_api(opened.client).get(f"/api/v1/workspaces/{WORKSPACE}/members").json()
    own = next(m for m in members if m["email"] == "own@shop.example")
    last = submit(owner, page, f"/w/{WORKSPACE}/people/{own['account']}", role="viewer")
    assert last.status_code == 422
    assert "last owner" in last.text


def test_an_agency_sees_its_shops_ranked_by_what_is_wrong_now(opened: Opened) -> None:
    client = opened.client
    api = admin_api(client)
    api.put("/api/v1/workspaces/calm", json={"name": "Calm Shop"})
    api.put("/api/v1/workspaces/hidden", json={"name": "Not Theirs"})
    agency = person(client.app, "agency@example.com", "operator", "calm")
    accept(agency, invite(client, "agency@example.com", "viewer", WORKSPACE), PASSWORD)
    listing = agency.get("/workspaces")
    assert listing.status_code == 200
    text = listing.text
    assert "Not Theirs" not in text
    assert text.index('data-workspace="acme"') < text.index('data-workspace="calm"')
    assert 'data-workspace="acme" data-open="1"' in text
    assert agency.get("/w/hidden").status_code == 403
    assert agency.get(f"/w/{WORKSPACE}").status_code == 200


def test_a_bad_invitation_body_names_the_field(opened: Opened) -> None:
    api = admin_api(opened.client)
    answer = api.post(f"/api/v1/workspaces/{WORKSPACE}/invitations", json={"email": "nope"})
    assert answer.status_code == 422
    assert "email" in answer.text
    role = api.post(
        f"/api/v1/workspaces/{WORKSPACE}/invitations", json={"email": "a@b.example", "role": "god"}
    )
    assert role.status_code == 422
    missing = api.post("/api/v1/workspaces/nope/invitations", json={"email": "a@b.example"})
    assert missing.status_code == 404
