"""Every setting of the service, read from ``ARBITER_*`` environment variables and ``.env``.

Settings come in groups (``settings.store``, ``settings.demo``, ``settings.incidents``...) and
keep the flat environment names they always had: ``ARBITER_`` + the group's prefix + the
field's name (``incidents.min_affected`` is ``ARBITER_INCIDENT_MIN_AFFECTED``), or the name the
group gives a field (``demo.enabled`` is ``ARBITER_DEMO``). :class:`Environment`, made from the
groups, reads those names with pydantic-settings (the environment, then ``.env``); keyword
arguments of :class:`Settings` take the same flat names and win over both.

>>> settings = Settings(incident_min_affected=5, demo=False, data_dir="/tmp/arbiter")
>>> settings.incidents.min_affected, settings.demo.enabled, settings.store.is_sqlite
(5, False, True)
>>> settings.replace(demo=True).demo.enabled, "incident_min_affected" in settings.given
(True, True)
>>> ENV_NAMES["otlp.export_endpoint"], ENV_NAMES["demo.enabled"], ENV_NAMES["host"]
('ARBITER_OTLP_EXPORT_ENDPOINT', 'ARBITER_DEMO', 'ARBITER_HOST')
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, create_model, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from app.auth.providers import OidcProvider
from connectors.http import EgressMode


class _Group(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    PREFIX: ClassVar[str] = ""
    """A field's environment name is ARBITER_ + PREFIX + its name..."""
    NAMES: ClassVar[dict[str, str]] = {}
    """...unless it is named here (field: what follows ARBITER_)."""

    @classmethod
    def flat_name(cls, field: str) -> str:
        return cls.NAMES.get(field, cls.PREFIX + field)


class StoreSettings(_Group):
    """Where and how long the events are kept."""

    data_dir: Path = Field(
        default=Path("./data"), description="Where the SQLite file and generated secrets live."
    )
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL; default: SQLite in data_dir. "
        "postgresql+psycopg://user:pass@host/db selects PostgreSQL.",
    )
    index_live_days: float = Field(
        default=1.25,
        gt=0,
        description="The diagnosis index in memory holds the journeys with an event in this "
        "many days (the default diagnosis window, 1 day, and 6 hours for the journeys whose "
        "deadlines fall in it; never less than the incident evaluator's window and those 6 "
        "hours); older history is read from the store when asked. A journey still failing or "
        "pending stays held however old (and is read back at a restart).",
    )
    retention_days: float = Field(
        default=90,
        ge=0,
        description="Raw events (by their time) and webhook deliveries (by arrival) older than "
        "this many days are deleted, hourly (on PostgreSQL a week partition at a time, once the "
        "whole week is older); incidents and SLA reports are kept. 0 keeps all.",
    )

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'arbiter.db').resolve()}"

    @property
    def is_sqlite(self) -> bool:
        return self.resolved_database_url.startswith("sqlite")


class DemoSettings(_Group):
    """The sandbox demo."""

    PREFIX = "demo_"
    NAMES = {"enabled": "demo"}

    enabled: bool | None = Field(
        default=None,
        description="Run the sandbox demo; default: on when no database_url is configured "
        "and the store has no workspace of its own.",
    )
    sandbox_port: int = Field(
        default=8100, ge=1, le=65530, description="First of the demo sandbox's five ports."
    )
    sla_seconds: float = Field(
        default=60, gt=0, description="SLA of every demo link, short so failures show quickly."
    )
    poll_interval_seconds: float = Field(
        default=10, ge=1, description="How often the demo pollers read the sandbox."
    )
    fault: str = Field(
        default="reject:erp",
        description="Fault injected into the demo (kind:target, as the sandbox's control API "
        "takes it), or 'none'.",
    )


class ProcessSettings(_Group):
    """What this process runs, and how workers share the workspaces (PostgreSQL)."""

    background: bool = Field(
        default=True,
        description="Run this process's background work (which work: ARBITER_ROLE); false "
        "runs none at all.",
    )
    role: Literal["all", "api", "worker"] = Field(
        default="all",
        description="What `arbiter serve` runs besides the API. 'all': the background work "
        "too (pollers, webhook sweeper, incidents, exporters), the one process of a SQLite "
        "install. 'api' (PostgreSQL only): the API alone, stateless, next to `arbiter worker` "
        "processes that do the background work. 'worker' is what `arbiter worker` runs.",
    )
    lease_seconds: float = Field(
        default=20.0,
        ge=2,
        le=600,
        description="PostgreSQL: how long a worker's lease on a workspace lasts unless renewed; "
        "a worker that dies has its workspaces taken over by the others within about this "
        "long plus one renewal period.",
    )
    lease_renew_seconds: float = Field(
        default=4.0,
        gt=0,
        le=120,
        description="PostgreSQL: how often each worker renews its leases and rebalances "
        "(less than half of lease_seconds; a worker stops a workspace's work this long "
        "before its lease could end).",
    )


class IncidentSettings(_Group):
    """When suspects become incidents, and how often they are judged."""

    PREFIX = "incident_"

    interval_seconds: float = Field(
        default=30.0,
        ge=0,
        description="How often every workspace is diagnosed for incidents; 0 turns the "
        "incident evaluator off.",
    )
    debounce_seconds: float = Field(
        default=5.0, ge=0, description="Delay after new events before a workspace is re-evaluated."
    )
    window_seconds: float = Field(
        default=86400.0, gt=0, description="Diagnosis window the incident evaluator uses."
    )
    min_affected: int = Field(
        default=2, ge=1, description="Entities a suspect must affect before it opens an incident."
    )
    min_duration_seconds: float = Field(
        default=300.0,
        ge=0,
        description="How long after its first failure a suspect must hold to open an incident.",
    )
    resolve_after_seconds: float = Field(
        default=900.0,
        ge=0,
        description="How long a link must stay healthy before its incident is resolved.",
    )
    escalation_factors: list[float] = Field(
        default=[2.0, 10.0],
        description="An incident escalates when its affected count reaches each of these "
        "multiples of the count it opened with.",
    )
    flap_window_seconds: float = Field(
        default=3600.0,
        ge=0,
        description="A root cause that fails again within this time of being resolved reopens "
        "its incident, and pages for it at most once per window.",
    )


class NotificationSettings(_Group):
    """Delivery of alerts to the channels."""

    PREFIX = "notification_"

    timeout_seconds: float = Field(
        default=10.0, gt=0, description="Connect and read timeout of one notification attempt."
    )
    attempts: int = Field(
        default=3, ge=1, le=10, description="Attempts per notification before it is logged failed."
    )
    retry_wait_seconds: float = Field(
        default=2.0,
        ge=0,
        description="Wait before the first retry of a notification; doubles with each retry.",
    )


class WarningSettings(_Group):
    """Proactive warnings."""

    PREFIX = "warning_"

    window_seconds: float = Field(
        default=3600.0,
        gt=0,
        description="Proactive warnings compare this much recent time with the same span before.",
    )
    silence_factor: float = Field(
        default=3.0,
        gt=1,
        description="A system is silent when it sends nothing for this many of its usual gaps.",
    )
    silence_min_seconds: float = Field(
        default=900.0, gt=0, description="Shortest silence ever warned about."
    )


class OtlpSettings(_Group):
    """OpenTelemetry: spans in (POST /v1/traces) and traces out."""

    PREFIX = "otlp_"

    ingest_max_body_bytes: int = Field(
        default=8 * 1024 * 1024,
        ge=1024,
        description="Largest OTLP request body POST /v1/traces accepts, both as sent and "
        "after gzip decompression (413 above it).",
    )
    system_aliases: dict[str, str] = Field(
        default_factory=dict,
        description="OTLP ingest: names that spans use for systems (service.name, peer.service "
        'or server.address) mapped to topology system ids, e.g. {"erp.example.com": "erp"}. '
        "A name that equals a system id needs no entry.",
    )
    flow_rules: dict[str, str] = Field(
        default_factory=dict,
        description="OTLP ingest: the flow of a span without the arbiter.flow attribute, keyed "
        '"caller->target" (either side may be "*"), e.g. {"oms->erp": "order"}. Without a '
        "rule the flow is the only one whose links join caller and target; a span with none "
        "or several is rejected.",
    )
    ref_attributes: dict[str, str] = Field(
        default_factory=lambda: {"order.id": "{caller}", "product.sku": "sku"},
        description="OTLP ingest: span attributes that carry entity ids, mapped to the ref "
        'namespace; "{caller}" and "{target}" stand for the span\'s systems. Attributes '
        "arbiter.ref.<namespace> are always read as well.",
    )
    export_endpoint: str | None = Field(
        default=None,
        description="OTLP/HTTP traces endpoint (e.g. http://collector:4318; /v1/traces is "
        "added to a URL without a path) that receives each journey as a trace and Arbiter's "
        "own request spans. Unset: nothing is exported.",
    )
    export_headers: dict[str, SecretStr] = Field(
        default_factory=dict,
        description="Headers sent with every export, e.g. an API key of the tracing backend.",
    )
    export_interval_seconds: float = Field(
        default=30.0,
        gt=0,
        le=86400,
        description="How often journeys whose state changed are exported.",
    )
    export_timeout_seconds: float = Field(
        default=10.0, gt=0, le=300, description="Timeout of one export request."
    )
    self_tracing: bool = Field(
        default=True,
        description="Send a span per HTTP request the service answers to otlp_export_endpoint "
        "(only when that is set).",
    )


class Settings(BaseModel):
    """The settings that belong to no group, then the groups."""

    model_config = ConfigDict(frozen=True)

    admin_token: SecretStr | None = Field(
        default=None,
        description="Bearer token with every right; generated into data_dir when unset.",
    )
    secret_key: SecretStr | None = Field(
        default=None,
        description="Key that encrypts connection secrets at rest (Fernet, urlsafe base64 of "
        "32 bytes); generated into data_dir when unset.",
    )
    account_mail_url: SecretStr | None = Field(
        default=None,
        description="Where invitation and password-reset links are sent: an apprise URL "
        "(mailtos://user:pass@smtp.example.com?from=arbiter@example.com); each message goes "
        "to the account's own address. Unset: invitation links are shown to the inviter only, "
        "and reset links cannot be sent.",
    )
    oidc_providers: list[OidcProvider] = Field(
        default_factory=list,
        description="OpenID Connect providers people may sign in with, a JSON list: "
        '[{"id": "google", "name": "Google", "issuer": "https://accounts.google.com", '
        '"client_id": "...", "client_secret": "..."}] (Microsoft Entra ID: issuer '
        "https://login.microsoftonline.com/<tenant id>/v2.0; Keycloak: "
        "https://<host>/realms/<realm>; optional: discovery_url, scope). Register "
        "<public_url>/signin/oidc/<id>/callback as the redirect URI. A sign-in is matched "
        "by its verified e-mail to an account or a pending invitation; nobody else gets in.",
    )
    host: str = Field(default="127.0.0.1", description="Default address for `arbiter serve`.")
    port: int = Field(default=8000, ge=0, le=65535, description="Default port of `serve`.")
    max_body_bytes: int = Field(
        default=32 * 1024 * 1024, ge=1024, description="Largest request body accepted (413)."
    )
    clock_skew_seconds: float | None = Field(
        default=None,
        ge=0,
        le=3600,
        description="How far systems' clocks may disagree; added to every SLA deadline so skew "
        "alone never makes a late or lost verdict. Default 180 s (10 s in the sandbox demo, "
        "whose systems share one clock; the demo also opens incidents after 60 s and resolves "
        "them after 120 s unless those settings are set).",
    )
    public_url: str | None = Field(
        default=None, description="Base URL of the service as users reach it (alert links)."
    )
    egress: EgressMode = Field(
        default="private",
        description="Where Arbiter may send requests (connectors, connection tests, alert "
        "channels, OTLP export, OpenID providers), checked on the address connected to: "
        "'private' also reaches loopback and private networks, 'public' only public addresses "
        "(a multi-tenant install). Link-local addresses (cloud metadata) are never reached.",
    )
    metrics_public: bool = Field(
        default=False,
        description="Serve /metrics without a token; by default it needs the admin token "
        "(its series name workspaces and systems).",
    )
    auth_failures_per_minute: int = Field(
        default=20,
        ge=1,
        description="Failed authentications (bearer tokens, dashboard sign-in) a client address "
        "may make in any minute; beyond it the address is answered 429 with Retry-After.",
    )
    log_level: str = Field(default="info", description="Log level of the service.")
    # The groups: filled from the flat names by _read (their defaults are never read alone).
    store: StoreSettings = Field(default_factory=StoreSettings)
    demo: DemoSettings = Field(default_factory=DemoSettings)
    processes: ProcessSettings = Field(default_factory=ProcessSettings)
    incidents: IncidentSettings = Field(default_factory=IncidentSettings)
    notifications: NotificationSettings = Field(default_factory=NotificationSettings)
    warnings: WarningSettings = Field(default_factory=WarningSettings)
    otlp: OtlpSettings = Field(default_factory=OtlpSettings)
    given: frozenset[str] = Field(default=frozenset(), exclude=True, repr=False)
    """The flat names that the environment or the caller set (the others are defaults)."""

    @model_validator(mode="before")
    @classmethod
    def _read(cls, data: Any) -> Any:
        """Flat names (keyword arguments, then the environment and .env) into the groups."""
        if not isinstance(data, dict):
            return data
        read = Environment(**data)
        values: dict[str, Any] = {name: getattr(read, name) for name in _TOP}
        for attr, group in GROUPS.items():
            values[attr] = {
                name: getattr(read, group.flat_name(name)) for name in group.model_fields
            }
        values["given"] = frozenset(read.model_fields_set)
        return values

    def flat(self) -> dict[str, Any]:
        """Every setting by its flat name (the environment's, lower case)."""
        values = {name: getattr(self, name) for name in _TOP}
        for attr, group in GROUPS.items():
            part = getattr(self, attr)
            values |= {group.flat_name(name): getattr(part, name) for name in group.model_fields}
        return values

    def replace(self, **changes: Any) -> Settings:
        """A copy with the settings named by their flat names changed (nothing read again)."""
        changed = Settings(**(self.flat() | changes))
        return changed.model_copy(update={"given": self.given | changes.keys()})


GROUPS: dict[str, type[_Group]] = {
    "store": StoreSettings,
    "demo": DemoSettings,
    "processes": ProcessSettings,
    "incidents": IncidentSettings,
    "notifications": NotificationSettings,
    "warnings": WarningSettings,
    "otlp": OtlpSettings,
}
_TOP = tuple(name for name in Settings.model_fields if name not in GROUPS and name != "given")


class _Environment(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ARBITER_", env_file=".env", extra="ignore")


def _flat_fields() -> dict[str, Any]:
    fields = {name: Settings.model_fields[name] for name in _TOP}
    for group in GROUPS.values():
        fields |= {group.flat_name(name): info for name, info in group.model_fields.items()}
    return {name: (info.annotation, copy.copy(info)) for name, info in fields.items()}


Environment = create_model("Environment", __base__=_Environment, **_flat_fields())
"""Every setting under its flat name, as the environment and ``.env`` spell it (lower case)."""

ENV_NAMES = {
    **{name: f"ARBITER_{name.upper()}" for name in _TOP},
    **{
        f"{attr}.{name}": f"ARBITER_{group.flat_name(name).upper()}"
        for attr, group in GROUPS.items()
        for name in group.model_fields
    },
}
"""The environment variable of each setting, by its place (``"incidents.min_affected"``)."""
