"""Grouped settings keep the flat ARBITER_* names: environment, .env and keyword arguments."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.settings import ENV_NAMES, GROUPS, Environment, Settings


def test_the_environment_fills_every_group(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ARBITER_INCIDENT_MIN_AFFECTED", "7")
    monkeypatch.setenv("ARBITER_DEMO", "false")
    monkeypatch.setenv("ARBITER_DEMO_FAULT", "none")
    monkeypatch.setenv("ARBITER_OTLP_FLOW_RULES", '{"oms->erp": "order"}')
    monkeypatch.setenv("ARBITER_DATABASE_URL", "postgresql+psycopg://a:b@db/arbiter")
    monkeypatch.setenv("ARBITER_NOTIFICATION_ATTEMPTS", "5")
    monkeypatch.setenv("ARBITER_WARNING_SILENCE_FACTOR", "4.5")
    monkeypatch.setenv("ARBITER_ROLE", "api")
    monkeypatch.setenv("ARBITER_HOST", "127.0.0.2")
    settings = Settings()
    assert settings.incidents.min_affected == 7
    assert settings.demo.enabled is False
    assert settings.demo.fault == "none"
    assert settings.otlp.flow_rules == {"oms->erp": "order"}
    assert not settings.store.is_sqlite
    assert settings.notifications.attempts == 5
    assert settings.warnings.silence_factor == 4.5
    assert settings.processes.role == "api"
    assert settings.host == "127.0.0.2"
    assert "incident_min_affected" in settings.given
    assert "incident_window_seconds" not in settings.given


def test_dotenv_and_keyword_arguments(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text(
        "ARBITER_INCIDENT_RESOLVE_AFTER_SECONDS=60\nARBITER_DEMO_SLA_SECONDS=5\n"
    )
    settings = Settings(demo_sla_seconds=9, data_dir=tmp_path)
    assert settings.incidents.resolve_after_seconds == 60
    assert settings.demo.sla_seconds == 9, "a keyword argument wins over .env"
    assert settings.store.resolved_database_url == f"sqlite:///{tmp_path / 'arbiter.db'}"


def test_bad_values_name_the_variable() -> None:
    with pytest.raises(ValueError, match="incident_min_affected"):
        Settings(incident_min_affected=0)


def test_replace_changes_only_what_it_names() -> None:
    settings = Settings(incident_min_affected=3, demo=None)
    changed = settings.replace(demo=True, incident_flap_window_seconds=60)
    assert (changed.demo.enabled, changed.incidents.flap_window_seconds) == (True, 60)
    assert changed.incidents.min_affected == 3
    assert {"incident_min_affected", "incident_flap_window_seconds"} <= changed.given


def test_every_setting_has_one_environment_name() -> None:
    grouped = sum(len(group.model_fields) for group in GROUPS.values())
    top = len(Settings.model_fields) - len(GROUPS) - 1  # less the groups and `given`
    assert len(Environment.model_fields) == grouped + top == len(ENV_NAMES)
    assert sorted(ENV_NAMES.values()) == sorted(
        f"ARBITER_{n.upper()}" for n in Environment.model_fields
    )
