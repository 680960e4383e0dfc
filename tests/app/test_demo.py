from __future__ import annotations

from collections.abc import Callable

from app.runtime import Runtime
from app.settings import Settings


def test_demo_defaults_apply_only_where_the_environment_is_silent(
    settings_factory: Callable[..., Settings],
) -> None:
    runtime = Runtime.start(settings_factory(demo=True))
    try:
        assert runtime.demo
        assert runtime.settings.clock_skew_seconds == 10.0
        assert runtime.settings.incident_min_duration_seconds == 60.0
    finally:
        runtime.close()
    chosen = Runtime.start(settings_factory(demo=True, incident_min_duration_seconds=500))
    try:
        assert chosen.settings.incident_min_duration_seconds == 500
    finally:
        chosen.close()
    plain = Runtime.start(settings_factory())
    try:
        assert not plain.demo, "a configured database_url turns the demo off by default"
        assert plain.settings.clock_skew_seconds is None
        assert plain.settings.incident_min_duration_seconds == 300.0
    finally:
        plain.close()
