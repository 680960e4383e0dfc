"""The incident page's timeline in the reader's language: each entry is said from the message
and parameters it was stored with, while the API keeps the English sentence; an entry stored
before texts were kept (no ``text``) stays in its English."""

from __future__ import annotations

from sqlalchemy import insert

from app.i18n.negotiation import COOKIE
from app.incidents.tables import incident_updates
from tests.app.dashboard.conftest import csrf_of, sign_in
from tests.app.dashboard.incident_fixtures import Opened, opened, quiet_client

__all__ = ["opened", "quiet_client"]  # fixtures


def _timeline(page: str) -> str:
    return page.split('id="timeline-title"')[1].split("</section>")[0]


def test_the_timeline_in_polish_and_the_api_in_english(opened: Opened) -> None:
    client = opened.client
    sign_in(client)
    csrf = csrf_of(client.get(opened.page).text)
    assert (
        client.post(f"{opened.page}/acknowledge", data={"csrf": csrf, "by": "Ola"}).status_code
        == 303
    )
    with opened.runtime.engine.begin() as connection:
        connection.execute(
            insert(incident_updates).values(
                incident_id=opened.incident,
                time=opened.as_of,
                kind="note_from_before",
                phase="investigating",
                message="Written before texts were kept.",
            )
        )

    client.cookies.set(COOKIE, "pl")
    polish = _timeline(client.get(opened.page).text)
    assert "Potwierdził(a): Ola." in polish
    assert "Otwarty: " in polish
    assert "Odpowiada: " in polish
    assert "zamówie" in polish  # the summary nested in the opening entry, in Polish too
    assert "Opened: " not in polish
    assert "Acknowledged by Ola." not in polish
    assert "Written before texts were kept." in polish

    client.cookies.set(COOKIE, "en")
    english = _timeline(client.get(opened.page).text)
    assert "Acknowledged by Ola." in english
    assert "Opened: " in english

    timeline = opened.api_incident()["timeline"]
    messages = {entry["kind"]: entry["message"] for entry in timeline}
    assert messages["acknowledged"] == "Acknowledged by Ola."
    assert messages["opened"].startswith("Opened: ")
    assert all("text" not in entry for entry in timeline)


def test_the_incidents_place_names_its_flow_in_the_pages_language(opened: Opened) -> None:
    client = opened.client
    sign_in(client)
    where = opened.api_incident()["link"]
    english_place = f"{where['flow']} {where['from']} → {where['to']}"
    polish_place = f"zamówienia {where['from']} → {where['to']}"
    assert where["flow"] == "order"
    pages = (opened.page, opened.page.rsplit("/", 1)[0])  # the incident, the list
    client.cookies.set(COOKIE, "pl")
    for page in pages:
        text = client.get(page).text
        assert polish_place in text
        assert english_place not in text
    client.cookies.set(COOKIE, "en")
    for page in pages:
        assert english_place in client.get(page).text
