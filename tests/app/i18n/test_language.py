"""Which language a page speaks (the person's choice, then Accept-Language, then English),
stated in <html lang>; and Babel's formats of Polish dates, numbers and money."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient

from app.i18n import use_language
from app.i18n.formatting import money, number, percent, when
from app.i18n.negotiation import COOKIE, pick
from app.main import create_app
from app.settings import Settings
from tests.app.dashboard.conftest import admin_api, feed, sign_in

LANG = re.compile(r'<html lang="(\w+)">')


@pytest.fixture
def client(settings_factory: Callable[..., Settings]) -> Iterator[TestClient]:
    with TestClient(create_app(settings_factory(demo=False)), follow_redirects=False) as c:
        yield c


def _lang(client: TestClient, **headers: str) -> str:
    page = client.get("/signin", headers=headers)
    assert page.status_code == 200
    found = LANG.search(page.text)
    assert found, page.text[:200]
    return found.group(1)


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, "en"),
        ("pl-PL,pl;q=0.9,en-US;q=0.8,en;q=0.7", "pl"),
        ("en-GB,en;q=0.9,pl;q=0.8", "en"),
        ("de-DE,de;q=0.9,pl;q=0.5", "pl"),
        ("pl;q=0, en;q=0.1", "en"),
        ("fr, de", "en"),
        ("pl;q=abc, en;q=0.2", "en"),
        ("PL", "pl"),
    ],
)
def test_accept_language_picks_the_page_language(header: str | None, expected: str) -> None:
    assert pick(None, header) == expected


def test_the_html_lang_follows_accept_language_and_then_the_persons_choice(
    client: TestClient,
) -> None:
    assert _lang(client) == "en"
    assert _lang(client, **{"Accept-Language": "pl-PL,pl;q=0.9"}) == "pl"
    chosen = client.post("/language", data={"language": "en", "next": "/signin?next=/w/acme"})
    assert chosen.status_code == 303
    assert chosen.headers["location"] == "/signin?next=/w/acme"
    assert client.cookies.get(COOKIE) == "en"
    # The choice wins over the browser's header.
    assert _lang(client, **{"Accept-Language": "pl"}) == "en"
    client.post("/language", data={"language": "pl"})
    assert _lang(client, **{"Accept-Language": "en"}) == "pl"
    # An unknown language forgets the choice: the header decides again.
    forgot = client.post("/language", data={"language": "xx", "next": "https://evil.example/"})
    assert forgot.headers["location"] == "/"
    assert COOKIE not in client.cookies
    assert _lang(client, **{"Accept-Language": "en"}) == "en"


def test_the_language_form_refuses_a_missing_field_with_422(client: TestClient) -> None:
    answer = client.post("/language", data={})
    assert answer.status_code == 422
    assert "language" in answer.text


def test_the_dashboard_says_the_diagnosis_in_polish(client: TestClient) -> None:
    feed(admin_api(client))
    sign_in(client)
    client.post("/language", data={"language": "pl"})
    page = client.get("/w/acme")
    assert page.status_code == 200
    html = page.text
    assert '<html lang="pl">' in html
    for heading in ("Przegląd", "Podejrzani", "Otwarte incydenty", "Rozbieżności stanów"):
        assert heading in html
    # graph's summary, rendered from its message id and parameters through the catalog:
    # 24 orders stuck (Polish plural for 22-24: "zamówienia").
    assert "Zatrzymane między oms a erp: 24 zamówienia" in html
    assert "erp odpowiadał 503 na każdą próbę" in html
    # An evidence text of graph (the stale stock hop) in the trace's waterfall.
    trace = client.get("/w/acme/trace?q=ABC-1", follow_redirects=True).text
    assert "oms nadal pokazuje 12, starszą ilość z erp, zamiast 5" in trace
    markdown = client.get("/w/acme/suspects/order/oms/erp/unavailable/report.md").text
    assert markdown.startswith("# Połączenie oms → erp (zamówienia): niedostępny (5xx")
    assert "**Werdykt:** Zatrzymane między oms a erp: 24 zamówienia" in markdown
    assert "| Czas (UTC) | Wywołanie | Status | Błąd | Czas trwania |" in markdown
    english = client.post("/language", data={"language": "en"})
    assert english.status_code == 303
    html = client.get("/w/acme").text
    assert "24 orders stuck between oms and erp: erp answered 503 to every attempt" in html
    # The API stays English whatever the person chose (the contract).
    client.post("/language", data={"language": "pl"})
    api = admin_api(client).get(
        "/api/v1/workspaces/acme/diagnosis", headers={"Accept-Language": "pl"}
    )
    assert api.status_code == 200
    summaries = [s["summary"] for s in api.json()["suspects"]]
    assert any(s.startswith("24 orders stuck between oms and erp") for s in summaries)


def test_polish_dates_numbers_and_money() -> None:
    moment = datetime(2026, 3, 5, 14, 7, tzinfo=UTC)
    with use_language("pl"):
        assert money(1234.56, "PLN").replace("\xa0", " ") == "1 234,56 zł"
        assert money(0, "EUR").replace("\xa0", " ") == "0,00 €"
        assert number(1234567.891).replace("\xa0", " ") == "1 234 567,89"
        assert percent(0.9995, 2) == "99,95%"
        assert when(moment) == "5 mar 2026, 14:07 UTC"
    # English keeps the forms the pages always had (and their tests read).
    assert money(1234.56, "PLN") == "1234.56 PLN"
    assert when(moment) == "2026-03-05 14:07 UTC"
    assert percent(0.9995, 2) == "99.95%"


def test_a_vendor_reads_its_link_in_the_language_it_was_made_in(client: TestClient) -> None:
    api = admin_api(client)
    feed(api)
    made = {}
    for language in ("pl", "en"):
        answer = api.post(
            "/api/v1/workspaces/acme/vendor-links",
            json={"suspect": "order/oms/erp/unavailable", "language": language},
        )
        assert answer.status_code == 201, answer.text
        made[language] = answer.json()["link"]
    # The visitor's browser asks for English; the link was made in Polish.
    path = made["pl"].split("://", 1)[1].split("/", 1)[1]
    page = client.get("/" + path, headers={"Accept-Language": "en"})
    assert page.status_code == 200
    assert '<html lang="pl">' in page.text
    assert "Wywołania i ich błędy" in page.text
    assert "Zatrzymane między oms a erp: 24 zamówienia" in page.text
    path = made["en"].split("://", 1)[1].split("/", 1)[1]
    page = client.get("/" + path, headers={"Accept-Language": "pl"})
    assert '<html lang="en">' in page.text
    assert "Calls and their errors" in page.text
