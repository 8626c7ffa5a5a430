"""`python -m server.fake_upstream`: the fixed-reply process the latency benchmark starts."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator

import anthropic
import openai
import pytest


@pytest.fixture(scope="module")
def process_url() -> Iterator[str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "server.fake_upstream", "--port", "0", "--reply-text", "fixed!"],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    try:
        yield line.strip().rsplit(" ", 1)[-1]
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_process_answers_every_format(process_url: str) -> None:
    oai = openai.OpenAI(base_url=f"{process_url}/v1", api_key="k", max_retries=0)
    chat = oai.chat.completions.create(model="x", messages=[{"role": "user", "content": "hi"}])
    assert chat.choices[0].message.content == "fixed!"
    stream = oai.chat.completions.create(
        model="x", messages=[], stream=True, stream_options={"include_usage": True}
    )
    chunks = list(stream)
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "fixed!"
    assert chunks[-1].usage is not None
    assert oai.responses.create(model="x", input="hi").output_text == "fixed!"
    claude = anthropic.Anthropic(base_url=process_url, api_key="k", max_retries=0)
    with claude.messages.stream(model="x", max_tokens=5, messages=[]) as events:
        assert events.get_final_text() == "fixed!"
    router = openai.OpenAI(base_url=f"{process_url}/api/v1", api_key="k", max_retries=0)
    assert router.chat.completions.create(model="x", messages=[]).choices[0].message.content == "fixed!"
