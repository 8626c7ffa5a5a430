"""Prometheus metrics: one `Metrics` set per process, the recording functions, the exposition.

Decisions:
- Metric objects live in a `Metrics` instance with its own registry (no import-time globals);
  `metrics()` is the process's instance, which `use_metrics` replaces (tests).
- Several workers (`serve --workers N`) share counters through prometheus-client's multiprocess
  mode: the CLI points PROMETHEUS_MULTIPROC_DIR at a fresh directory before the workers start,
  and `/metrics` then sums every worker's files. Without it, each worker reports only its own
  requests (a scrape reaches whichever worker accepted the connection).
- Label values come from bounded sets (route table enums, status codes); the one open-ended
  label, the tool name, is capped at MAX_TOOL_LABELS distinct values per process ("other" after).
"""

from __future__ import annotations

import os
import threading

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

__all__ = [
    "Metrics",
    "metrics",
    "use_metrics",
    "record_verdict",
    "record_classifier_hit",
    "exposition",
    "mark_worker_exit",
    "CONTENT_TYPE_LATEST",
    "MAX_TOOL_LABELS",
    "VERDICTS",
]

NAMESPACE = "sequrity_control"
MAX_TOOL_LABELS = 200
OTHER = "other"
VERDICTS = ("allowed", "soft_denied", "hard_denied")  # spec 13.8
# Latency buckets from 1 ms: the gateway's own overhead is a few milliseconds.
LATENCY_BUCKETS = (
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
    120.0, 300.0,
)


def multiprocess_dir() -> str | None:
    """The shared directory of multiprocess mode, when PROMETHEUS_MULTIPROC_DIR names one."""
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


class Metrics:
    """Every metric the server records; `registry` is what `/metrics` exposes in one process."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry(auto_describe=True)
        r = self.registry
        self.requests = Counter(
            "requests", "HTTP requests answered, by route and status.",
            ["family", "provider", "format", "status"], namespace=NAMESPACE, registry=r,
        )
        self.request_seconds = Histogram(
            "request_duration_seconds",
            "Time from request start to the last byte of the answer (streams included).",
            ["family", "provider", "format"], namespace=NAMESPACE, registry=r,
            buckets=LATENCY_BUCKETS,
        )
        self.upstream_seconds = Histogram(
            "upstream_duration_seconds",
            "Time spent in upstream LLM calls only (to the end of a stream).",
            ["provider", "format"], namespace=NAMESPACE, registry=r, buckets=LATENCY_BUCKETS,
        )
        self.upstream_errors = Counter(
            "upstream_errors", "Upstream calls that failed, by the status we answered.",
            ["provider", "format", "status"], namespace=NAMESPACE, registry=r,
        )
        self.verdicts = Counter(
            "policy_verdicts", "Policy decisions on tool calls.",
            ["verdict", "tool"], namespace=NAMESPACE, registry=r,
        )
        self.classifier_hits = Counter(
            "classifier_hits", "Classifier (tagger / blocker) detections.",
            ["classifier", "tag"], namespace=NAMESPACE, registry=r,
        )
        self.active_sessions = Gauge(
            "active_sessions", "Sessions leased by requests in flight (summed over live workers).",
            namespace=NAMESPACE, registry=r, multiprocess_mode="livesum",
        )
        self.audit_dropped = Counter(
            "audit_records_dropped", "Audit records dropped because the audit queue was full.",
            namespace=NAMESPACE, registry=r,
        )
        self._tools: set[str] = set()
        self._lock = threading.Lock()

    def tool_label(self, tool: str) -> str:
        """`tool`, or "other" once MAX_TOOL_LABELS distinct tools have been seen."""
        with self._lock:
            if tool in self._tools:
                return tool
            if len(self._tools) < MAX_TOOL_LABELS:
                self._tools.add(tool)
                return tool
        return OTHER

    def sample(self, name: str, labels: dict[str, str] | None = None) -> float:
        """A current value (0.0 when absent): `m.sample("sequrity_control_requests_total", ...)`."""
        return self.registry.get_sample_value(name, labels or {}) or 0.0


_current: list[Metrics] = []
_current_lock = threading.Lock()


def metrics() -> Metrics:
    """The process's metrics, made on first use."""
    with _current_lock:
        if not _current:
            _current.append(Metrics())
        return _current[0]


def use_metrics(replacement: Metrics) -> Metrics:
    """Replace the process's metrics (tests); returns the previous ones."""
    previous = metrics()
    with _current_lock:
        _current[0] = replacement
    return previous


def record_verdict(*, verdict: str, tool: str) -> None:
    """Count one policy decision; agents call this at every policy check.

    >>> record_verdict(verdict="allowed", tool="send_email")
    """
    m = metrics()
    m.verdicts.labels(verdict=verdict, tool=m.tool_label(tool)).inc()


def record_classifier_hit(*, classifier: str, tag: str = "") -> None:
    """Count one classifier detection (e.g. classifier="pii", tag="email")."""
    metrics().classifier_hits.labels(classifier=classifier, tag=tag).inc()


def mark_worker_exit() -> None:
    """In multiprocess mode, drop this worker's live gauges (the app's lifespan calls it at exit)."""
    if multiprocess_dir() is not None:
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(os.getpid())  # type: ignore[no-untyped-call]


def exposition(m: Metrics | None = None) -> bytes:
    """The text a Prometheus scrape gets: every worker's values in multiprocess mode."""
    path = multiprocess_dir()
    if path is None:
        return generate_latest((m or metrics()).registry)
    from prometheus_client import multiprocess

    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, path=path)  # type: ignore[no-untyped-call]
    return generate_latest(registry)
