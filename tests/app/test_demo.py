from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from app.demo import decide
from app.runtime import Runtime
from app.settings import Settings


def test_demo_defaults_apply_only_where_the_environment_is_silent(
    settings_factory: Callable[..., Settings],
) -> None:
    runtime = Runtime.start(decide(settings_factory(demo=True)))
    try:
        assert runtime.demo
        assert runtime.settings.clock_skew_seconds == 10.0
        assert runtime.settings.incidents.min_duration_seconds == 60.0
    finally:
        runtime.close()
    chosen = Runtime.start(decide(settings_factory(demo=True, incident_min_duration_seconds=500)))
    try:
        assert chosen.settings.incidents.min_duration_seconds == 500
    finally:
        chosen.close()
    plain = Runtime.start(decide(settings_factory()))
    try:
        assert not plain.demo, "a configured database_url turns the demo off by default"
        assert plain.settings.clock_skew_seconds is None
        assert plain.settings.incidents.min_duration_seconds == 300.0
    finally:
        plain.close()


def test_the_demo_workspace_points_at_the_sandbox(
    settings_factory: Callable[..., Settings],
) -> None:
    from app.auth.service import authenticate
    from app.connections.service import list_status
    from app.demo import configure

    runtime = Runtime.start(settings_factory(demo=True))
    try:
        with runtime.engine.begin() as connection:
            token, secret = configure(connection, runtime, 18100)
        with runtime.engine.connect() as connection:
            listed = list_status(connection, runtime.secrets, "demo")
            principal = authenticate(connection, token, runtime.admin_token)
        assert [(c.system, c.kind, c.base_url) for c in listed] == [
            ("erp", "odoo", "http://127.0.0.1:18103"),
            ("oms", "baselinker", "http://127.0.0.1:18102"),
            ("shop", "woocommerce", "http://127.0.0.1:18100"),
        ]
        assert [c.webhook_secret_set for c in listed] == [False, False, True]
        assert secret
        assert principal is not None
        assert principal.workspace_id == "demo"
    finally:
        runtime.close()


def test_the_cli_turns_the_demo_on_only_for_a_store_of_its_own(tmp_path: Path) -> None:
    from app.workspaces.service import put_workspace

    unconfigured = Settings(data_dir=tmp_path, admin_token="t")
    assert decide(unconfigured).demo.enabled is True, "nothing configured: the demo"
    runtime = Runtime.start(Settings(data_dir=tmp_path, admin_token="t", demo=False))
    try:
        with runtime.engine.begin() as connection:
            put_workspace(connection, "my-shop", "My shop")
    finally:
        runtime.close()
    assert decide(unconfigured).demo.enabled is False, "a workspace of one's own: no demo"
