"""OpenTelemetry both ways, and Prometheus metrics.

- :mod:`app.telemetry.otlp_ingest`: ``POST /v1/traces`` turns CLIENT spans into call events
  (:mod:`app.telemetry.otlp_codec` speaks the wire formats, :mod:`app.telemetry.spans` the rules).
- :mod:`app.telemetry.export`: each journey as a trace to ``ARBITER_OTLP_EXPORT_ENDPOINT``
  (:mod:`app.telemetry.journey_spans` shapes the spans).
- :mod:`app.telemetry.tracing`: a span per request the service answers; ``GET /metrics``.
- :mod:`app.telemetry.metrics`: the functions other modules record through
  (``record_connector_call``, ``record_ingest``, ``time_diagnosis``, ``register_open_incidents``).
"""
