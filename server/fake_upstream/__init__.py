"""A scripted fake of the OpenAI, OpenRouter, Azure OpenAI and Anthropic APIs for offline tests."""

from server.fake_upstream.app import ROUTES
from server.fake_upstream.script import (
    Quirks,
    RecordedRequest,
    Reply,
    Responder,
    Thinking,
    ToolCall,
    UpstreamError,
    Usage,
)
from server.fake_upstream.server import FakeUpstream

__all__ = [
    "FakeUpstream",
    "Reply",
    "ToolCall",
    "Usage",
    "Thinking",
    "UpstreamError",
    "Quirks",
    "RecordedRequest",
    "Responder",
    "ROUTES",
]
