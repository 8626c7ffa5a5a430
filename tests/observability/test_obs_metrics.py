"""Prometheus metrics over HTTP: request, latency, upstream and verdict counters move as they should."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from server.fake_upstream import FakeUpstream, Reply
from server.observability import metrics as metrics_module
from server.observability.instrument import MeteredSessionStore
from server.observability.metrics import (
    MAX_TOOL_LABELS,
    Metrics,
    record_classifier_hit,
    record_verdict,
    use_metrics,
)
from server.sessions import MemorySessionStore, Session
from tests.conftest import KEY, gateway_settings, start_gateway

CHAT = "/control/chat/openai/v1/chat/completions"
HEADERS = {"Authorization": f"Bearer {KEY}", "X-Features": json.dumps({"agent_arch": "single-llm"})}
BODY = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}
LABELS = {"family": "chat", "provider": "openai", "format": "chat/completions"}


@pytest.fixture(scope="module")
def url(fake_upstream_server: FakeUpstream, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    server = start_gateway(gateway_settings(fake_upstream_server, tmp_path_factory.mktemp("obs")))
    try:
        yield server.url
    finally:
        server.stop()


def scrape(url: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of GET /metrics, keyed by (name, sorted labels)."""
    text = httpx.get(f"{url}/metrics").text
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def value(samples: dict, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_requests_latency_and_upstream_metrics_move(url: str, fake_upstream: FakeUpstream) -> None:
    fake_upstream.script("m", Reply.text("a"), Reply.error(500, "boom"))
    before = scrape(url)
    assert httpx.post(f"{url}{CHAT}", json=BODY, headers=HEADERS).status_code == 200
    assert httpx.post(f"{url}{CHAT}", json=BODY, headers=HEADERS).status_code == 502
    assert httpx.post(f"{url}{CHAT}", json=BODY, headers={}).status_code == 401
    after = scrape(url)

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert delta("sequrity_control_requests_total", **LABELS, status="200") == 1
    assert delta("sequrity_control_requests_total", **LABELS, status="502") == 1
    assert delta("sequrity_control_requests_total", **LABELS, status="401") == 1
    assert delta("sequrity_control_request_duration_seconds_count", **LABELS) == 3
    upstream = {"provider": "openai", "format": "chat/completions"}
    assert delta("sequrity_control_upstream_duration_seconds_count", **upstream) == 2
    assert delta("sequrity_control_upstream_errors_total", **upstream, status="502") == 1
    total = delta("sequrity_control_request_duration_seconds_sum", **LABELS)
    in_upstream = delta("sequrity_control_upstream_duration_seconds_sum", **upstream)
    assert 0 < in_upstream < total  # the gateway's own time is the difference


def test_streams_are_timed_to_their_last_byte(url: str, fake_upstream: FakeUpstream) -> None:
    fake_upstream.script("m", Reply.text("slow stream", chunk_delay=0.05))
    before = scrape(url)
    with httpx.stream("POST", f"{url}{CHAT}", json={**BODY, "stream": True}, headers=HEADERS) as r:
        r.read()
    after = scrape(url)
    name = "sequrity_control_upstream_duration_seconds_sum"
    upstream = {"provider": "openai", "format": "chat/completions"}
    assert value(after, name, **upstream) - value(before, name, **upstream) >= 0.05


def test_request_id_is_made_or_kept(url: str) -> None:
    made = httpx.get(f"{url}/control/health").headers["x-request-id"]
    assert len(made) == 32
    kept = httpx.get(f"{url}/control/health", headers={"X-Request-ID": "lb-42.a"})
    assert kept.headers["x-request-id"] == "lb-42.a"
    odd = httpx.get(f"{url}/control/health", headers={"X-Request-ID": "x" * 200})
    assert odd.headers["x-request-id"] != "x" * 200


def test_verdicts_and_classifier_hits_are_counted_with_bounded_tool_labels() -> None:
    fresh = Metrics()
    previous = use_metrics(fresh)
    try:
        record_verdict(verdict="allowed", tool="send_email")
        record_verdict(verdict="hard_denied", tool="send_email")
        record_classifier_hit(classifier="pii", tag="email")
        for n in range(MAX_TOOL_LABELS + 5):
            record_verdict(verdict="allowed", tool=f"tool_{n}")
        name = "sequrity_control_policy_verdicts_total"
        assert fresh.sample(name, {"verdict": "hard_denied", "tool": "send_email"}) == 1
        assert fresh.sample(name, {"verdict": "allowed", "tool": "other"}) == 6
        assert fresh.sample(
            "sequrity_control_classifier_hits_total", {"classifier": "pii", "tag": "email"}
        ) == 1
        assert metrics_module.metrics() is fresh
    finally:
        use_metrics(previous)


async def test_active_sessions_follow_the_leases() -> None:
    fresh = Metrics()
    store = MeteredSessionStore(MemorySessionStore(), fresh)
    gauge = "sequrity_control_active_sessions"
    created = await store.create(Session.new(owner="k", arch="single-llm"))
    other = await store.create(Session.new(owner="k", arch="single-llm"))
    assert fresh.sample(gauge) == 2
    await store.release(created.id, lease=created.lease)
    await store.delete(other.id)
    assert fresh.sample(gauge) == 0
    again = await store.acquire(created.id, owner="k")
    assert again is not None and fresh.sample(gauge) == 1
    await store.aclose()
    assert fresh.sample(gauge) == 0


def test_public_surface_is_pinned() -> None:
    assert sorted(metrics_module.__all__) == sorted([
        "Metrics", "metrics", "use_metrics", "record_verdict", "record_classifier_hit",
        "exposition", "mark_worker_exit", "CONTENT_TYPE_LATEST", "MAX_TOOL_LABELS", "VERDICTS",
    ])
