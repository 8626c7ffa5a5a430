"""OpenTelemetry traces, only when OTEL_EXPORTER_OTLP_ENDPOINT is set and the `otel` extra is installed.

Decisions:
- The SDK is an optional extra (`pip install 'sequrity-control[otel]'`); without the variable
  nothing is imported and tracing costs nothing.
- The tracer provider is ours, not the global one: tests and embedders can build several apps
  in one process, and we never take over an application's own OpenTelemetry setup.
- Spans: one server span per HTTP request, one client span per upstream LLM call under it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

__all__ = ["Tracing", "setup_tracing", "SERVICE_NAME"]

SERVICE_NAME = "sequrity-control"
log = logging.getLogger("sequrity_control")


@dataclass(frozen=True)
class Tracing:
    """A tracer and the provider that exports its spans; `shutdown()` flushes them."""

    tracer: Any
    provider: Any

    def shutdown(self) -> None:
        self.provider.shutdown()


def setup_tracing(endpoint: str, *, exporter: Any = None) -> Tracing | None:
    """Tracing to the OTLP/HTTP collector at `endpoint` (its base URL), or None when not asked for.

    `exporter` replaces the OTLP exporter (tests use an in-memory one).
    """
    if not endpoint and exporter is None:
        return None
    try:
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor
    except ImportError:
        log.warning(
            "OTEL_EXPORTER_OTLP_ENDPOINT is set but the OpenTelemetry SDK is not installed;"
            " install it with: pip install 'sequrity-control[otel]' (tracing stays off)"
        )
        return None
    if exporter is None:
        try:
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        except ImportError:
            log.warning(
                "OTEL_EXPORTER_OTLP_ENDPOINT is set but the OTLP/HTTP exporter is not installed;"
                " install it with: pip install 'sequrity-control[otel]' (tracing stays off)"
            )
            return None
        exporter = OTLPSpanExporter(endpoint=endpoint.rstrip("/") + "/v1/traces")
    provider = TracerProvider(resource=Resource.create({"service.name": SERVICE_NAME}))
    provider.add_span_processor(BatchSpanProcessor(exporter))
    return Tracing(tracer=provider.get_tracer("sequrity_control"), provider=provider)
