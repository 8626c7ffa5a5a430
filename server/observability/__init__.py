"""Observability: Prometheus metrics, structured JSON logs with request ids, optional OpenTelemetry."""

from server.observability.metrics import record_classifier_hit, record_verdict

__all__ = ["record_verdict", "record_classifier_hit"]
