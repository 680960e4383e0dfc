"""Planned maintenance windows per system: no incident for them, no SLA downtime, announced."""
