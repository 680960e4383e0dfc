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
        summary_text=None,
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


def test_a_warning_in_polish_and_its_english_message_for_the_api() -> None:
    from datetime import timedelta

    from app.i18n import use_language
    from app.i18n.texts import localized
    from app.warnings.rules import Activity, silence_warnings

    now = datetime(2026, 3, 5, 12, tzinfo=UTC)
    activity = Activity("erp", now - timedelta(days=4), 600.0)
    [warning] = silence_warnings(activity, as_of=now, factor=3, minimum=300, poll_interval=None)
    assert warning.message == "nothing from erp for 4 days (it usually reports every 10 min)"
    assert localized(warning) == warning.message
    with use_language("pl"):
        assert localized(warning) == "brak wieści z erp od 4 dni (zwykle odzywa się co 10 min)"


def test_an_alerts_summary_is_said_in_the_workspaces_language(
    settings_factory: Callable[..., Settings],
) -> None:
    """The summary line comes from the incident's stored text when it has one; an incident from
    before texts were kept (summary_text None) keeps its English summary."""
    from graph.suspects import noun_text
    from graph.text import phrase

    settings = settings_factory(demo=False)
    alert = _alert("open")
    text = phrase(
        "%(count)s stuck between %(from)s and %(to)s",
        count=noun_text("order", 24),
        **{"from": "oms", "to": "erp"},
    )
    alert.incident.summary_text = text
    alert.incident.summary = str(text)
    _title, polish, _kind = alert_message(alert, "acme", settings, "pl")
    assert polish.splitlines()[0] == "Zatrzymane między oms a erp: 24 zamówienia"
    _title, english, _kind = alert_message(alert, "acme", settings, "en")
    assert english.splitlines()[0] == "24 orders stuck between oms and erp"
    alert.incident.summary_text = None
    _title, before, _kind = alert_message(alert, "acme", settings, "pl")
    assert before.splitlines()[0] == "24 orders stuck between oms and erp"
