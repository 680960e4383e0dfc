"""What people read outside the dashboard, in the language chosen for it: alerts in the
workspace's language (its status page's), the status page's update templates, and the
vendor's page in the language the link was made in."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from types import SimpleNamespace

from app.incidents.lifecycle import Alert
from app.notifications.messages import alert_message
from app.settings import Settings
from app.status.texts import ALL_WELL, TEMPLATES, fill


def _alert(event: str, flaps: int = 0) -> Alert:
    incident = SimpleNamespace(
        id=7,
        where="order oms→erp",
        mode="unavailable",
        responsible="ERP partner",
        affected=24,
        healthy=6,
        summary="24 orders stuck between oms and erp: erp answered 503 to every attempt",
        first_failure=datetime(2026, 3, 5, 9, 30, tzinfo=UTC),
        resolved_at=datetime(2026, 3, 5, 11, 0, tzinfo=UTC),
        flaps=flaps,
    )
    return Alert(event, incident, reopened=False)  # type: ignore[arg-type]


def test_an_alert_in_polish_and_in_english(settings_factory: Callable[..., Settings]) -> None:
    settings = settings_factory(demo=False)
    title, body, kind = alert_message(_alert("resolve", flaps=2), "acme", settings, "pl")
    assert title == (
        "[Arbiter acme] Incydent nr 7 rozwiązany: order oms→erp niedostępny (ERP partner)"
    )
    assert "Rodzaj awarii: niedostępny" in body
    assert "Z problemem: 24 (sprawne: 6)" in body
    assert "Pierwsza awaria: 5 mar 2026, 09:30 UTC" in body
    assert "Otwarty ponownie 2 razy po rozwiązaniu" in body
    assert kind == "success"
    title, body, _ = alert_message(_alert("open", flaps=1), "acme", settings)
    assert title == "[Arbiter acme] Incident #7 opened: order oms→erp unavailable (ERP partner)"
    assert "First failure: 2026-03-05 09:30 UTC" in body
    assert "Reopened 1 time after being resolved" in body


def test_the_status_page_templates_come_from_the_catalogs() -> None:
    assert ALL_WELL == {"en": "The shop works normally.", "pl": "Sklep działa normalnie."}
    assert TEMPLATES["stock_stale"]["pl"] == (
        "Stany magazynowe widoczne w sklepie mogą być nieaktualne."
    )
    assert fill("shop_unavailable", "en", email="help@shop.pl", phone="+48 600 100 200") == (
        "The shop is unavailable. Write to help@shop.pl or call +48 600 100 200."
    )
