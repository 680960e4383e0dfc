"""Every setting of the service, read from ``ARBITER_*`` environment variables and ``.env``."""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from app.auth.providers import OidcProvider
from connectors.http import EgressMode


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="ARBITER_", env_file=".env", extra="ignore", frozen=True
    )

    data_dir: Path = Field(
        default=Path("./data"), description="Where the SQLite file and generated secrets live."
    )
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL; default: SQLite in data_dir. "
        "postgresql+psycopg://user:pass@host/db selects PostgreSQL.",
    )
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
    demo: bool | None = Field(
        default=None,
        description="Run the sandbox demo; default: on when no database_url is configured "
        "and the store has no workspace of its own.",
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
    demo_sandbox_port: int = Field(
        default=8100, ge=1, le=65530, description="First of the demo sandbox's five ports."
    )
    demo_sla_seconds: float = Field(
        default=60, gt=0, description="SLA of every demo link, short so failures show quickly."
    )
    demo_poll_interval_seconds: float = Field(
        default=10, ge=1, description="How often the demo pollers read the sandbox."
    )
    demo_fault: str = Field(
        default="reject:erp",
        description="Fault injected into the demo (kind:target, as the sandbox's control API "
        "takes it), or 'none'.",
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
    index_live_days: float = Field(
        default=2,
        gt=0,
        description="The diagnosis index in memory holds the journeys with an event in this "
        "many days (at least the default diagnosis window, 1 day); older history is read from "
        "the store when asked. A journey still failing or pending stays held however old (and "
        "is read back at a restart).",
    )
    retention_days: float = Field(
        default=90,
        ge=0,
        description="Raw events (by their time) and webhook deliveries (by arrival) older than "
        "this many days are deleted, hourly (on PostgreSQL a week partition at a time, once the "
        "whole week is older); incidents and SLA reports are kept. 0 keeps all.",
    )
    incident_interval_seconds: float = Field(
        default=30.0,
        ge=0,
        description="How often every workspace is diagnosed for incidents; 0 turns the "
        "incident evaluator off.",
    )
    incident_debounce_seconds: float = Field(
        default=5.0, ge=0, description="Delay after new events before a workspace is re-evaluated."
    )
    incident_window_seconds: float = Field(
        default=86400.0, gt=0, description="Diagnosis window the incident evaluator uses."
    )
    incident_min_affected: int = Field(
        default=2, ge=1, description="Entities a suspect must affect before it opens an incident."
    )
    incident_min_duration_seconds: float = Field(
        default=300.0,
        ge=0,
        description="How long after its first failure a suspect must hold to open an incident.",
    )
    incident_resolve_after_seconds: float = Field(
        default=900.0,
        ge=0,
        description="How long a link must stay healthy before its incident is resolved.",
    )
    incident_escalation_factors: list[float] = Field(
        default=[2.0, 10.0],
        description="An incident escalates when its affected count reaches each of these "
        "multiples of the count it opened with.",
    )
    incident_flap_window_seconds: float = Field(
        default=3600.0,
        ge=0,
        description="A root cause that fails again within this time of being resolved reopens "
        "its incident, and pages for it at most once per window.",
    )
    notification_timeout_seconds: float = Field(
        default=10.0, gt=0, description="Connect and read timeout of one notification attempt."
    )
    notification_attempts: int = Field(
        default=3, ge=1, le=10, description="Attempts per notification before it is logged failed."
    )
    notification_retry_wait_seconds: float = Field(
        default=2.0,
        ge=0,
        description="Wait before the first retry of a notification; doubles with each retry.",
    )
    warning_window_seconds: float = Field(
        default=3600.0,
        gt=0,
        description="Proactive warnings compare this much recent time with the same span before.",
    )
    warning_silence_factor: float = Field(
        default=3.0,
        gt=1,
        description="A system is silent when it sends nothing for this many of its usual gaps.",
    )
    warning_silence_min_seconds: float = Field(
        default=900.0, gt=0, description="Shortest silence ever warned about."
    )
    otlp_ingest_max_body_bytes: int = Field(
        default=8 * 1024 * 1024,
        ge=1024,
        description="Largest OTLP request body POST /v1/traces accepts, both as sent and "
        "after gzip decompression (413 above it).",
    )
    otlp_system_aliases: dict[str, str] = Field(
        default_factory=dict,
        description="OTLP ingest: names that spans use for systems (service.name, peer.service "
        'or server.address) mapped to topology system ids, e.g. {"erp.example.com": "erp"}. '
        "A name that equals a system id needs no entry.",
    )
    otlp_flow_rules: dict[str, str] = Field(
        default_factory=dict,
        description="OTLP ingest: the flow of a span without the arbiter.flow attribute, keyed "
        '"caller->target" (either side may be "*"), e.g. {"oms->erp": "order"}. Without a '
        "rule the flow is the only one whose links join caller and target; a span with none "
        "or several is rejected.",
    )
    otlp_ref_attributes: dict[str, str] = Field(
        default_factory=lambda: {"order.id": "{caller}", "product.sku": "sku"},
        description="OTLP ingest: span attributes that carry entity ids, mapped to the ref "
        'namespace; "{caller}" and "{target}" stand for the span\'s systems. Attributes '
        "arbiter.ref.<namespace> are always read as well.",
    )
    otlp_export_endpoint: str | None = Field(
        default=None,
        description="OTLP/HTTP traces endpoint (e.g. http://collector:4318; /v1/traces is "
        "added to a URL without a path) that receives each journey as a trace and Arbiter's "
        "own request spans. Unset: nothing is exported.",
    )
    otlp_export_headers: dict[str, SecretStr] = Field(
        default_factory=dict,
        description="Headers sent with every export, e.g. an API key of the tracing backend.",
    )
    otlp_export_interval_seconds: float = Field(
        default=30.0,
        gt=0,
        le=86400,
        description="How often journeys whose state changed are exported.",
    )
    otlp_export_timeout_seconds: float = Field(
        default=10.0, gt=0, le=300, description="Timeout of one export request."
    )
    otlp_self_tracing: bool = Field(
        default=True,
        description="Send a span per HTTP request the service answers to otlp_export_endpoint "
        "(only when that is set).",
    )

    @cached_property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'arbiter.db').resolve()}"

    @property
    def is_sqlite(self) -> bool:
        return self.resolved_database_url.startswith("sqlite")
