"""The trace viewer dashboard: server-rendered pages over the same data as the REST API."""
