"""Fixtures for the fake upstream's own tests: the shared fixture plus SDK clients pointed at it."""

from __future__ import annotations

import anthropic
import openai
import pytest

from server.fake_upstream import FakeUpstream


@pytest.fixture
def oai(fake_upstream: FakeUpstream) -> openai.OpenAI:
    return openai.OpenAI(base_url=fake_upstream.openai_base_url, api_key="sk-test", max_retries=0)


@pytest.fixture
def aoai(fake_upstream: FakeUpstream) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(
        base_url=fake_upstream.openai_base_url, api_key="sk-test", max_retries=0
    )


@pytest.fixture
def claude(fake_upstream: FakeUpstream) -> anthropic.Anthropic:
    return anthropic.Anthropic(
        base_url=fake_upstream.anthropic_base_url, api_key="sk-ant-test", max_retries=0
    )


@pytest.fixture
def aclaude(fake_upstream: FakeUpstream) -> anthropic.AsyncAnthropic:
    return anthropic.AsyncAnthropic(
        base_url=fake_upstream.anthropic_base_url, api_key="sk-ant-test", max_retries=0
    )
